package alloc

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// OpStats is what a loop of operations cost, counted as the testing
// package counts a benchmark's: wall time, and the heap allocations and
// bytes of runtime.ReadMemStats, which flushes every P's cache first and so
// counts exactly (runtime/metrics lags by the spans the Ps hold).
type OpStats struct {
	Ops     int           // operations run
	Elapsed time.Duration // wall time of the loop
	Allocs  uint64        // heap allocations (MemStats.Mallocs)
	Bytes   uint64        // heap bytes allocated (MemStats.TotalAlloc)
	GCs     uint64        // GC cycles completed (MemStats.NumGC)
}

// NsPerOp is Elapsed per operation (ns/op).
func (s OpStats) NsPerOp() float64 { return s.per(float64(s.Elapsed.Nanoseconds())) }

// BytesPerOp is heap bytes allocated per operation (B/op).
func (s OpStats) BytesPerOp() float64 { return s.per(float64(s.Bytes)) }

// AllocsPerOp is heap allocations per operation (allocs/op).
func (s OpStats) AllocsPerOp() float64 { return s.per(float64(s.Allocs)) }

// GCsPerMobj is GC cycles per million operations (gcs/Mobj).
func (s OpStats) GCsPerMobj() float64 { return 1e6 * s.per(float64(s.GCs)) }

func (s OpStats) per(x float64) float64 {
	if s.Ops == 0 {
		return 0
	}
	return x / float64(s.Ops)
}

// String is one line: ops, time, and the four per-op figures.
func (s OpStats) String() string {
	return fmt.Sprintf("%d ops in %v: %.1f ns/op, %.1f B/op, %.2f allocs/op, %.1f gcs/Mobj",
		s.Ops, s.Elapsed, s.NsPerOp(), s.BytesPerOp(), s.AllocsPerOp(), s.GCsPerMobj())
}

// countOps runs loop, which does ops operations, and returns what it cost.
func countOps(ops int, loop func()) OpStats {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	loop()
	el := time.Since(t0)
	runtime.ReadMemStats(&m1)
	return OpStats{Ops: ops, Elapsed: el, Allocs: m1.Mallocs - m0.Mallocs,
		Bytes: m1.TotalAlloc - m0.TotalAlloc, GCs: uint64(m1.NumGC - m0.NumGC)}
}

// canceled is ctx's error, if it is done, prefixed with the experiment's
// name.
func canceled(ctx context.Context, experiment string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("alloc: %s: %w", experiment, err)
	}
	return nil
}

// defaultOps is the number of operations of an experiment whose config
// leaves Ops 0: enough objects of size bytes for 256 MiB, between a
// thousand and a million, so a run takes tens of milliseconds.
func defaultOps(size int) int {
	return min(1<<20, max(1<<10, (256<<20)/max(size, 1)))
}

// opsOrDefault applies the defaults shared by SizeConfig, ParallelConfig
// and ReuseConfig (config names the struct in errors).
func opsOrDefault(config string, size, ops int) (int, int, error) {
	if size == 0 {
		size = defaultSize
	}
	if size < 0 {
		return 0, 0, fmt.Errorf("alloc: %s.Size %d must be > 0", config, size)
	}
	if ops == 0 {
		ops = defaultOps(size)
	}
	if ops < 0 {
		return 0, 0, fmt.Errorf("alloc: %s.Ops %d must be > 0", config, ops)
	}
	return size, ops, nil
}

// SizeConfig is one run of Size. The zero value allocates 64-byte
// pointer-free objects.
type SizeConfig struct {
	Size int  // bytes per object; 0 means 64
	Kind Kind // the zero value is KindNoscan
	// Ops is the number of objects allocated; 0 means enough for 256 MiB,
	// between a thousand and a million.
	Ops int
}

// SizeResult is the cost of one allocation of a size and kind.
type SizeResult struct {
	Size int
	Kind Kind
	// Waste is the share of the block lost to rounding (WasteOf), the
	// waste-% of BenchmarkAllocSize.
	Waste Loss
	OpStats
}

// String is one line: the object, its block and waste, and the per-op
// figures.
func (r SizeResult) String() string {
	return fmt.Sprintf("size=%d kind=%v (block %d, %.1f%% waste): %v",
		r.Size, r.Kind, r.Waste.Block, r.Waste.Percent, r.OpStats)
}

// Size allocates cfg.Ops objects of cfg.Size bytes of cfg.Kind with New,
// one after another, dropping each at once: the loop of
// BenchmarkAllocSize. The time per op is the allocation itself plus its
// share of the garbage collection the garbage causes; BytesPerOp is the
// block the runtime accounted, so it shows the rounding.
func Size(ctx context.Context, cfg SizeConfig) (SizeResult, error) {
	n, ops, err := opsOrDefault("SizeConfig", cfg.Size, cfg.Ops)
	if err != nil {
		return SizeResult{}, err
	}
	k := cfg.Kind
	if err := k.check("SizeConfig.Kind"); err != nil {
		return SizeResult{}, err
	}
	if err := canceled(ctx, "Size"); err != nil {
		return SizeResult{}, err
	}
	st := countOps(ops, func() {
		for range ops {
			New(n, k)
		}
	})
	return SizeResult{Size: n, Kind: k, Waste: WasteOf(n, k), OpStats: st}, nil
}

// ParallelConfig is one run of Parallel. The zero value allocates 64-byte
// objects on one goroutine per P.
type ParallelConfig struct {
	Size int // bytes per pointer-free object; 0 means 64
	// Procs is the number of goroutines allocating at once, the procs= key
	// of BenchmarkAllocParallel; 0 means one per P (GOMAXPROCS), procs=all.
	Procs int
	// Ops is the number of objects allocated in all, split evenly between
	// the goroutines; 0 means enough for 256 MiB, between a thousand and a
	// million.
	Ops int
}

// ParallelResult is the throughput of Procs goroutines allocating at
// once: NsPerOp is wall time per allocation, so it falls as the
// goroutines share the work.
type ParallelResult struct {
	Size  int
	Procs int
	OpStats
}

// String is one line: the object, the goroutines and the per-op figures.
func (r ParallelResult) String() string {
	return fmt.Sprintf("size=%d procs=%d: %v", r.Size, r.Procs, r.OpStats)
}

// Parallel allocates cfg.Ops pointer-free objects of cfg.Size bytes with
// New on cfg.Procs goroutines at once and times the whole, as
// BenchmarkAllocParallel does with b.RunParallel for procs=all. Small
// objects come from each P's own cache without a lock; large ones take the
// heap lock and the page allocator every time.
func Parallel(ctx context.Context, cfg ParallelConfig) (ParallelResult, error) {
	n, ops, err := opsOrDefault("ParallelConfig", cfg.Size, cfg.Ops)
	if err != nil {
		return ParallelResult{}, err
	}
	procs := cfg.Procs
	if procs == 0 {
		procs = runtime.GOMAXPROCS(0)
	}
	if procs < 0 {
		return ParallelResult{}, fmt.Errorf("alloc: ParallelConfig.Procs %d must be > 0", procs)
	}
	if err := canceled(ctx, "Parallel"); err != nil {
		return ParallelResult{}, err
	}
	st := countOps(ops, func() {
		var wg sync.WaitGroup
		for g := range procs {
			wg.Go(func() {
				for range (g+1)*ops/procs - g*ops/procs {
					New(n, KindNoscan)
				}
			})
		}
		wg.Wait()
	})
	return ParallelResult{Size: n, Procs: procs, OpStats: st}, nil
}
