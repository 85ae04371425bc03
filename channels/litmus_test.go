package channels

import (
	"context"
	"testing"

	"time"

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

// parkTrials caps the trials of the variants that park (chan, mutex).
// Their two threads take turns rather than run at once, so a trial costs
// an OS wake-up: beside 3 CPU burners on 2 cores, 50,000 trials of sb/chan
// took 183 s. Fewer still prove the claim, because the test asserts that
// the forbidden outcome never shows (and, for a lock, that SB never ends
// r1=r2=1): a lock that failed to exclude would run like the plain variant,
// whose SB ended r1=r2=0 in 0.9-2.9% of trials and r1=r2=1 in 0.16-0.46%
// on a 2-core x86 (6 runs of 50,000, idle and beside 3 burners;
// TestLitmusPlain logs the counts): 18 and 3 or more in 2,000 trials.
const parkTrials = 2_000

// TestLitmusSynchronized runs every synchronized variant and checks the
// forbidden outcome never appears: the Go memory model promises it for
// sync/atomic, channels and mutexes on every machine.
func TestLitmusSynchronized(t *testing.T) {
	for _, l := range LitmusTests() {
		for _, s := range []Sync{SyncAtomic, SyncChan, SyncMutex} {
			t.Run(string(l)+"/"+string(s), func(t *testing.T) {
				v, err := lookup(l, s)
				require.NoError(t, err)
				trials := litmusTrials()
				if v.parks {
					trials = min(trials, parkTrials)
				}
				r, err := Litmus(context.Background(), LitmusConfig{Test: l, Sync: s, Trials: trials})
				require.NoError(t, err)
				checkCounts(t, r)
				assert.Zero(t, r.Forbidden, "forbidden outcome seen: %v", r.Counts)
				if s == SyncChan || s == SyncMutex {
					// A lock serializes the two threads' pairs, so in SB
					// exactly one thread sees the other's store, and in
					// MP the flag is never seen without its data.
					for _, o := range r.Outcomes() {
						switch l {
						case LitmusSB:
							assert.Equal(t, 1, o.R1+o.R2, "outcome %v needs the critical sections to overlap", o)
						case LitmusMP:
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
		if r.Test.Forbidden(o) {
			forbidden += c
		}
		assert.Contains(t, []int{0, 1}, o.R1, "outcome %v", o)
		assert.Contains(t, []int{0, 1}, o.R2, "outcome %v", o)
		if r.Test == LitmusMP && o.R1 == 0 {
			assert.Zero(t, o.R2, "data read without the flag: %v", o)
		}
	}
	assert.Equal(t, r.Trials, sum, "counts must sum to the trials")
	assert.Equal(t, forbidden, r.Forbidden)
}

func TestLitmusBadInput(t *testing.T) {
	ctx := context.Background()
	_, err := Litmus(ctx, LitmusConfig{Trials: -1})
	assert.EqualError(t, err, "channels: LitmusConfig.Trials -1 must be > 0")
	_, err = Litmus(ctx, LitmusConfig{Test: "iriw"})
	assert.ErrorContains(t, err, `channels: LitmusConfig.Test "iriw"`)
	_, err = Litmus(ctx, LitmusConfig{Sync: "fence"})
	assert.ErrorContains(t, err, `channels: LitmusConfig.Sync "fence"`)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = Litmus(cancelled, LitmusConfig{})
	assert.ErrorIs(t, err, context.Canceled)
}

// TestLitmusDefaults runs the zero config: SB with atomics, the default
// number of trials, and checks its one-line summary.
func TestLitmusDefaults(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("runs the default 100000 trials")
	}
	r, err := Litmus(context.Background(), LitmusConfig{})
	require.NoError(t, err)
	assert.Equal(t, LitmusSB, r.Test)
	assert.Equal(t, SyncAtomic, r.Sync)
	assert.Equal(t, defaultLitmusTrials, r.Trials)
	checkCounts(t, r)
}

func TestLitmusString(t *testing.T) {
	r := LitmusResult{Test: LitmusMP, Sync: SyncChan, Trials: 2_000_000, Forbidden: 4, Elapsed: 2 * time.Second, Parallel: true}
	assert.Equal(t, "litmus mp/chan: 4 forbidden in 2000000 trials (2 per million), 1000000 trials/s, parallel", r.String())
	r.Pinned = true
	assert.Contains(t, r.String(), ", parallel, pinned")
}

func TestLitmusEnums(t *testing.T) {
	assert.Equal(t, []LitmusTest{LitmusSB, LitmusMP}, LitmusTests())
	for _, l := range LitmusTests() {
		assert.Equal(t, string(l), l.String())
	}
	for _, s := range Syncs() {
		assert.Equal(t, string(s), s.String())
	}
	l := LitmusTests()
	l[0] = "changed"
	assert.Equal(t, LitmusSB, LitmusTests()[0], "a fresh slice each call")
}

// TestLitmusTrialCounts covers batch boundaries: a trial count that is not
// a multiple of the batch, and one smaller than it.
func TestLitmusTrialCounts(t *testing.T) {
	for _, n := range []int{1, 7, batchSize - 1, batchSize + 1, 2*batchSize + 5} {
		r, err := Litmus(context.Background(), LitmusConfig{Test: LitmusMP, Sync: SyncMutex, Trials: n})
		require.NoError(t, err)
		checkCounts(t, r)
	}
}
