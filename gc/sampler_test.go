package gc

import (
	"bytes"
	"encoding/csv"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSamplerSeries checks the series is ordered and complete: the first
// sample at start, the last at Stop, times strictly increasing, never more
// samples than ticks allow, cumulative counts never going back, every field
// read, and one CSV row per sample holding the same values.
func TestSamplerSeries(t *testing.T) {
	var buf bytes.Buffer
	runtime.GC() // heap live is 0 until the first cycle ends
	c, err := StartChurn(Shape{Live: 1 << 20, Survival: 0.2, PointerDensity: DensityHigh})
	require.NoError(t, err)
	before := time.Now()
	s, err := StartSampler(2*time.Millisecond, &buf)
	require.NoError(t, err)
	time.Sleep(60 * time.Millisecond)
	series, err := s.Stop()
	after := time.Now()
	c.Stop()
	require.NoError(t, err)

	again, err := s.Stop()
	require.NoError(t, err)
	assert.Equal(t, series, again, "Stop is idempotent")

	n := len(series.Samples)
	require.GreaterOrEqual(t, n, 2, "a start and a stop sample")
	assert.LessOrEqual(t, n, int(series.Elapsed()/series.Interval)+2, "no more samples than ticks")
	assert.False(t, series.Samples[0].Time.Before(before))
	assert.False(t, series.Samples[n-1].Time.After(after))
	for i, x := range series.Samples {
		assert.Positive(t, x.RSS, "sample %d", i)
		assert.GreaterOrEqual(t, x.VSS, x.RSS, "sample %d", i)
		assert.Positive(t, x.HeapLive, "sample %d", i)
		assert.Positive(t, x.HeapGoal, "sample %d", i)
		assert.Positive(t, x.Stacks, "sample %d", i)
		assert.GreaterOrEqual(t, x.Goroutines, uint64(3), "sample %d: test, churner, sampler", i)
		if i > 0 {
			p := series.Samples[i-1]
			assert.True(t, x.Time.After(p.Time), "sample %d not after %d", i, i-1)
			assert.GreaterOrEqual(t, x.GCCycles, p.GCCycles, "sample %d", i)
		}
	}
	assert.Zero(t, series.Samples[0].LastPause)
	assert.Positive(t, series.Busy)
	assert.Greater(t, series.Overhead(), 0.0)
	assert.Less(t, series.Overhead(), 1.0)

	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, n+1)
	assert.Equal(t, SampleHeader, rows[0])
	for i, x := range series.Samples {
		assert.Equal(t, strconv.FormatUint(x.HeapLive, 10), rows[i+1][3], "row %d", i+1)
		assert.Equal(t, strconv.FormatUint(x.GCCycles, 10), rows[i+1][7], "row %d", i+1)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSamplerErrors(t *testing.T) {
	_, err := StartSampler(0, nil)
	assert.ErrorContains(t, err, "gc: sampler: interval 0s")
	_, err = StartSampler(time.Millisecond, failWriter{})
	assert.ErrorContains(t, err, "disk full")
}

// A writer that fails after the header: sampling goes on, Stop reports it.
type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestSamplerWriteErrorKeepsSampling(t *testing.T) {
	s, err := StartSampler(time.Millisecond, &failAfter{n: 1})
	require.NoError(t, err)
	time.Sleep(5 * time.Millisecond)
	series, err := s.Stop()
	assert.ErrorContains(t, err, "sampler: writing CSV: disk full")
	assert.GreaterOrEqual(t, len(series.Samples), 2)
}
