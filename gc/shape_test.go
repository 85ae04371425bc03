package gc

import (
	"math"
	"runtime"
	"testing"

	"github.com/rtlab/rtlab/internal/rtmetrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testLive = 4 << 20

// liveGrowth is the live heap, as the runtime marks it, that f's result
// holds beyond what was live before.
func liveGrowth(f func() *Heap) (*Heap, int64) {
	runtime.GC()
	base := rtmetrics.Uint64(rtmetrics.HeapLive)
	h := f()
	runtime.GC()
	live := rtmetrics.Uint64(rtmetrics.HeapLive)
	runtime.KeepAlive(h)
	return h, int64(live) - int64(base)
}

// TestHeapLiveSteady checks the runtime sees the live heap the shape asked
// for, before and after churning eight times that much through it, at
// every survival and density: survivors replace old units rather than add
// to them, and no dead unit is kept alive by a pointer from a live one.
// 10% covers the table's page rounding and whatever else the test binary
// allocates or frees between the two GCs (a few KiB against 4 MiB).
func TestHeapLiveSteady(t *testing.T) {
	for _, surv := range []float64{0, 0.05, 0.5, 1} {
		for _, d := range Densities() {
			s := Shape{Live: testLive, Survival: surv, PointerDensity: d}
			t.Run(s.String(), func(t *testing.T) {
				h, built := liveGrowth(func() *Heap {
					h, err := NewHeap(s)
					require.NoError(t, err)
					return h
				})
				assert.InEpsilon(t, float64(s.Live), float64(built), 0.10, "live after build")
				_, churned := liveGrowth(func() *Heap { h.Churn(8 * s.Live); return h })
				// The heap is live both before and after: growth is ~0.
				runtime.GC()
				base := rtmetrics.Uint64(rtmetrics.HeapLive)
				h.Release()
				runtime.GC()
				freed := int64(base) - int64(rtmetrics.Uint64(rtmetrics.HeapLive))
				assert.InDelta(t, 0, float64(churned), 0.10*float64(s.Live), "live growth across churn")
				assert.InEpsilon(t, float64(s.Live), float64(freed), 0.10, "freed by Release after churn")
			})
		}
	}
}

// TestPointerDensity checks the reported density two ways: against the
// layout's nominal figure (pointers per 520 bytes: a 512-byte unit and its
// table slot), exactly up to float rounding, and against the live heap the
// runtime measures (Pointers / measured KiB), within 10% for the same
// reasons as TestHeapLiveSteady. The densities differ by 3x and 19x, so
// 10% cannot mistake one for another.
func TestPointerDensity(t *testing.T) {
	nominal := map[Density]float64{
		DensityNone: 1 * 1024.0 / 520,  // the table's pointer only
		DensityLow:  3 * 1024.0 / 520,  // + 2 structs x 1
		DensityHigh: 57 * 1024.0 / 520, // + 8 nodes x 7
	}
	for _, d := range Densities() {
		t.Run(d.String(), func(t *testing.T) {
			s := Shape{Live: testLive, Survival: 0.2, PointerDensity: d}
			h, live := liveGrowth(func() *Heap {
				h, err := NewHeap(s)
				require.NoError(t, err)
				return h
			})
			defer h.Release()
			assert.InDelta(t, nominal[d], h.PtrsPerKiB(), 1e-9)
			measured := float64(h.Pointers()) / (float64(live) / 1024)
			assert.InEpsilon(t, h.PtrsPerKiB(), measured, 0.10)
		})
	}
}

// scannable is the fraction of a unit and its table slot that the
// collector counts as scan work on path p: a marked small object whole on
// the vector path, up to its last pointer word on the scalar path; the
// table (one large object) whole on both.
func scannable(d Density, p ScanPath) float64 {
	objBytes := map[ScanPath]map[Density]float64{
		ScanPathVector: {DensityNone: 0, DensityLow: 2 * 256, DensityHigh: 8 * 64},
		ScanPathScalar: {DensityNone: 0, DensityLow: 2 * 8, DensityHigh: 8 * 7 * 8}, // next first; seven pointers then val
	}
	return (objBytes[p][d] + slotBytes) / (unitBytes + slotBytes)
}

// TestScannable checks the scannable heap (/gc/scan/heap) against the
// layout on this machine's scan path (the package doc, "Two scan paths"):
// pointer-free units add the table alone on both paths; low adds 1.0 of
// the heap on the vector path and 0.046 on the scalar one; high 1.0 and
// 0.88.
//
// On the scalar path the count is exact, so the bound is what the
// measurement can resolve: the table's page rounding (at most 8 KiB) and
// whatever the test binary allocates between the two GCs, under 0.5% of
// the 4 MiB heap where this was measured; 0.01 leaves twice that. On the
// vector path a span counts whole only if it is found with an eighth of its
// objects marked, and with several mark workers an idle one can take a
// span off the queue before the worker marking the table got that far, so
// part of the heap can count as on the scalar path, a share that depends on
// the cores. The layout is checked with one mark worker (GOMAXPROCS 1),
// where the count is exact on both paths.
func TestScannable(t *testing.T) {
	path := CurrentScanPath()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	tol := 0.01
	for _, d := range Densities() {
		t.Run(d.String(), func(t *testing.T) {
			runtime.GC()
			base := rtmetrics.Uint64(rtmetrics.ScanHeap)
			h, live := liveGrowth(func() *Heap {
				h, err := NewHeap(Shape{Live: testLive, PointerDensity: d})
				require.NoError(t, err)
				return h
			})
			defer h.Release()
			scan := float64(int64(rtmetrics.Uint64(rtmetrics.ScanHeap))-int64(base)) / float64(live)
			assert.InDelta(t, scannable(d, path), scan, tol, "scan path %s", path)
		})
	}
}

func TestShapeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Shape
		msg  string
	}{
		{"live", Shape{Live: 100}, "gc: Shape.Live 100"},
		{"survival", Shape{Live: testLive, Survival: 1.5}, "gc: Shape.Survival 1.5"},
		{"nan", Shape{Live: testLive, Survival: math.NaN()}, "gc: Shape.Survival NaN"},
		{"density", Shape{Live: testLive, PointerDensity: 7}, "gc: Shape.PointerDensity Density(7)"},
		{"alloc", Shape{Live: testLive, Alloc: -1}, "gc: Shape.Alloc -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewHeap(tc.s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestShapeDefaults(t *testing.T) {
	s, err := Shape{}.withDefaults("Shape")
	require.NoError(t, err)
	assert.Equal(t, Shape{Live: DefaultLive, Alloc: 8 * DefaultLive}, s)
	h, err := NewHeap(Shape{Live: 1 << 20, PointerDensity: DensityLow})
	require.NoError(t, err)
	defer h.Release()
	assert.Equal(t, Shape{Live: 1 << 20, PointerDensity: DensityLow, Alloc: 8 << 20}, h.Shape())
	assert.Equal(t, []Density{DensityNone, DensityLow, DensityHigh}, Densities())
}
