package sched

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Model is how CPU-bound work is spread: over goroutines or over the tasks
// of one event loop.
type Model string

// The models Parallel compares.
const (
	Goroutines Model = "goroutines" // one goroutine per worker, run in parallel on up to GOMAXPROCS threads
	EventLoop  Model = "eventloop"  // one macrotask per worker on one Loop: one thread, one task at a time
)

// ParallelConfig is one run of the CPU-bound experiment.
type ParallelConfig struct {
	Model   Model
	Workers int // pieces the work is split into: goroutines or macrotasks
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

// Parallel hashes cfg.Bytes (FNV-1a over a 16 KiB buffer, seeded per chunk)
// split evenly across cfg.Workers goroutines or event-loop tasks. Speedup is
// the elapsed time of one worker over that of n: goroutines approach
// min(n, GOMAXPROCS, cores), so about 2 on a 2-core machine for 2 and 4
// workers; the event loop stays at 1 however the work is split, since its
// tasks run one after another on one thread.
func Parallel(cfg ParallelConfig) (ParallelResult, error) {
	if cfg.Bytes == 0 {
		cfg.Bytes = defaultBytes
	}
	switch {
	case cfg.Model != Goroutines && cfg.Model != EventLoop:
		return ParallelResult{}, fmt.Errorf("sched: model %q must be %q or %q", cfg.Model, Goroutines, EventLoop)
	case cfg.Workers < 1:
		return ParallelResult{}, fmt.Errorf("sched: workers %d must be > 0", cfg.Workers)
	case cfg.Bytes < chunkSize || cfg.Bytes%chunkSize != 0:
		return ParallelResult{}, fmt.Errorf("sched: bytes %d must be a positive multiple of %d", cfg.Bytes, chunkSize)
	case cfg.Workers > cfg.Bytes/chunkSize:
		return ParallelResult{}, fmt.Errorf("sched: workers %d exceed the %d chunks of bytes %d", cfg.Workers, cfg.Bytes/chunkSize, cfg.Bytes)
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
	case Goroutines:
		var wg sync.WaitGroup
		for w := range cfg.Workers {
			wg.Go(func() { work(w) })
		}
		wg.Wait()
	case EventLoop:
		var l Loop
		for w := range cfg.Workers {
			l.Post(func() { work(w) })
		}
		if err := l.Run(context.Background()); err != nil {
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
