package sched

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Layout is where two counters sit relative to each other.
type Layout string

// The layouts FalseSharing compares.
const (
	LayoutPacked Layout = "packed" // adjacent, in one 64-byte cache line
	LayoutPad64  Layout = "pad64"  // 64 bytes apart: two lines, but neighbours
	LayoutPad128 Layout = "pad128" // 128 bytes apart: outside each other's 128-byte pair
)

// Layouts returns every layout, in a stable order.
func Layouts() []Layout { return []Layout{LayoutPacked, LayoutPad64, LayoutPad128} }

// String returns the value of the benchmark key layout: "packed", "pad64"
// or "pad128".
func (l Layout) String() string { return string(l) }

// FalseSharingConfig is one run of the false-sharing experiment. The zero
// value increments packed counters 1<<20 times each.
type FalseSharingConfig struct {
	Layout     Layout // LayoutPacked if ""
	Increments int    // by each goroutine; 1<<20 if 0
}

const defaultIncrements = 1 << 20

// The structs are allocated on their own: a 16-byte object never straddles
// a 64-byte line, and fields 64 (128) bytes apart are always in different
// lines (128-byte pairs), wherever the allocation starts.
type (
	packedCounters struct{ a, b atomic.Uint64 }
	pad64Counters  struct {
		a atomic.Uint64
		_ [56]byte
		b atomic.Uint64
	}
	pad128Counters struct {
		a atomic.Uint64
		_ [120]byte
		b atomic.Uint64
	}
)

// FalseSharingResult is the time two goroutines took to increment their
// own counters.
type FalseSharingResult struct {
	Layout     Layout
	Increments int // by each goroutine
	Elapsed    time.Duration
	// NsPerIncrement is Elapsed over Increments: the cost of one increment
	// while the other goroutine does the same.
	NsPerIncrement float64
}

// String summarizes r on one line: "false sharing packed: 1048576
// increments each in 30ms, 28.6 ns per increment".
func (r FalseSharingResult) String() string {
	return fmt.Sprintf("false sharing %s: %d increments each in %v, %.1f ns per increment",
		r.Layout, r.Increments, r.Elapsed.Round(time.Microsecond), r.NsPerIncrement)
}

// FalseSharing starts two goroutines that each atomically increment their
// own counter cfg.Increments times, with the counters laid out as
// cfg.Layout. They
// share no data, but packed counters share a cache line, which then
// ping-pongs between the two cores on every write: expect packed to be
// several times slower than pad64. pad128 also defeats the adjacent-line
// prefetcher of some x86 cores, which fetches lines in 128-byte pairs.
// With GOMAXPROCS=1 or one core, the goroutines take turns and the layouts
// cost the same. ctx is checked before the run starts.
func FalseSharing(ctx context.Context, cfg FalseSharingConfig) (FalseSharingResult, error) {
	if err := ctx.Err(); err != nil {
		return FalseSharingResult{}, err
	}
	if cfg.Layout == "" {
		cfg.Layout = LayoutPacked
	}
	if cfg.Increments == 0 {
		cfg.Increments = defaultIncrements
	}
	layout, increments := cfg.Layout, cfg.Increments
	if increments < 0 {
		return FalseSharingResult{}, fmt.Errorf("sched: FalseSharingConfig.Increments %d must be > 0", increments)
	}
	var a, b *atomic.Uint64
	switch layout {
	case LayoutPacked:
		c := new(packedCounters)
		a, b = &c.a, &c.b
	case LayoutPad64:
		c := new(pad64Counters)
		a, b = &c.a, &c.b
	case LayoutPad128:
		c := new(pad128Counters)
		a, b = &c.a, &c.b
	default:
		return FalseSharingResult{}, fmt.Errorf("sched: FalseSharingConfig.Layout %q must be %q, %q or %q", layout, LayoutPacked, LayoutPad64, LayoutPad128)
	}
	var (
		wg    sync.WaitGroup
		ready sync.WaitGroup
		start = make(chan struct{})
	)
	count := func(c *atomic.Uint64) {
		ready.Done()
		<-start
		for range increments {
			c.Add(1)
		}
	}
	ready.Add(2)
	wg.Go(func() { count(a) })
	wg.Go(func() { count(b) })
	ready.Wait()
	t0 := time.Now()
	close(start)
	wg.Wait()
	el := time.Since(t0)
	if a.Load() != uint64(increments) || b.Load() != uint64(increments) {
		return FalseSharingResult{}, fmt.Errorf("sched: counters %d and %d, want %d each", a.Load(), b.Load(), increments)
	}
	return FalseSharingResult{
		Layout:         layout,
		Increments:     increments,
		Elapsed:        el,
		NsPerIncrement: float64(el.Nanoseconds()) / float64(increments),
	}, nil
}
