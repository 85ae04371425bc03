package gc

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObserve(t *testing.T) {
	for _, m := range Methods() {
		t.Run(m.String(), func(t *testing.T) {
			r, err := Observe(t.Context(), ObserveConfig{Method: m, Calls: 20,
				Churn: Shape{Live: 1 << 20, Survival: 0.2, PointerDensity: DensityLow}})
			require.NoError(t, err)
			assert.Equal(t, m, r.Method)
			assert.Equal(t, 20, r.Calls)
			assert.Positive(t, r.P50) // the order of the quantiles is TestSummarize's
		})
	}
	r, err := Observe(t.Context(), ObserveConfig{Churn: Shape{Live: 1 << 20}})
	require.NoError(t, err)
	assert.Equal(t, MethodMetrics, r.Method, "the zero Method")
	assert.Equal(t, 1000, r.Calls, "zero Calls")
	assert.Equal(t, Shape{Live: 1 << 20, Alloc: 8 << 20}, r.Churn)
}

func TestObserveErrors(t *testing.T) {
	_, err := Observe(t.Context(), ObserveConfig{Method: "peek"})
	assert.ErrorContains(t, err, `gc: ObserveConfig.Method "peek" unknown`)
	_, err = Observe(t.Context(), ObserveConfig{Calls: -1})
	assert.ErrorContains(t, err, "gc: ObserveConfig.Calls -1")
	_, err = Observe(t.Context(), ObserveConfig{Churn: Shape{Live: 100}})
	assert.ErrorContains(t, err, "gc: ObserveConfig.Churn.Live 100")
	_, err = NewLooker("peek")
	assert.EqualError(t, err, `gc: method "peek" unknown: want one of [metrics readmemstats heapprofile]`)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = Observe(ctx, ObserveConfig{Churn: Shape{Live: 1 << 20}})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestObserveResultString(t *testing.T) {
	r := ObserveResult{Method: MethodMetrics, Churn: Shape{Live: 1 << 20, Survival: 0.2, PointerDensity: DensityHigh},
		Latency: Latency{Calls: 100, P50: time.Microsecond, P99: 3 * time.Microsecond, Max: 9 * time.Microsecond}}
	assert.Equal(t, "method=metrics beside live=1048576/survival=0.2/ptrs=high: 100 calls, p50 1µs, p99 3µs, max 9µs", r.String())
	assert.Equal(t, "heapprofile", MethodHeapProfile.String())
	assert.Equal(t, []Method{MethodMetrics, MethodReadMemStats, MethodHeapProfile}, Methods())
}

func TestSummarize(t *testing.T) {
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(100 - i) // unsorted: 100..1
	}
	assert.Equal(t, Latency{Calls: 100, P50: 50, P99: 99, Max: 100}, Summarize(d))
	assert.Equal(t, Latency{Calls: 1, P50: 7, P99: 7, Max: 7}, Summarize([]time.Duration{7}))
	assert.Equal(t, Latency{}, Summarize(nil))
}

// TestChurnerStops waits until the churner has churned a few steps (its
// own count, not a sleep, so a loaded machine only makes it slower), then
// checks Stop counts whole steps and ends the goroutine. Waiting on the
// process's allocation counter instead failed once under load: other
// allocations reached the mark before the churner's first step.
func TestChurnerStops(t *testing.T) {
	c, err := StartChurn(Shape{Live: 1 << 20, Survival: 0.5})
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Stop()
		}
	})
	for c.churned.Load() < 4*churnStep {
		runtime.Gosched()
	}
	n := c.Stop()
	stopped = true
	assert.GreaterOrEqual(t, n, int64(4*churnStep))
	assert.Zero(t, n%churnStep, "whole steps")
	// goleak (TestMain) fails the package if the goroutine outlived Stop.
}
