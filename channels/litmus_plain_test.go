//go:build !race

package channels

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const raceEnabled = false

// TestLitmusPlain reports what the racy plain variant does on this machine;
// it asserts only that every trial is counted, since the outcome is the
// hardware's to choose (on x86 SB shows r1=r2=0, MP does not misbehave).
func TestLitmusPlain(t *testing.T) {
	for _, l := range LitmusTests() {
		r, err := Litmus(context.Background(), LitmusConfig{Test: l, Sync: SyncPlain, Trials: litmusTrials()})
		require.NoError(t, err)
		checkCounts(t, r)
		t.Logf("%s/plain: %v, forbidden %d (%.0f per million), parallel=%v pinned=%v", l, r.Counts, r.Forbidden, r.PerMillion(), r.Parallel, r.Pinned)
	}
}

// TestLitmusPlainOneP runs the racy SB with a single P: the threads then
// only take turns on one OS thread at a time, and handing the P over
// orders memory, so even plain fields never show r1=r2=0. Reordering needs
// two CPUs running at once.
func TestLitmusPlainOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	r, err := Litmus(context.Background(), LitmusConfig{Test: LitmusSB, Sync: SyncPlain, Trials: 2_000})
	require.NoError(t, err)
	checkCounts(t, r)
	assert.False(t, r.Parallel)
	assert.Zero(t, r.Forbidden, "outcomes %v", r.Counts)
}
