package stack

import (
	"math/bits"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpawn(t *testing.T) {
	r, err := Spawn(t.Context(), SpawnConfig{N: 3000})
	require.NoError(t, err)
	assert.Equal(t, 3000, r.N)
	assert.Positive(t, r.PerSpawn())
	assert.Equal(t, 1, bits.OnesCount(uint(r.StartBytes)), "start size %d is a power of two", r.StartBytes)
	assert.GreaterOrEqual(t, r.StartBytes, 2048)
	// The first copy comes once the start stack, less its guard, is full.
	// Under the race detector the frames above the probe are large enough to
	// fill the start stack themselves, so the probe sees the second copy.
	// The stack may be smaller than StartBytes (a goroutine made from
	// scratch gets 2 KiB, a GC may halve a new stack), never under 2 KiB, so
	// the copy comes past a quarter of that, whatever the guard.
	bound := r.StartBytes
	if raceEnabled {
		bound *= 2
	}
	assert.Less(t, r.FirstGrowthBytes, bound)
	assert.Greater(t, r.FirstGrowthBytes, 2048/4)

	_, err = Spawn(t.Context(), SpawnConfig{N: -1})
	assert.ErrorContains(t, err, "stack: SpawnConfig.N -1 must be > 0")
	r, err = Spawn(t.Context(), SpawnConfig{})
	require.NoError(t, err)
	assert.Equal(t, defaultSpawns, r.N, "N 0 means the default")
}

func TestStartSize(t *testing.T) {
	on, err := StartSize(t.Context(), StartSizeConfig{})
	require.NoError(t, err)
	off, err := StartSize(t.Context(), StartSizeConfig{AdaptiveOff: true})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(on.GODEBUG, "adaptivestackstart=1"), on.GODEBUG)
	assert.True(t, strings.HasSuffix(off.GODEBUG, "adaptivestackstart=0"), off.GODEBUG)
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
	on, err := Shrink(t.Context(), ShrinkConfig{})
	require.NoError(t, err)
	off, err := Shrink(t.Context(), ShrinkConfig{ShrinkOff: true})
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(on.GODEBUG, "gcshrinkstackoff=0"), on.GODEBUG)
	assert.True(t, strings.HasSuffix(off.GODEBUG, "gcshrinkstackoff=1"), off.GODEBUG)
	for _, r := range []ShrinkResult{on, off} {
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

func TestStartResultStrings(t *testing.T) {
	s := SpawnResult{N: 4, Elapsed: 4 * time.Microsecond, StartBytes: 2048, FirstGrowthBytes: 1100}
	assert.Equal(t, "4 goroutines in 4µs (1µs each), start stack 2048 bytes, first copied at 1100 bytes", s.String())
	st := StartSizeResult{GODEBUG: "adaptivestackstart=1", Depth: 160, UsedBytes: 7953, StartBytes: 16384, Growths: 0.0015, Spawned: 2000, SpawnNs: 3300}
	assert.Equal(t, "GODEBUG=adaptivestackstart=1: start stack 16384 bytes for 7953 used, 0.0015 growths and 3300 ns per goroutine", st.String())
	sh := ShrinkResult{GODEBUG: "gcshrinkstackoff=0", Goroutines: 32, StacksBefore: 17268736, StacksAfter: 655360, GCs: 10, Regrowths: 6}
	assert.Equal(t, "GODEBUG=gcshrinkstackoff=0: stacks 17268736 bytes before 10 GCs, 655360 after, 6 regrowths per goroutine", sh.String())
}
