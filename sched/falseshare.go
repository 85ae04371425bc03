package sched

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Layout is where two counters sit relative to each other.
type Layout string

// The layouts FalseSharing compares.
const (
	Packed Layout = "packed" // adjacent, in one 64-byte cache line
	Pad64  Layout = "pad64"  // 64 bytes apart: two lines, but neighbours
	Pad128 Layout = "pad128" // 128 bytes apart: outside each other's 128-byte pair
)

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

// FalseSharing starts two goroutines that each atomically increment their
// own counter increments times, with the counters laid out as layout. They
// share no data, but packed counters share a cache line, which then
// ping-pongs between the two cores on every write: expect packed to be
// several times slower than pad64. pad128 also defeats the adjacent-line
// prefetcher of some x86 cores, which fetches lines in 128-byte pairs.
// With GOMAXPROCS=1 or one core, the goroutines take turns and the layouts
// cost the same.
func FalseSharing(layout Layout, increments int) (FalseSharingResult, error) {
	if increments < 1 {
		return FalseSharingResult{}, fmt.Errorf("sched: increments %d must be > 0", increments)
	}
	var a, b *atomic.Uint64
	switch layout {
	case Packed:
		c := new(packedCounters)
		a, b = &c.a, &c.b
	case Pad64:
		c := new(pad64Counters)
		a, b = &c.a, &c.b
	case Pad128:
		c := new(pad128Counters)
		a, b = &c.a, &c.b
	default:
		return FalseSharingResult{}, fmt.Errorf("sched: layout %q must be %q, %q or %q", layout, Packed, Pad64, Pad128)
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
