package sched

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Model is how CPU-bound work is spread: over goroutines or over the tasks
// of one event loop.
type Model string

// The models Parallel compares.
const (
	ModelGoroutines Model = "goroutines" // one goroutine per worker, run in parallel on up to GOMAXPROCS threads
	ModelEventLoop  Model = "eventloop"  // one macrotask per worker on one Loop: one thread, one task at a time
)

// Models returns every model, in a stable order.
func Models() []Model { return []Model{ModelGoroutines, ModelEventLoop} }

// String returns the value of the benchmark key model: "goroutines" or
// "eventloop".
func (m Model) String() string { return string(m) }

// ParallelConfig is one run of the CPU-bound experiment. The zero value
// hashes 64 MiB on GOMAXPROCS goroutines.
type ParallelConfig struct {
	Model Model // ModelGoroutines if ""
	// Workers is the pieces the work is split into: goroutines or
	// macrotasks; GOMAXPROCS if 0.
	Workers int
	// Bytes is the total hashed, in 16 KiB chunks; 64 MiB if 0. The same
	// Bytes is the same work whatever the model and the number of workers.
	Bytes int
}

// ParallelResult is how long the work took.
type ParallelResult struct {
	Model   Model
	Workers int
	Bytes   int
	Elapsed time.Duration
	// Sum combines the hash of every chunk; it depends only on Bytes, so
	// equal sums show that every model and split did the same work.
	Sum uint64
}

const (
	chunkSize    = 16 << 10 // fits in L1/L2: the work is CPU-bound, not memory-bound
	defaultBytes = 64 << 20
)

// String summarizes r on one line: "parallel goroutines x2: 64 MiB in
// 35ms, 1917 MB/s".
func (r ParallelResult) String() string {
	mbps := 0.0
	if r.Elapsed > 0 {
		mbps = float64(r.Bytes) / 1e6 / r.Elapsed.Seconds()
	}
	return fmt.Sprintf("parallel %s x%d: %d MiB in %v, %.0f MB/s",
		r.Model, r.Workers, r.Bytes>>20, r.Elapsed.Round(time.Microsecond), mbps)
}

// Parallel hashes cfg.Bytes (FNV-1a over a 16 KiB buffer, seeded per chunk)
// split evenly across cfg.Workers goroutines or event-loop tasks. Speedup is
// the elapsed time of one worker over that of n: goroutines approach
// min(n, GOMAXPROCS, cores), so about 2 on a 2-core machine for 2 and 4
// workers; the event loop stays at 1 however the work is split, since its
// tasks run one after another on one thread. ctx is checked before the run
// starts, and by the event loop between tasks.
func Parallel(ctx context.Context, cfg ParallelConfig) (ParallelResult, error) {
	if err := ctx.Err(); err != nil {
		return ParallelResult{}, err
	}
	if cfg.Model == "" {
		cfg.Model = ModelGoroutines
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Bytes == 0 {
		cfg.Bytes = defaultBytes
	}
	switch {
	case cfg.Model != ModelGoroutines && cfg.Model != ModelEventLoop:
		return ParallelResult{}, fmt.Errorf("sched: ParallelConfig.Model %q must be %q or %q", cfg.Model, ModelGoroutines, ModelEventLoop)
	case cfg.Workers < 0:
		return ParallelResult{}, fmt.Errorf("sched: ParallelConfig.Workers %d must be > 0", cfg.Workers)
	case cfg.Bytes < chunkSize || cfg.Bytes%chunkSize != 0:
		return ParallelResult{}, fmt.Errorf("sched: ParallelConfig.Bytes %d must be a positive multiple of %d", cfg.Bytes, chunkSize)
	case cfg.Workers > cfg.Bytes/chunkSize:
		return ParallelResult{}, fmt.Errorf("sched: ParallelConfig.Workers %d exceed the %d chunks of ParallelConfig.Bytes %d", cfg.Workers, cfg.Bytes/chunkSize, cfg.Bytes)
	}
	buf := make([]byte, chunkSize)
	for i := range buf {
		buf[i] = byte(i*131 + i>>8)
	}
	chunks := cfg.Bytes / chunkSize
	sums := make([]uint64, cfg.Workers)
	work := func(w int) {
		var s uint64
		for c := w * chunks / cfg.Workers; c < (w+1)*chunks/cfg.Workers; c++ {
			s += fnv1a(buf, uint64(c))
		}
		sums[w] = s
	}
	start := time.Now()
	switch cfg.Model {
	case ModelGoroutines:
		var wg sync.WaitGroup
		for w := range cfg.Workers {
			wg.Go(func() { work(w) })
		}
		wg.Wait()
	case ModelEventLoop:
		var l Loop
		for w := range cfg.Workers {
			l.Post(func() { work(w) })
		}
		if err := l.Run(ctx); err != nil {
			return ParallelResult{}, err
		}
	}
	res := ParallelResult{Model: cfg.Model, Workers: cfg.Workers, Bytes: cfg.Bytes, Elapsed: time.Since(start)}
	for _, s := range sums {
		res.Sum += s
	}
	return res, nil
}

// fnv1a is 64-bit FNV-1a of seed's eight bytes followed by buf: a
// multiply-bound chain, about a byte per few cycles.
func fnv1a(buf []byte, seed uint64) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := range 8 {
		h ^= (seed >> (8 * i)) & 0xff
		h *= prime
	}
	for _, b := range buf {
		h ^= uint64(b)
		h *= prime
	}
	return h
}
