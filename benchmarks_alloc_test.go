package rtlab

import (
	"fmt"
	"testing"

	"github.com/rtlab/rtlab/alloc"
	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// BenchmarkAllocSize is the cost of one heap allocation by size and kind,
// across the size classes and the small/large boundary (32760 is the last
// small request, see alloc.IsLarge). B/op shows the block the request was
// rounded to, waste-% the share of it lost to rounding (alloc.WasteOf).
// alloc.Size runs the same loop outside a benchmark.
func BenchmarkAllocSize(b *testing.B) {
	sizes := []int{8, 16, 24, 32, 48, 64, 128, 512, 1024, 4096, 8192, 32760, 32768, 32769, 65536}
	for _, k := range alloc.Kinds() {
		b.Run("kind="+k.String(), func(b *testing.B) {
			for _, n := range sizes {
				b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						alloc.New(n, k)
					}
					b.ReportMetric(alloc.WasteOf(n, k).Percent, "waste-%")
				})
			}
		})
	}
}

// BenchmarkAllocTiny shows the tiny allocator: pointer-free objects under
// 16 bytes share 16-byte blocks, pointerful ones never do (and cannot be
// smaller than a pointer). heap-B/obj is the live-heap growth per object
// kept alive (alloc.Measure), tiny-% the share of allocations packed into a
// block already there (/gc/heap/tiny/allocs:objects).
func BenchmarkAllocTiny(b *testing.B) {
	count := 200_000
	if testing.Short() {
		count = 20_000
	}
	for _, k := range alloc.Kinds() {
		b.Run("kind="+k.String(), func(b *testing.B) {
			for _, n := range []int{1, 8, 12} {
				b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
					for b.Loop() {
						alloc.New(n, k)
					}
					r, err := alloc.Measure(b.Context(), alloc.MeasureConfig{Size: n, Kind: k, Count: count})
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(r.PerObject(), "heap-B/obj")
					b.ReportMetric(100*r.TinyShare(), "tiny-%")
				})
			}
		})
	}
}

// BenchmarkAllocParallel compares one allocating goroutine with one per P.
// Small objects come from each P's own cache without a lock, so ns/op (wall
// time per allocation) falls with more Ps; large objects take the heap
// lock and page allocator every time, so it does not. alloc.Parallel runs
// the same allocations outside a benchmark.
func BenchmarkAllocParallel(b *testing.B) {
	for _, n := range []int{64, 65536} {
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			b.Run("procs=1", func(b *testing.B) {
				for b.Loop() {
					alloc.New(n, alloc.KindNoscan)
				}
			})
			b.Run("procs=all", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						alloc.New(n, alloc.KindNoscan)
					}
				})
			})
		})
	}
}

// BenchmarkAllocReuse gets and releases one short-lived object per op:
// fresh from the heap, from a sync.Pool, or from a bump-pointer arena.
// gcs/Mobj is the GC cycles the loop caused per million objects.
// alloc.Reuse runs the same loop outside a benchmark.
func BenchmarkAllocReuse(b *testing.B) {
	for _, impl := range alloc.Impls() {
		b.Run("impl="+impl.String(), func(b *testing.B) {
			for _, n := range []int{64, 1024} {
				b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
					src, err := alloc.NewSource(impl, n)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					gc0 := rtmetrics.Uint64(rtmetrics.GCCycles)
					for b.Loop() {
						p := src.Get()
						p[0], p[n-1] = 1, 2
						src.Put(p)
					}
					st := alloc.OpStats{Ops: b.N, GCs: rtmetrics.Uint64(rtmetrics.GCCycles) - gc0}
					b.ReportMetric(st.GCsPerMobj(), "gcs/Mobj")
				})
			}
		})
	}
}

// BenchmarkAllocStride reads every word of a buffer far larger than the CPU
// caches once per op, in stride order (alloc.Walk); ns/access is the time
// per read. The buffer is 512 MiB, 64 MiB with -short, shared by the
// strides; alloc.Stride fills one of its own and walks it.
func BenchmarkAllocStride(b *testing.B) {
	size := 512 << 20
	if testing.Short() {
		size = 64 << 20
	}
	buf, err := alloc.NewStrideBuffer(size)
	if err != nil {
		b.Fatal(err)
	}
	for _, stride := range []int{8, 64, 4096} {
		b.Run(fmt.Sprintf("stride=%d", stride), func(b *testing.B) {
			for b.Loop() {
				if _, err := alloc.Walk(buf, stride); err != nil {
					b.Fatal(err)
				}
			}
			r := alloc.StrideResult{Walks: b.N, Accesses: len(buf), Elapsed: b.Elapsed()}
			b.ReportMetric(r.NsPerAccess(), "ns/access")
			b.ReportMetric(0, "ns/op")
		})
	}
}
