package alloc

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSize checks that every op of Size is one heap allocation of the
// block BlockOf predicts, across the header and large boundaries. Sizes
// under 16 are left out: pointer-free ones share tiny blocks. The counts
// are the process's (MemStats), so the GC is off while the test runs: each
// GC cycle allocates a few objects of the runtime's own, and 2000 large
// objects would run dozens of cycles (CI saw 1.0101 allocs/op with it on,
// at -cpu 16). 1% leaves room for anything else that allocates meanwhile,
// such as the runtime's record of a new thread started at a world restart:
// each case allocates at least 4 MiB, so 1% is 40 KiB.
func TestSize(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, k := range Kinds() {
		for _, n := range []int{64, 1024, 32769} {
			t.Run(fmt.Sprintf("kind=%v/size=%d", k, n), func(t *testing.T) {
				ops := max(2000, (4<<20)/n)
				r, err := Size(t.Context(), SizeConfig{Size: n, Kind: k, Ops: ops})
				require.NoError(t, err)
				assert.Zero(t, r.GCs, "the GC is off")
				assert.Equal(t, n, r.Size)
				assert.Equal(t, k, r.Kind)
				assert.Equal(t, ops, r.Ops)
				assert.Equal(t, WasteOf(n, k), r.Waste)
				assert.InDelta(t, 1, r.AllocsPerOp(), 0.01)
				assert.InEpsilon(t, float64(BlockOf(n, k)), r.BytesPerOp(), 0.01)
				assert.Positive(t, r.NsPerOp())
			})
		}
	}
}

func TestParallel(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // see TestSize
	for _, procs := range []int{1, 3} {
		t.Run(fmt.Sprintf("procs=%d", procs), func(t *testing.T) {
			r, err := Parallel(t.Context(), ParallelConfig{Size: 1024, Procs: procs, Ops: 10_001})
			require.NoError(t, err)
			assert.Equal(t, ParallelResult{Size: 1024, Procs: procs}, ParallelResult{Size: r.Size, Procs: r.Procs})
			assert.Equal(t, 10_001, r.Ops)
			assert.InDelta(t, 1, r.AllocsPerOp(), 0.01, "every op allocates, the split loses none")
			assert.Positive(t, r.NsPerOp())
		})
	}
	r, err := Parallel(t.Context(), ParallelConfig{Ops: 1000})
	require.NoError(t, err)
	assert.Equal(t, runtime.GOMAXPROCS(0), r.Procs, "0 means one per P")
	assert.Equal(t, 64, r.Size)
}

func TestOpsDefaults(t *testing.T) {
	assert.Equal(t, 1<<20, defaultOps(64))
	assert.Equal(t, 1<<18, defaultOps(1024))
	assert.Equal(t, 1<<12, defaultOps(65536))
	assert.Equal(t, 1<<10, defaultOps(1<<30))
	r, err := Size(t.Context(), SizeConfig{})
	require.NoError(t, err)
	assert.Equal(t, 64, r.Size)
	assert.Equal(t, KindNoscan, r.Kind)
	assert.Equal(t, 1<<20, r.Ops)
}

func TestOpsBadConfig(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		run  func() error
		want string
	}{
		{func() error { _, err := Size(ctx, SizeConfig{Size: -1}); return err }, "alloc: SizeConfig.Size -1 must be > 0"},
		{func() error { _, err := Size(ctx, SizeConfig{Ops: -2}); return err }, "alloc: SizeConfig.Ops -2 must be > 0"},
		{func() error { _, err := Size(ctx, SizeConfig{Kind: 9}); return err }, "alloc: SizeConfig.Kind Kind(9) must be KindNoscan or KindScan"},
		{func() error { _, err := Parallel(ctx, ParallelConfig{Procs: -1}); return err }, "alloc: ParallelConfig.Procs -1 must be > 0"},
		{func() error { _, err := Parallel(ctx, ParallelConfig{Size: -8}); return err }, "alloc: ParallelConfig.Size -8 must be > 0"},
		{func() error { _, err := Reuse(ctx, ReuseConfig{Impl: "slab"}); return err }, `alloc: ReuseConfig.Impl "slab" is not one of [new pool bump]`},
		{func() error { _, err := Reuse(ctx, ReuseConfig{Ops: -1}); return err }, "alloc: ReuseConfig.Ops -1 must be > 0"},
	} {
		assert.EqualError(t, tc.run(), tc.want)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err := Size(done, SizeConfig{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = Parallel(done, ParallelConfig{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = Reuse(done, ReuseConfig{})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestOpsStrings(t *testing.T) {
	st := OpStats{Ops: 1000, Elapsed: 40 * time.Microsecond, Allocs: 1000, Bytes: 64000, GCs: 2}
	assert.Equal(t, "1000 ops in 40µs: 40.0 ns/op, 64.0 B/op, 1.00 allocs/op, 2000.0 gcs/Mobj", st.String())
	assert.Equal(t, "size=64 kind=noscan (block 64, 0.0% waste): "+st.String(),
		SizeResult{Size: 64, Kind: KindNoscan, Waste: WasteOf(64, KindNoscan), OpStats: st}.String())
	assert.Equal(t, "size=64 procs=2: "+st.String(), ParallelResult{Size: 64, Procs: 2, OpStats: st}.String())
	assert.Equal(t, "impl=pool size=64: "+st.String(), ReuseResult{Impl: ImplPool, Size: 64, OpStats: st}.String())
	assert.Zero(t, OpStats{}.NsPerOp())
}
