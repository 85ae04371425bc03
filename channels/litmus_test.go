package channels

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// litmusTrials is enough trials for the plain SB outcome to show on x86
// and for a broken synchronized variant to be caught, yet quick under -race.
func litmusTrials() int {
	switch {
	case raceEnabled:
		return 2_000
	case testing.Short():
		return 20_000
	}
	return 50_000
}

// TestLitmusSynchronized runs every synchronized variant and checks the
// forbidden outcome never appears: the Go memory model promises it for
// sync/atomic, channels and mutexes on every machine.
func TestLitmusSynchronized(t *testing.T) {
	for _, l := range Litmuses() {
		for _, s := range []Sync{Atomic, Chan, Mutex} {
			t.Run(string(l)+"/"+string(s), func(t *testing.T) {
				r, err := RunLitmus(l, s, litmusTrials())
				require.NoError(t, err)
				checkCounts(t, r)
				assert.Zero(t, r.Forbidden, "forbidden outcome seen: %v", r.Counts)
				if s == Chan || s == Mutex {
					// A lock serializes the two threads' pairs, so in SB
					// exactly one thread sees the other's store, and in
					// MP the flag is never seen without its data.
					for _, o := range r.Outcomes() {
						switch l {
						case SB:
							assert.Equal(t, 1, o.R1+o.R2, "outcome %v needs the critical sections to overlap", o)
						case MP:
							assert.Equal(t, o.R1, o.R2, "outcome %v", o)
						}
					}
				}
				t.Logf("%s/%s: %v in %v, parallel=%v", l, s, r.Counts, r.Elapsed, r.Parallel)
			})
		}
	}
}

func checkCounts(t *testing.T, r LitmusResult) {
	t.Helper()
	sum, forbidden := 0, 0
	for o, c := range r.Counts {
		sum += c
		if r.Litmus.Forbidden(o) {
			forbidden += c
		}
		assert.Contains(t, []int{0, 1}, o.R1, "outcome %v", o)
		assert.Contains(t, []int{0, 1}, o.R2, "outcome %v", o)
		if r.Litmus == MP && o.R1 == 0 {
			assert.Zero(t, o.R2, "data read without the flag: %v", o)
		}
	}
	assert.Equal(t, r.Trials, sum, "counts must sum to the trials")
	assert.Equal(t, forbidden, r.Forbidden)
}

func TestLitmusBadInput(t *testing.T) {
	_, err := RunLitmus(SB, Atomic, 0)
	assert.ErrorContains(t, err, "channels: trials 0 must be > 0")
	_, err = RunLitmus("iriw", Atomic, 1)
	assert.ErrorContains(t, err, `channels: litmus "iriw"`)
	_, err = RunLitmus(SB, "fence", 1)
	assert.ErrorContains(t, err, `channels: sync "fence"`)
}

// TestLitmusTrialCounts covers batch boundaries: a trial count that is not
// a multiple of the batch, and one smaller than it.
func TestLitmusTrialCounts(t *testing.T) {
	for _, n := range []int{1, 7, batchSize - 1, batchSize + 1, 2*batchSize + 5} {
		r, err := RunLitmus(MP, Mutex, n)
		require.NoError(t, err)
		checkCounts(t, r)
	}
}
