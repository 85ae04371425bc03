package gc

import (
	"runtime"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/rtmetrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObserve(t *testing.T) {
	for _, m := range Methods() {
		t.Run(string(m), func(t *testing.T) {
			lat, err := Observe(m, 20, Shape{Live: 1 << 20, Survival: 0.2, PointerDensity: PtrsLow})
			require.NoError(t, err)
			assert.Equal(t, 20, lat.Calls)
			assert.Positive(t, lat.P50) // the order of the quantiles is TestSummarize's
		})
	}
}

func TestObserveErrors(t *testing.T) {
	_, err := Observe("peek", 1, Shape{Live: 1 << 20})
	assert.ErrorContains(t, err, `gc: method "peek" unknown`)
	_, err = Observe(MetricsRead, 0, Shape{Live: 1 << 20})
	assert.ErrorContains(t, err, "gc: calls 0")
	_, err = Observe(MetricsRead, 1, Shape{})
	assert.ErrorContains(t, err, "gc: Shape.Live 0")
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

// TestChurnerStops waits until the churner has allocated a few steps (the
// process's allocation counter, not a sleep, so a loaded machine only makes
// it slower), then checks Stop counts whole steps and ends the goroutine.
func TestChurnerStops(t *testing.T) {
	before := rtmetrics.Uint64(rtmetrics.HeapAllocs)
	c, err := StartChurn(Shape{Live: 1 << 20, Survival: 0.5})
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Stop()
		}
	})
	for rtmetrics.Uint64(rtmetrics.HeapAllocs)-before < 1<<20+4*churnStep {
		runtime.Gosched()
	}
	n := c.Stop()
	stopped = true
	assert.GreaterOrEqual(t, n, int64(churnStep))
	assert.Zero(t, n%churnStep, "whole steps")
	// goleak (TestMain) fails the package if the goroutine outlived Stop.
}
