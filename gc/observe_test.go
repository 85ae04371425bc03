package gc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObserve(t *testing.T) {
	for _, m := range Methods() {
		t.Run(string(m), func(t *testing.T) {
			lat, err := Observe(m, 20, Shape{Live: 1 << 20, Survival: 0.2, PointerDensity: PtrsLow})
			require.NoError(t, err)
			assert.Equal(t, 20, lat.Calls)
			assert.Positive(t, lat.P50)
			assert.LessOrEqual(t, lat.P50, lat.P99)
			assert.LessOrEqual(t, lat.P99, lat.Max)
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

func TestChurnerStops(t *testing.T) {
	c, err := StartChurn(Shape{Live: 1 << 20, Survival: 0.5})
	require.NoError(t, err)
	time.Sleep(5 * time.Millisecond)
	assert.Positive(t, c.Stop())
	// goleak (TestMain) fails the package if the goroutine outlived Stop.
}
