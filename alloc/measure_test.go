package alloc

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countFor keeps about 4 MiB of objects alive. What else the process
// allocates and keeps between Measure's two collections (the runtime's own
// objects, such as the descriptors of goroutines it starts lazily after a
// GOMAXPROCS change, and the test framework's) was seen at up to 7 KiB:
// 0.17% of 4 MiB, a fifth of classTolerance.
func countFor(n int) int {
	return max(64, (4<<20)/max(n, 16))
}

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
// compares it with the class table derived from runtime/metrics.
func TestCrossCheck(t *testing.T) {
	tol := classTolerance(t)
	sizes := []int{16, 17, 24, 100, 500, 512, 513, 1000, 1024, 3000, 6784, 8192, 9000, 20000, 32760, 32761, 32768, 32769, 40000, 65536, 100000}
	for _, k := range []Kind{Noscan, Scan} {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("kind=%v/size=%d", k, n), func(t *testing.T) {
				f, err := Measure(n, k, countFor(n))
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

func TestTiny(t *testing.T) {
	const count = 100_000
	for _, tc := range []struct {
		n        int
		k        Kind
		perObj   float64 // heap bytes per object
		tinyFrac float64 // share packed into an existing block
	}{
		{1, Noscan, 1, 15.0 / 16},
		{8, Noscan, 8, 1.0 / 2},
		{12, Noscan, 16, 0}, // 12 + 12 > 16: one per block, the rest for smaller ones
		{1, Scan, 8, 0},     // a pointerful object is at least a pointer
		{8, Scan, 8, 0},
		{12, Scan, 16, 0},
	} {
		t.Run(fmt.Sprintf("kind=%v/size=%d", tc.k, tc.n), func(t *testing.T) {
			if raceEnabled && tc.k == Noscan {
				t.Skip("the race detector turns tiny packing off")
			}
			f, err := Measure(tc.n, tc.k, count)
			require.NoError(t, err)
			assert.InDelta(t, tc.perObj, f.PerObject(), 0.05*tc.perObj)
			assert.InDelta(t, tc.tinyFrac, f.TinyShare(), 0.01)
		})
	}
}

func TestMeasureBadInput(t *testing.T) {
	for _, tc := range []struct {
		n, count int
		k        Kind
		want     string
	}{
		{-1, 10, Noscan, "alloc: size -1 must be >= 0"},
		{8, 0, Noscan, "alloc: count 0 must be > 0"},
		{8, 10, Kind(3), "alloc: kind 3 is neither Noscan nor Scan"},
	} {
		_, err := Measure(tc.n, tc.k, tc.count)
		assert.EqualError(t, err, tc.want)
	}
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
		k := Noscan
		if c < 16 {
			k = Scan
		}
		f, err := Measure(c, k, countFor(c))
		require.NoError(t, err)
		t.Logf("%5d %7d %10.1f %8d", i+1, c, f.PerObject(), f.Objects)
		assert.InEpsilon(t, float64(c), f.PerObject(), tol, "class %d", c)
	}
}
