package alloc

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// classTolerance is the relative error within which a measured heap growth
// per object names one size class and no other: half the smallest relative
// step between adjacent classes of the running runtime (6784 to 6912 bytes
// in Go 1.26, so 0.94%).
func classTolerance(t *testing.T) float64 {
	c := Classes()
	step := math.Inf(1)
	for i := 1; i < len(c); i++ {
		step = min(step, float64(c[i]-c[i-1])/float64(c[i-1]))
	}
	require.False(t, math.IsInf(step, 1), "fewer than two size classes")
	return step / 2
}

// TestCrossCheck measures the heap growth of objects of a spread of sizes,
// across the header boundary (512) and the small/large one (32768), and
// compares it with the class table derived from runtime/metrics. The
// default count keeps about 4 MiB alive, enough to name one class
// (measureBytes).
func TestCrossCheck(t *testing.T) {
	tol := classTolerance(t)
	sizes := []int{16, 17, 24, 100, 500, 512, 513, 1000, 1024, 3000, 6784, 8192, 9000, 20000, 32760, 32761, 32768, 32769, 40000, 65536, 100000}
	for _, k := range Kinds() {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("kind=%v/size=%d", k, n), func(t *testing.T) {
				f, err := Measure(t.Context(), MeasureConfig{Size: n, Kind: k})
				require.NoError(t, err)
				assert.Equal(t, BlockOf(n, k), f.Block)
				assert.InEpsilon(t, float64(f.Block), f.PerObject(), tol,
					"heap grew %d bytes for %d objects", f.HeapBytes, f.Objects)
				if IsLarge(n) {
					assert.Equal(t, uint64(f.Objects), f.LargeAllocs, "every object large")
				} else {
					assert.Less(t, f.LargeAllocs, uint64(f.Objects)/10, "objects small")
				}
			})
		}
	}
}

// TestTiny checks the tiny allocator's packing. Each case keeps about
// measureBytes of objects alive, so what else the process keeps between
// Measure's collections (up to 7 KiB, see measureBytes) stays under 0.2% of
// the growth: with 100,000 one-byte objects (98 KiB) it once read as 5.6%
// more heap per object (-cpu 16, GODEBUG=cpu.avx512bw=off, in CI).
func TestTiny(t *testing.T) {
	for _, tc := range []struct {
		n        int
		k        Kind
		perObj   float64 // heap bytes per object
		tinyFrac float64 // share packed into an existing block
	}{
		{1, KindNoscan, 1, 15.0 / 16},
		{8, KindNoscan, 8, 1.0 / 2},
		{12, KindNoscan, 16, 0}, // 12 + 12 > 16: one per block, the rest for smaller ones
		{1, KindScan, 8, 0},     // a pointerful object is at least a pointer
		{8, KindScan, 8, 0},
		{12, KindScan, 16, 0},
	} {
		t.Run(fmt.Sprintf("kind=%v/size=%d", tc.k, tc.n), func(t *testing.T) {
			if raceEnabled && tc.k == KindNoscan {
				t.Skip("the race detector turns tiny packing off")
			}
			count := measureBytes / int(tc.perObj)
			f, err := Measure(t.Context(), MeasureConfig{Size: tc.n, Kind: tc.k, Count: count})
			require.NoError(t, err)
			assert.InDelta(t, tc.perObj, f.PerObject(), 0.05*tc.perObj)
			assert.InDelta(t, tc.tinyFrac, f.TinyShare(), 0.01)
		})
	}
}

func TestMeasureBadInput(t *testing.T) {
	for _, tc := range []struct {
		cfg  MeasureConfig
		want string
	}{
		{MeasureConfig{Size: -1}, "alloc: MeasureConfig.Size -1 must be > 0"},
		{MeasureConfig{Count: -1}, "alloc: MeasureConfig.Count -1 must be > 0"},
		{MeasureConfig{Kind: Kind(3)}, "alloc: MeasureConfig.Kind Kind(3) must be KindNoscan or KindScan"},
	} {
		_, err := Measure(t.Context(), tc.cfg)
		assert.EqualError(t, err, tc.want)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Measure(ctx, MeasureConfig{})
	assert.ErrorIs(t, err, context.Canceled)
}

// TestMeasureDefaults checks the zero config: 64-byte pointer-free
// objects, about 4 MiB of them, each taking its 64-byte class.
func TestMeasureDefaults(t *testing.T) {
	r, err := Measure(t.Context(), MeasureConfig{})
	require.NoError(t, err)
	assert.Equal(t, 64, r.Size)
	assert.Equal(t, KindNoscan, r.Kind)
	assert.Equal(t, (4<<20)/64, r.Objects)
	assert.InEpsilon(t, 64, r.PerObject(), classTolerance(t))
	count := func(size int) int {
		c, err := MeasureConfig{Size: size}.withDefaults()
		require.NoError(t, err)
		return c.Count
	}
	assert.Equal(t, (4<<20)/16, count(1), "sizes under 16 count as 16 B")
	assert.Equal(t, 64, count(1<<20), "at least 64 objects")
}

func TestMeasureResultString(t *testing.T) {
	r := MeasureResult{Size: 8, Kind: KindNoscan, Objects: 1000, Block: 8, HeapBytes: 8000, TinyAllocs: 500}
	assert.Equal(t, "1000 objects of 8 B (noscan): 8.0 heap-B/obj (block 8), 50.0% tiny, 0 large", r.String())
	assert.Zero(t, MeasureResult{}.PerObject())
	assert.Zero(t, MeasureResult{}.TinyShare())
}

// TestClassTable prints the class table of the running runtime with the
// heap growth measured for one object of each class, and requires them to
// agree: go test -run TestClassTable -v ./alloc/
func TestClassTable(t *testing.T) {
	classes := Classes()
	tol := classTolerance(t)
	t.Logf("%d size classes up to %d bytes; requests over %d bytes are large, in %d-byte pages",
		len(classes), MaxSmall(), MaxSmall()-mallocHeaderSize, PageSize)
	t.Logf("%5s %7s %10s %8s", "class", "bytes", "heap-B/obj", "objects")
	for i, c := range classes {
		// An 8-byte pointer-free object would be packed by the tiny
		// allocator; a pointer-sized one gets the class itself.
		k := KindNoscan
		if c < 16 {
			k = KindScan
		}
		f, err := Measure(t.Context(), MeasureConfig{Size: c, Kind: k})
		require.NoError(t, err)
		t.Logf("%5d %7d %10.1f %8d", i+1, c, f.PerObject(), f.Objects)
		assert.InEpsilon(t, float64(c), f.PerObject(), tol, "class %d", c)
	}
}
