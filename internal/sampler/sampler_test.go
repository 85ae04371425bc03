package sampler

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartRejectsBadInterval(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		_, err := Start(d, nil)
		require.ErrorContains(t, err, "sampler: interval")
	}
}

func TestSeries(t *testing.T) {
	var out bytes.Buffer
	s, err := Start(5*time.Millisecond, &out)
	require.NoError(t, err)
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	ser, err := s.Stop()
	require.NoError(t, err)
	again, _ := s.Stop()
	assert.Equal(t, len(ser.Samples), len(again.Samples), "Stop twice returns the same series")

	require.GreaterOrEqual(t, len(ser.Samples), 2, "a first sample at Start and a last at Stop")
	assert.Equal(t, 5*time.Millisecond, ser.Interval)
	first, last := ser.Samples[0], ser.Samples[len(ser.Samples)-1]
	assert.GreaterOrEqual(t, last.GCCycles, first.GCCycles+3, "three forced GCs are counted")
	// Each forced GC stops the world twice; a later sample holds the pause
	// and the first, which only sets the baseline, none.
	assert.Zero(t, first.LastPause)
	var paused int
	for _, x := range ser.Samples[1:] {
		if x.LastPause > 0 {
			paused++
		}
	}
	assert.Positive(t, paused, "the forced GCs' pauses are seen")
	for i, x := range ser.Samples {
		assert.Positive(t, x.Goroutines, "sample %d", i)
		assert.Positive(t, x.Stacks, "sample %d", i)
		if runtime.GOOS == "linux" {
			assert.Positive(t, x.RSS, "sample %d", i)
			assert.GreaterOrEqual(t, x.VSS, x.RSS, "sample %d", i)
		}
		if i > 0 {
			assert.False(t, x.Time.Before(ser.Samples[i-1].Time), "samples in time order")
		}
	}
	assert.Equal(t, last.Time.Sub(first.Time), ser.Elapsed())
	assert.GreaterOrEqual(t, ser.PeakRSS(), first.RSS)
	assert.GreaterOrEqual(t, ser.Overhead(), 0.0)
	assert.Positive(t, ser.Busy)
	if runtime.GOOS == "linux" {
		assert.Positive(t, ser.CPU, "the sampler thread's CPU time")
	}
	assert.Less(t, ser.Overhead(), 1.0)

	rows, err := csv.NewReader(&out).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, len(ser.Samples)+1, "header plus one row per sample")
	assert.Equal(t, Header, rows[0])
	for _, r := range rows[1:] {
		assert.Len(t, r, len(Header))
	}
}

// TestStatmMatchesProcmem checks the cheap RSS and VSS read agrees with
// internal/procmem's /proc/self/status read. Both are kernel counters of
// the same pages, read a moment apart: 5% covers what the process maps or
// touches in between, and for RSS at least two folds of the kernel's
// per-CPU counters into the total (procmem.RSSBatch), which on many CPUs
// can be more than 5% of a small test process.
func TestStatmMatchesProcmem(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux only")
	}
	rss, vss, err := readStatm()
	require.NoError(t, err)
	pm, err := procmem.Self()
	require.NoError(t, err)
	assert.InDelta(t, float64(pm.RSS), float64(rss), max(0.05*float64(pm.RSS), float64(2*procmem.RSSBatch())))
	assert.InEpsilon(t, float64(pm.VSS), float64(vss), 0.05)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestCSVWriteError(t *testing.T) {
	_, err := Start(time.Millisecond, failWriter{})
	require.ErrorContains(t, err, "disk full")
}

// The sampler runs beside a workload; Stop returns what it saw.
func Example() {
	s, err := Start(10*time.Millisecond, nil)
	if err != nil {
		panic(err)
	}
	buf := make([][]byte, 0, 64)
	for range 64 {
		buf = append(buf, make([]byte, 64<<10))
	}
	runtime.KeepAlive(buf)
	ser, err := s.Stop()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(ser.Samples) >= 2, ser.Samples[len(ser.Samples)-1].Goroutines > 0)
	// Output: true true
}
