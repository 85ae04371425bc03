package gc

import (
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/rtlab/rtlab/internal/quantile"
	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// Method is a way of looking at the heap from inside the process.
type Method string

// The methods whose cost Observe measures.
const (
	// ReadMemStats calls runtime.ReadMemStats, which stops the world.
	ReadMemStats Method = "readmemstats"
	// MetricsRead calls runtime/metrics.Read for the metrics a Sampler reads
	// (cycles, pauses, heap, stacks, CPU classes, goroutines), into reused
	// samples. It does not stop the world.
	MetricsRead Method = "metrics"
	// HeapProfile writes a heap profile (pprof.Lookup("heap"), as
	// /debug/pprof/heap serves it) to io.Discard: it walks every sampled
	// allocation site, symbolizes and compresses.
	HeapProfile Method = "heapprofile"
)

// Methods lists every Method, cheapest first as the doc predicts (a new
// slice each call).
func Methods() []Method { return []Method{MetricsRead, ReadMemStats, HeapProfile} }

// Looker makes one kind of look, reusing its buffers between looks.
type Looker struct {
	look func() error
}

// NewLooker returns a Looker for method m.
func NewLooker(m Method) (*Looker, error) {
	switch m {
	case ReadMemStats:
		ms := new(runtime.MemStats)
		return &Looker{func() error { runtime.ReadMemStats(ms); return nil }}, nil
	case MetricsRead:
		names := []string{
			rtmetrics.GCCycles, rtmetrics.GCPauses, rtmetrics.HeapLive, rtmetrics.HeapObjects,
			rtmetrics.HeapGoal, rtmetrics.HeapAllocs, rtmetrics.HeapAllocObj, rtmetrics.StackBytes,
			rtmetrics.ScanStack, rtmetrics.ScanHeap, rtmetrics.GCCPU, rtmetrics.TotalCPU,
			rtmetrics.Goroutines, rtmetrics.TotalMemory,
		}
		samples := make([]metrics.Sample, len(names))
		for i, n := range names {
			samples[i].Name = n
		}
		return &Looker{func() error { metrics.Read(samples); return nil }}, nil
	case HeapProfile:
		p := pprof.Lookup("heap")
		return &Looker{func() error { return p.WriteTo(io.Discard, 0) }}, nil
	}
	return nil, fmt.Errorf("gc: method %q unknown: want %q, %q or %q", m, ReadMemStats, MetricsRead, HeapProfile)
}

// Look makes one look.
func (l *Looker) Look() error { return l.look() }

// Latency summarises the durations of repeated calls.
type Latency struct {
	Calls         int
	P50, P99, Max time.Duration
}

// Summarize returns the latency of the calls that took d (nearest-rank
// quantiles). It sorts d.
func Summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	return Latency{Calls: len(d), P50: quantile.Sorted(d, 0.50), P99: quantile.Sorted(d, 0.99), Max: d[len(d)-1]}
}

// Observe makes calls looks with method m, back to back, while a Churner
// churns a heap of shape churn on another goroutine, and returns their
// latency.
func Observe(m Method, calls int, churn Shape) (Latency, error) {
	if calls <= 0 {
		return Latency{}, fmt.Errorf("gc: calls %d must be > 0", calls)
	}
	l, err := NewLooker(m)
	if err != nil {
		return Latency{}, err
	}
	c, err := StartChurn(churn)
	if err != nil {
		return Latency{}, err
	}
	defer c.Stop()
	d := make([]time.Duration, 0, calls)
	for range calls {
		t0 := time.Now()
		if err := l.Look(); err != nil {
			return Latency{}, fmt.Errorf("gc: %s: %w", m, err)
		}
		d = append(d, time.Since(t0))
	}
	return Summarize(d), nil
}

// Churner churns a Heap on its own goroutine until Stop: a workload to
// measure beside.
type Churner struct {
	stop chan struct{}
	done chan int64
}

// churnStep is the work between two checks for Stop.
const churnStep = 64 << 10

// StartChurn builds a heap of shape s (Alloc is ignored) and churns it on a
// new goroutine.
func StartChurn(s Shape) (*Churner, error) {
	h, err := NewHeap(s)
	if err != nil {
		return nil, err
	}
	c := &Churner{stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		var n int64
		defer func() { h.Release(); c.done <- n }()
		for {
			select {
			case <-c.stop:
				return
			default:
				h.Churn(churnStep)
				n += churnStep
			}
		}
	}()
	return c, nil
}

// Stop ends the churn, releases its heap and returns the bytes it churned.
// Call it once.
func (c *Churner) Stop() int64 {
	close(c.stop)
	return <-c.done
}
