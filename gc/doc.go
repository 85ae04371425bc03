// Package gc builds heaps of a known shape, runs Go's collector over them
// and reports what it cost, so that claims like "low survival and low
// pointer density make GC cheap" are measured with the heap that produced
// them, not asserted.
//
// # Heap shapes
//
// A Shape is a live heap of Live bytes made of 512-byte units held in a
// table. Churning it allocates new units; Survival of them replace the
// oldest live units (first in, first out) and the rest die at once, so the
// live heap stays at Live while the dial moves how long objects live: the
// generational hypothesis ("most objects die young") as a number.
// PointerDensity chooses what a unit is made of:
//
//	none  one pointer-free 512-byte block              2.0 ptrs/KiB
//	low   two 256-byte structs, one pointer each       5.9 ptrs/KiB
//	high  eight 64-byte nodes, seven pointers each   112.2 ptrs/KiB
//
// The densities count every non-nil pointer of the live heap per KiB of it,
// the table's one pointer per unit included (which is why none is 2, not 0:
// something must point at a block to keep it alive). Pointers stay inside
// their unit, so a replaced unit is garbage as a whole. The tests check the
// runtime agrees: the live heap it marks is Live within 10% before and after
// churning, and Pointers per measured KiB is the density above within 10%.
//
// # What Run reports
//
// Run is the experiment, called as every rtlab experiment is:
//
//	res, err := gc.Run(ctx, gc.RunConfig{Shape: gc.Shape{Survival: 0.2, PointerDensity: gc.DensityHigh}})
//
// It builds the heap (the zero Shape fields mean their defaults: 32 MiB
// live, 8 x live allocated), collects once, churns Shape.Alloc bytes through
// it and returns a RunResult from runtime/metrics deltas over the churn,
// under RunConfig.Setting (the zero Setting: the one in force) on
// RunConfig.Scan (zero: this process's path). res.String() prints it on one
// line. Its figures, and the root benchmark units they become:
//
//   - GCCycles (gcs/op): one op of the benchmarks allocates one live heap's
//     worth, so GOGC=100 predicts about one cycle per op: the heap may grow
//     by 100% of the live heap between cycles. Expect less than one at
//     GOGC=100: what is allocated while a cycle marks is counted live by
//     that cycle (allocate-black), so the measured live heap, and with it
//     the next goal, is bigger than Live. The slower the mark (more
//     pointers, fewer idle CPUs), the bigger that floating garbage.
//   - PauseP50, PauseP99, PauseMax (p50-pause-ns, p99-pause-ns): quantiles
//     of the stop-the-world pauses of /sched/pauses/total/gc:seconds, two
//     per cycle (sweep termination, mark termination). Marking is
//     concurrent, so expect the median to stay in the same range
//     (microseconds to a few hundred) whatever the shape: no pause is
//     proportional to the heap. The p99 is the time to stop every thread,
//     and a thread the OS has descheduled cannot stop until it runs again:
//     on a loaded machine it reads in milliseconds, which is the machine.
//   - GCCPUShare (gc-cpu-%): /cpu/classes/gc/total over /cpu/classes/total,
//     GC CPU over the CPU the process could use (GOMAXPROCS x wall time). It
//     includes idle-priority mark workers: with one mutator goroutine on two
//     Ps, the idle P marks, CPU that would otherwise go unused.
//   - ScanHeap (scan-B/cycle): the scan work of the last cycle,
//     /gc/scan/heap. Pointer-free blocks add nothing (none reads as the
//     table alone); what a pointerful object adds depends on the scan path
//     (below): its whole size on the vector path, its bytes up to its last
//     pointer on the scalar path. So low reads as the whole heap or as 5% of
//     it, high as the whole heap or 88% of it, and ptrs/KiB is the figure
//     that tells the densities apart on every machine.
//   - PtrsPerKiB (ptrs/KiB): the real density of the live heap, above.
//   - HeapLive, HeapGoal, AllocBytes, AllocRate: from the same deltas.
//   - PeakRSS (peak-RSS-B): the kernel's RSS high-water mark over the run,
//     reset at the start (/proc/self/clear_refs), so nothing samples it.
//
// # The claim table
//
// BenchmarkGCShape crosses survival {0.05, 0.2, 0.5} with pointers {none,
// low, high} (Densities: DensityNone, DensityLow, DensityHigh). Expect
// pointer density to set the cost and survival to barely move it. Go's
// collector is not generational: every cycle marks the whole live heap,
// young or old, so at a fixed live heap the work per cycle and the cycles
// per byte allocated do not depend on how long objects live. What does move
// the cost is what marking must do per live byte: nothing inside a
// pointer-free block, a pointer per 256 bytes for low, every word for high;
// expect GC CPU to rise several-fold from none to high, and the time per op
// with it. Low survival makes GC cheap in a generational collector (V8's
// scavenger, the JVM's young generation), where a minor collection touches
// only survivors; in Go it helps only by keeping the live heap small.
//
// # Two scan paths
//
// Green Tea (runtime/mgcmark_greenteagc.go, scanSpan) scans a span of small
// objects one of two ways. Where the CPU has AVX512VL, BW, DQ, VBMI, BITALG
// and GFNI (internal/runtime/gc/scan, HasFastScanSpanPacked; amd64 only) and
// at least an eighth of the span's objects are marked when it is scanned, it
// scans the whole span at once with vector instructions and counts every
// marked object whole as scan work (objsMarked * elemsize). Otherwise (other
// CPUs, arm64, sparse spans, the classic collector) it scans object by
// object and counts each up to its last pointer word (scanObjectsSmall). The
// scan work feeds /gc/scan/heap and the pacer, so the same heap reads
// differently on two machines. Whether a span has its eighth marked when a
// worker takes it depends on how many workers mark at once: an idle worker
// can take a span soon after its first object is marked, so with more Ps
// part of a dense heap can count as on the scalar path. BenchmarkGCShape's
// -N suffix keeps runs at different GOMAXPROCS apart.
//
// CurrentScanPath measures which path this process takes (a probe heap of
// 256-byte objects with one leading pointer: counted whole or as 8 bytes),
// and the root suite prints it as the "gcscan: vector|scalar" configuration
// line. BenchmarkGCShape has a scan= level (RunConfig.Scan: ScanPathVector,
// ScanPathScalar): on a vector machine it runs each shape in this process
// (scan=vector) and in a child with GODEBUG=cpu.avx512bw=off (scan=scalar),
// so benchstat shows what the vector path buys for each shape:
//
//	go test -run '^$' -bench 'BenchmarkGCShape' -count 6 . > scan.txt
//	go tool benchstat -col /scan scan.txt
//
// A machine without the vector path has only scan=scalar rows. Do not
// expect the vector path to be cheaper everywhere: it works through whole
// spans, where the scalar path stops at each object's last pointer, so it
// can lose where objects hold one pointer in many words (low); and it
// counts more scan work, which the pacer plans with, so gcs/op moves too.
// scan-B/cycle differs by construction, as above.
//
// # Settings
//
// BenchmarkGCSetting runs one shape under GOGC 50, 100, 200, and GOGC=off
// with GOMEMLIMIT = 4 x live + 16 MiB. As the GC guide
// (https://go.dev/doc/gc-guide) predicts: halving GOGC about doubles the
// cycles and raises GC CPU while lowering peak RSS; doubling it does the
// reverse. With GOGC off, the collector runs only when the runtime's total
// memory nears the limit, so RSS rises to the limit and cycles are as few as
// the limit allows (here about as few as GOGC=200, whose heap is of the same
// size). Setting.Apply sets both dials with debug.SetGCPercent and
// debug.SetMemoryLimit and returns the function that restores them; Run
// applies RunConfig.Setting so for its run.
//
//	go test -run '^$' -bench 'BenchmarkGCSetting' -count 5 . | go tool benchstat -col /gogc -
//
// # The cost of looking
//
// BenchmarkGCObserve times three ways for a program to look at its own heap,
// while a Churner churns a heap on another goroutine (p50-ns, p99-ns;
// Observe is the experiment, ObserveConfig.Method the way): expect
// runtime/metrics.Read (MethodMetrics), which never stops the world, to be
// the cheapest at the median and the tail; runtime.ReadMemStats
// (MethodReadMemStats) stops the world, so its tail reaches milliseconds,
// for the reason pauses have tails; a heap profile (MethodHeapProfile, what
// /debug/pprof/heap serves) walks, symbolizes and compresses every sampled
// allocation site: milliseconds even at the median. Read runtime/metrics in
// anything that runs periodically.
//
//	go test -run '^$' -bench 'BenchmarkGCObserve' -count 5 . | go tool benchstat -col /method -
//
// # The Sampler
//
// StartSampler records a Series beside any workload: every interval, the
// time, RSS, VSS, heap live, heap goal, stacks, goroutines, GC cycles and
// the longest GC pause since the previous sample, optionally streamed as
// CSV; Stop returns the series. It lives in internal/sampler, shared with
// wsconn/load's lifecycle trace, and is re-exported here. BenchmarkGCSampler
// measures its overhead (overhead-%: the sampler thread's CPU time over the
// process's CPU capacity, as gc-cpu-% is) at 10ms and 100ms beside a churn
// loop, and its CPU per sample (cpu-ns/sample): expect well under 1% at
// 10ms, and several times less at 100ms (not quite ten: a sample costs more
// when it finds cold caches and a sleeping thread).
//
//	go test -run '^$' -bench 'BenchmarkGCSampler' -count 5 . | go tool benchstat -col /interval -
//
// # Commands
//
// The figures, as the suite reports them (-short shrinks the live heap from
// 32 MiB to 8 MiB):
//
//	go test -run '^$' -bench 'BenchmarkGC' -count 3 . | go tool benchstat -
//
// The claim table as a table, survival down and pointers across, one per
// unit:
//
//	go test -run '^$' -bench 'BenchmarkGCShape' -short -count 3 . > shape.txt
//	go tool benchstat -row /survival -col /ptrs shape.txt
//
// The root TestMain prints "gc: greentea" or "gc: classic" (and the
// goexperiment) before the results. To compare Go 1.26's default Green Tea
// collector with the previous one, save one results file per collector and
// let benchstat put them side by side by that line (the go and goexperiment
// lines differ too, so they are ignored):
//
//	go test -run '^$' -bench 'BenchmarkGCShape' -count 6 . > greentea.txt
//	GOEXPERIMENT=nogreenteagc go test -run '^$' -bench 'BenchmarkGCShape' -count 6 . > classic.txt
//	go tool benchstat -col gc -ignore go,goexperiment greentea.txt classic.txt
//
// Green Tea marks small objects span by span rather than object by object,
// for memory locality, so its gains should show on heaps of many small
// pointerful objects (the high row) and grow with cores; on two shared cores
// expect differences within the noise unless -count is raised.
package gc
