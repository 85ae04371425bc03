package alloc

import (
	"context"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// tinyAllocsMetric counts allocations the tiny allocator packed into a block
// that was already there; each block itself is counted as an ordinary
// 16-byte allocation.
const tinyAllocsMetric = "/gc/heap/tiny/allocs:objects"

// MeasureConfig is one run of Measure. The zero value measures 64-byte
// pointer-free objects, about 4 MiB of them.
type MeasureConfig struct {
	// Size is the bytes asked for per object; 0 means 64.
	Size int
	// Kind is pointer-free or pointerful; the zero value is KindNoscan.
	Kind Kind
	// Count is the number of objects allocated and kept alive together; 0
	// means about 4 MiB of them (4 MiB / max(Size, 16), at least 64).
	Count int
}

// defaultSize is the object size of every experiment whose config leaves
// it 0: a small object, served from a size class through the P's cache.
const defaultSize = 64

// measureBytes is the live heap Measure keeps by default. What else the
// process allocates and keeps between Measure's two collections (the
// runtime's own objects, such as the descriptors of goroutines it starts
// lazily after a GOMAXPROCS change, and a test framework's) was seen at up
// to 7 KiB: 0.17% of 4 MiB, a fifth of the error within which a measured
// growth names one size class and no other (half the smallest relative
// step between adjacent classes: 0.94% in Go 1.26).
const measureBytes = 4 << 20

func (c MeasureConfig) withDefaults() (MeasureConfig, error) {
	if c.Size == 0 {
		c.Size = defaultSize
	}
	if c.Size < 0 {
		return c, fmt.Errorf("alloc: MeasureConfig.Size %d must be > 0", c.Size)
	}
	if err := c.Kind.check("MeasureConfig.Kind"); err != nil {
		return c, err
	}
	if c.Count == 0 {
		c.Count = max(64, measureBytes/max(c.Size, 16))
	}
	if c.Count < 0 {
		return c, fmt.Errorf("alloc: MeasureConfig.Count %d must be > 0", c.Count)
	}
	return c, nil
}

// MeasureResult is what Measure saw: how much the live heap grew for a
// number of objects of one size and kind, kept alive together.
type MeasureResult struct {
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

// PerObject is HeapBytes / Objects (heap-B/obj): the heap an object really
// costs. It equals Block for ordinary objects, and less for tiny ones
// sharing blocks.
func (r MeasureResult) PerObject() float64 {
	if r.Objects == 0 {
		return 0
	}
	return float64(r.HeapBytes) / float64(r.Objects)
}

// TinyShare is the fraction of the allocations, 0 to 1, that the tiny
// allocator packed into a block already there (tiny-% is 100 times it).
func (r MeasureResult) TinyShare() float64 {
	if r.Objects == 0 {
		return 0
	}
	return float64(r.TinyAllocs) / float64(r.Objects)
}

// String is one line: the objects, their heap cost against the block
// BlockOf predicts, and how many were tiny or large.
func (r MeasureResult) String() string {
	return fmt.Sprintf("%d objects of %d B (%v): %.1f heap-B/obj (block %d), %.1f%% tiny, %d large",
		r.Objects, r.Size, r.Kind, r.PerObject(), r.Block, 100*r.TinyShare(), r.LargeAllocs)
}

// Measure allocates cfg.Count objects of cfg.Size bytes of cfg.Kind with
// New, keeps them all alive, and measures by how much the live heap grew:
// the runtime's own answer, independent of the class table, to "how big is
// an object of n bytes". It forces three garbage collections (runtime.GC),
// so it takes a few milliseconds; other goroutines allocating meanwhile add
// their bytes, so use a count whose objects total a megabyte or more (the
// default keeps 4 MiB).
//
// The race detector turns tiny-block packing off, so under -race tiny
// objects take a block each.
func Measure(ctx context.Context, cfg MeasureConfig) (MeasureResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return MeasureResult{}, err
	}
	if err := canceled(ctx, "Measure"); err != nil {
		return MeasureResult{}, err
	}
	n, k := cfg.Size, cfg.Kind
	hold := make([]unsafe.Pointer, cfg.Count)
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
	r := MeasureResult{Size: n, Kind: k, Objects: cfg.Count, Block: BlockOf(n, k),
		TinyAllocs: tiny1 - tiny0, LargeAllocs: large1 - large0}
	if live1 > live0 {
		r.HeapBytes = live1 - live0
	}
	return r, nil
}

// largeAllocs is the count of the last bucket of classesMetric, where the
// runtime puts every large object whatever its size.
func largeAllocs() uint64 {
	h := rtmetrics.ReadHistogram(classesMetric)
	return h.Counts[len(h.Counts)-1]
}
