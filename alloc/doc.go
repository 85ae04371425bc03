// Package alloc makes the usual picture of Go's memory allocator measurable:
// small objects rounded up to size classes and served from per-P caches
// (mcache, then mcentral, then mheap), objects over 32 KiB taken straight
// from the heap in whole 8 KiB pages, tiny pointer-free objects packed
// together, and the difference pointers make. Beside it sits a bump-pointer
// arena, a small model of the nursery (new space) of V8, where allocating is
// moving a pointer and freeing is forgetting all at once.
//
// Run the whole experiment, and read it with benchstat, from the module
// root:
//
//	go test -run '^$' -bench 'BenchmarkAlloc' -count 5 . | go tool benchstat -
//
// -short shrinks the buffers and counts. Each benchmark has an experiment
// function a program can call, in the shape every rtlab package shares:
//
//	res, err := alloc.Size(ctx, alloc.SizeConfig{Size: 1024, Kind: alloc.KindScan})
//
// where the zero config means the defaults and res.String() is one line. The
// figures, one benchmark at a time:
//
// # Size classes: Classes, ClassOf, Waste, BlockOf, Measure
//
// Classes reads the size classes of the runtime the program runs on, not a
// copied table: the runtime/metrics histogram /gc/heap/allocs-by-size:bytes
// has one bucket per class, and its boundaries are the class sizes plus one.
// On Go 1.26 there are 67 classes, from 8 to 32768 bytes (go test -run
// TestClassTable -v ./alloc/ prints the table this runtime has). ClassOf(n)
// is the size a pointer-free request of n bytes really gets: the smallest
// class that holds it, or, above the largest class, n rounded up to whole
// pages (PageSize). Waste(n) is what the rounding loses. Above 112 bytes the
// classes are spaced about an eighth apart, so a request loses under 16% of
// its block; below, they are 8 or 16 bytes apart and the share can be large
// (9 bytes take 16, 44% lost). A large object loses up to a page short of 8
// KiB (32769 bytes take 40960, 20% lost).
//
// Pointers change the picture: a pointerful object over 512 bytes carries an
// 8-byte header with its type (smaller ones keep their pointer bitmap at the
// end of their span), and the header is added before rounding. BlockOf gives
// the block for either Kind (KindNoscan, KindScan): a 1024-byte []*T takes
// 1152 bytes, a 1024-byte []byte exactly 1024.
//
// Measure checks all of this against the heap itself: it allocates many
// objects (about 4 MiB of them by default), keeps them alive, and divides
// the growth of the live heap (/gc/heap/live:bytes after a forced GC) by
// their number. The tests do so for sizes across the header and small/large
// boundaries and require it to agree with BlockOf. To print this machine's
// table:
//
//	go test -run 'TestClassTable' -v ./alloc/
//
// # BenchmarkAllocSize: ns/op, B/op, allocs/op, waste-%
//
// One New per op, by kind= and size= (Size runs the same loop). B/op is the
// block the runtime accounted, so it shows the rounding (kind=scan/size=1024
// reports 1152 B/op, kind=noscan/size=32769 40960), and waste-% is WasteOf
// for that size and kind. kind=noscan/size=8 goes through the tiny
// allocator, two objects to a 16-byte block (B/op 8). ns/op is the
// allocation itself plus its share of the garbage collection the garbage
// causes, and grows with size, mostly for zeroing the block and for the GC
// cycles a bigger object brings sooner. It steps up at the large boundary:
// from 32761 bytes (IsLarge, the size=32760 row is the last small one) each
// object needs a span of its own from the page heap under a lock. Scan
// objects cost more than noscan ones of the same size: their pointer bitmap
// or header must be written and the GC must scan them. Every op really
// allocates: TestNewAllocates checks one allocation per call, since Go 1.25
// and later keep small non-escaping make slices on the stack:
//
//	go test -run '^$' -bench 'BenchmarkAllocSize' -count 5 . | go tool benchstat -col /kind -
//
// # BenchmarkAllocTiny: ns/op, heap-B/obj, tiny-%
//
// Pointer-free objects under 16 bytes are packed into shared 16-byte blocks
// by the per-P tiny allocator; pointerful ones never are, and cannot be
// smaller than a pointer. heap-B/obj is Measure's live-heap growth per
// object (MeasureResult.PerObject), tiny-% the share of allocations packed
// into a block already there (/gc/heap/tiny/allocs:objects, TinyShare).
// Expect kind=noscan: size 1 at 1 byte (16 per block, 93.75% packed), size 8
// at 8 (two per block, 50%), size 12 at 16 (a second 12 never fits, 0%: the
// 4 bytes left wait for a smaller object); kind=scan: 8, 8 and 16 bytes, 0%
// packed. A block stays alive as long as any object in it is, which is the
// price of the packing. Under the race detector packing is off.
//
//	go test -run '^$' -bench 'BenchmarkAllocTiny' . | go tool benchstat -
//
// # BenchmarkAllocParallel: ns/op
//
// Allocation throughput with procs=1 goroutine against procs=all, one per P
// (b.RunParallel; Parallel with ParallelConfig.Procs); ns/op is wall time
// per allocation. Small objects (size=64) come from the P's own mcache
// without a lock; large ones (size=65536) go to the shared page heap under
// its lock every time, and zeroing 64 KiB is bound by memory bandwidth.
//
// With the collector on, expect little or no gain even for small objects:
// with procs=1 the other Ps sit idle and the runtime hands them to the GC's
// idle mark workers, so the lone goroutine gets its collection done for
// free, while procs=all must share its Ps with the GC. To see the per-P
// caches scale, turn the GC off for a short run, since the heap then grows
// without bound:
//
//	GOGC=off go test -run '^$' -bench 'BenchmarkAllocParallel/size=64/' -benchtime 0.3s -count 2 .
//
// and expect procs=all's ns/op to approach procs=1's divided by
// GOMAXPROCS, the best case.
//
// # BenchmarkAllocReuse: ns/op, B/op, gcs/Mobj
//
// One short-lived object per op, got and given back through a Source (Reuse
// runs the same loop): impl=new allocates afresh and leaves it to the GC,
// impl=pool recycles through a sync.Pool, impl=bump takes it from an Arena
// over a 1 MiB pointer-free slab and resets the arena when it is full.
// gcs/Mobj is the GC cycles the loop caused per million objects. Expect new
// to allocate size B/op and cause GCs in proportion to its bytes (the heap
// goal of a small program is 4 MiB, so about 16 cycles per million 64-byte
// objects and 250 per million 1 KiB ones), pool and bump to allocate nothing
// and cause none (TestSourceAllocs). At 64 bytes bump is the cheapest per
// op, because allocating is an add and a compare; at 1 KiB pool can beat it,
// because pool objects come back dirty while bump, like new, zeroes every
// object. Bump's objects all die at Reset: V8 gets away with that by copying
// the survivors out first, which this model does not.
//
//	go test -run '^$' -bench 'BenchmarkAllocReuse' -count 5 . | go tool benchstat -col /impl -
//
// # BenchmarkAllocStride: ns/access
//
// Walk reads every word of a buffer (512 MiB, 64 MiB with -short;
// NewStrideBuffer fills it once so the kernel backs it with real pages) in
// stride order; each op does the same reads in a different order, and
// ns/access is time per read (ns/op is reported as 0; Stride is the
// experiment outside a benchmark). Expect stride=8 cheapest (eight reads per
// cache line, prefetched), stride=64 a few times slower (every read a new
// cache line), stride=4096 slowest (every read a new page: the prefetchers
// stop at page boundaries and each read needs a TLB entry). A virtual
// machine that reports a large shared L3 may hold part of the -short buffer
// in cache; the page-stride penalty shows regardless.
//
//	go test -run '^$' -bench 'BenchmarkAllocStride' -count 3 . | go tool benchstat -col /stride -
package alloc
