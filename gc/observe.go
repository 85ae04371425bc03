package gc

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rtlab/rtlab/internal/quantile"
	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// Method is a way of looking at the heap from inside the process.
type Method string

// The methods whose cost Observe measures, as the method= key of
// BenchmarkGCObserve names them.
const (
	// MethodReadMemStats calls runtime.ReadMemStats, which stops the world.
	MethodReadMemStats Method = "readmemstats"
	// MethodMetrics calls runtime/metrics.Read for the metrics a Sampler
	// reads (cycles, pauses, heap, stacks, CPU classes, goroutines), into
	// reused samples. It does not stop the world.
	MethodMetrics Method = "metrics"
	// MethodHeapProfile writes a heap profile (pprof.Lookup("heap"), as
	// /debug/pprof/heap serves it) to io.Discard: it walks every sampled
	// allocation site, symbolizes and compresses.
	MethodHeapProfile Method = "heapprofile"
)

// Methods lists every Method, cheapest first as the doc predicts (a new
// slice each call).
func Methods() []Method { return []Method{MethodMetrics, MethodReadMemStats, MethodHeapProfile} }

// String is "readmemstats", "metrics" or "heapprofile".
func (m Method) String() string { return string(m) }

// Looker makes one kind of look, reusing its buffers between looks.
type Looker struct {
	look func() error
}

// NewLooker returns a Looker for method m.
func NewLooker(m Method) (*Looker, error) {
	switch m {
	case MethodReadMemStats:
		ms := new(runtime.MemStats)
		return &Looker{func() error { runtime.ReadMemStats(ms); return nil }}, nil
	case MethodMetrics:
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
	case MethodHeapProfile:
		p := pprof.Lookup("heap")
		return &Looker{func() error { return p.WriteTo(io.Discard, 0) }}, nil
	}
	return nil, fmt.Errorf("gc: method %q unknown: want one of %v", m, Methods())
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

// ObserveConfig is one run of Observe. The zero value times a thousand
// runtime/metrics reads beside the churn of the zero Shape.
type ObserveConfig struct {
	Method Method // the way to look; "" means MethodMetrics
	Calls  int    // looks to time; 0 means 1000
	// Churn is the heap a Churner churns on another goroutine meanwhile;
	// its zero fields mean their defaults (Shape), and Alloc is ignored.
	Churn Shape
}

// ObserveResult is the latency of looks of one Method (P50 and P99 are the
// p50-ns and p99-ns of BenchmarkGCObserve).
type ObserveResult struct {
	Method Method
	Churn  Shape // defaults filled in
	Latency
}

// String is one line: the method, the churn and the latency.
func (r ObserveResult) String() string {
	return fmt.Sprintf("method=%v beside %v: %d calls, p50 %v, p99 %v, max %v",
		r.Method, r.Churn, r.Calls, r.P50, r.P99, r.Max)
}

// Observe makes cfg.Calls looks with cfg.Method, back to back, while a
// Churner churns a heap of shape cfg.Churn on another goroutine, and
// returns their latency. ctx is checked between looks.
func Observe(ctx context.Context, cfg ObserveConfig) (ObserveResult, error) {
	if cfg.Method == "" {
		cfg.Method = MethodMetrics
	}
	if cfg.Calls == 0 {
		cfg.Calls = 1000
	}
	if cfg.Calls < 0 {
		return ObserveResult{}, fmt.Errorf("gc: ObserveConfig.Calls %d must be > 0", cfg.Calls)
	}
	if !slices.Contains(Methods(), cfg.Method) {
		return ObserveResult{}, fmt.Errorf("gc: ObserveConfig.Method %q unknown: want one of %v", cfg.Method, Methods())
	}
	churn, err := cfg.Churn.withDefaults("ObserveConfig.Churn")
	if err != nil {
		return ObserveResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return ObserveResult{}, fmt.Errorf("gc: Observe: %w", err)
	}
	l, err := NewLooker(cfg.Method)
	if err != nil {
		return ObserveResult{}, err
	}
	c := startChurn(churn)
	defer c.Stop()
	d := make([]time.Duration, 0, cfg.Calls)
	for range cfg.Calls {
		if err := ctx.Err(); err != nil {
			return ObserveResult{}, fmt.Errorf("gc: Observe: %w", err)
		}
		t0 := time.Now()
		if err := l.Look(); err != nil {
			return ObserveResult{}, fmt.Errorf("gc: %s: %w", cfg.Method, err)
		}
		d = append(d, time.Since(t0))
	}
	return ObserveResult{Method: cfg.Method, Churn: churn, Latency: Summarize(d)}, nil
}

// Churner churns a Heap on its own goroutine until Stop: a workload to
// measure beside.
type Churner struct {
	stop    chan struct{}
	done    chan int64
	churned atomic.Int64 // bytes churned so far, step by step
}

// churnStep is the work between two checks for Stop.
const churnStep = 64 << 10

// StartChurn builds a heap of shape s (its zero fields meaning their
// defaults; Alloc is ignored) and churns it on a new goroutine.
func StartChurn(s Shape) (*Churner, error) {
	s, err := s.withDefaults("Shape")
	if err != nil {
		return nil, err
	}
	return startChurn(s), nil
}

// startChurn is StartChurn for a shape withDefaults has checked.
func startChurn(s Shape) *Churner {
	h := newHeap(s)
	c := &Churner{stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		defer func() { h.Release(); c.done <- c.churned.Load() }()
		for {
			select {
			case <-c.stop:
				return
			default:
				h.Churn(churnStep)
				c.churned.Add(churnStep)
			}
		}
	}()
	return c
}

// Stop ends the churn, releases its heap and returns the bytes it churned.
// Call it once.
func (c *Churner) Stop() int64 {
	close(c.stop)
	return <-c.done
}
