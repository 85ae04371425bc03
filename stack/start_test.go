package stack

import (
	"math/bits"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpawn(t *testing.T) {
	r, err := Spawn(3000)
	require.NoError(t, err)
	assert.Equal(t, 3000, r.N)
	assert.Positive(t, r.PerSpawn())
	assert.Equal(t, 1, bits.OnesCount(uint(r.StartBytes)), "start size %d is a power of two", r.StartBytes)
	assert.GreaterOrEqual(t, r.StartBytes, 2048)
	// The first copy comes once the start stack, less its guard, is full.
	// Under the race detector the frames above the probe are large enough to
	// fill the start stack themselves, so the probe sees the second copy.
	bound := r.StartBytes
	if raceEnabled {
		bound *= 2
	}
	assert.Less(t, r.FirstGrowthBytes, bound)
	assert.Greater(t, r.FirstGrowthBytes, r.StartBytes/4)

	_, err = Spawn(0)
	assert.ErrorContains(t, err, "stack: n 0 must be > 0")
}

func TestStartSize(t *testing.T) {
	on, err := StartSize(t.Context(), true)
	require.NoError(t, err)
	off, err := StartSize(t.Context(), false)
	require.NoError(t, err)
	assert.Equal(t, "adaptivestackstart=1", on.GODEBUG[len(on.GODEBUG)-len("adaptivestackstart=1"):])
	assert.Equal(t, on.UsedBytes, off.UsedBytes, "same workload")

	// Fixed start: smaller than the workload needs, so every goroutine is
	// copied on its way down.
	assert.Less(t, off.StartBytes, off.UsedBytes)
	assert.GreaterOrEqual(t, off.Growths, 1.0)
	// Adaptive start: the GCs saw the parked stacks and sized new ones to fit.
	assert.Greater(t, on.StartBytes, on.UsedBytes)
	assert.Equal(t, 1, bits.OnesCount(uint(on.StartBytes)))
	assert.Less(t, on.Growths, 0.5)
}

func TestShrink(t *testing.T) {
	on, err := Shrink(t.Context(), false)
	require.NoError(t, err)
	off, err := Shrink(t.Context(), true)
	require.NoError(t, err)
	for _, r := range []ShrinkReport{on, off} {
		assert.Greater(t, r.StacksBefore, uint64(r.Goroutines*r.PeakBytes), "%s: the grown stacks are held", r.GODEBUG)
		assert.GreaterOrEqual(t, r.Growths, 1.0)
	}
	// Shrinking on: the GCs halved the parked stacks, the memory went back,
	// and the second descent had to copy again.
	assert.Less(t, on.StacksAfter, on.StacksBefore/2)
	assert.GreaterOrEqual(t, on.Regrowths, 1.0)
	// Shrinking off: stacks kept their peak size, the second descent fits.
	assert.Greater(t, off.StacksAfter, off.StacksBefore/2)
	assert.Zero(t, off.Regrowths)
}
