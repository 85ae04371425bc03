package alloc

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// tinyAllocsMetric counts allocations the tiny allocator packed into a block
// that was already there; each block itself is counted as an ordinary
// 16-byte allocation.
const tinyAllocsMetric = "/gc/heap/tiny/allocs:objects"

// Footprint is what Measure saw: how much the live heap grew for a number of
// objects of one size and kind, kept alive together.
type Footprint struct {
	Size    int  // bytes asked for per object
	Kind    Kind // pointer-free or pointerful
	Objects int  // objects allocated and kept alive
	// Block is the block BlockOf predicts for one object.
	Block int
	// HeapBytes is the growth of the live heap (/gc/heap/live:bytes, the
	// bytes the last GC marked) between a GC before the allocations and a
	// GC after them.
	HeapBytes uint64
	// TinyAllocs is how many of the allocations the tiny allocator packed
	// into an existing 16-byte block (/gc/heap/tiny/allocs:objects).
	TinyAllocs uint64
	// LargeAllocs is how many allocations the runtime served as large
	// objects, each with a span of its own: the last, open-ended bucket of
	// /gc/heap/allocs-by-size:bytes.
	LargeAllocs uint64
}

// PerObject is HeapBytes / Objects: the heap an object really costs. It
// equals Block for ordinary objects, and less for tiny ones sharing blocks.
func (f Footprint) PerObject() float64 {
	if f.Objects == 0 {
		return 0
	}
	return float64(f.HeapBytes) / float64(f.Objects)
}

// TinyShare is the fraction of the allocations, 0 to 1, that the tiny
// allocator packed into a block already there.
func (f Footprint) TinyShare() float64 {
	if f.Objects == 0 {
		return 0
	}
	return float64(f.TinyAllocs) / float64(f.Objects)
}

// Measure allocates count objects of n bytes of kind k with New, keeps them
// all alive, and measures by how much the live heap grew: the runtime's own
// answer, independent of the class table, to "how big is an object of n
// bytes". It forces three garbage collections (runtime.GC), so it takes a few
// milliseconds; other goroutines allocating meanwhile add their bytes, so
// use a count whose objects total a megabyte or more.
//
// The race detector turns tiny-block packing off, so under -race tiny
// objects take a block each.
func Measure(n int, k Kind, count int) (Footprint, error) {
	if n < 0 {
		return Footprint{}, fmt.Errorf("alloc: size %d must be >= 0", n)
	}
	if k != Noscan && k != Scan {
		return Footprint{}, fmt.Errorf("alloc: kind %d is neither Noscan nor Scan", int(k))
	}
	if count <= 0 {
		return Footprint{}, fmt.Errorf("alloc: count %d must be > 0", count)
	}
	hold := make([]unsafe.Pointer, count)
	// The first read of runtime/metrics in a process builds the runtime's
	// table of metrics, which stays live: build it before the baseline.
	largeAllocs()
	// The GC flushes every P's cache, so the counters below are exact
	// at both ends rather than lagging by a cached span. Two cycles at the
	// start empty sync.Pool victim caches, which would otherwise die during
	// the measurement and read as a shrinking heap.
	runtime.GC()
	runtime.GC()
	live0 := rtmetrics.Uint64(rtmetrics.HeapLive)
	tiny0 := rtmetrics.Uint64(tinyAllocsMetric)
	large0 := largeAllocs()
	for i := range hold {
		hold[i] = New(n, k)
	}
	runtime.GC()
	live1 := rtmetrics.Uint64(rtmetrics.HeapLive)
	tiny1 := rtmetrics.Uint64(tinyAllocsMetric)
	large1 := largeAllocs()
	runtime.KeepAlive(hold)
	f := Footprint{Size: n, Kind: k, Objects: count, Block: BlockOf(n, k),
		TinyAllocs: tiny1 - tiny0, LargeAllocs: large1 - large0}
	if live1 > live0 {
		f.HeapBytes = live1 - live0
	}
	return f, nil
}

// largeAllocs is the count of the last bucket of classesMetric, where the
// runtime puts every large object whatever its size.
func largeAllocs() uint64 {
	h := rtmetrics.ReadHistogram(classesMetric)
	return h.Counts[len(h.Counts)-1]
}
