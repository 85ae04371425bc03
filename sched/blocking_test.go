package sched

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The experiment run in this process releases every reader and closes
// every pipe it opened.
func TestMeasureBlockingCleansUp(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("blocking pipes are unix only")
	}
	// A first run opens what the runtime opens once (the poller used by
	// timers), so the counts are taken after it.
	_, err := measureBlocking(BlockingConfig{Blocked: 1, Duration: time.Millisecond})
	require.NoError(t, err)
	fds, goroutines := procmem.OpenFDs(), runtime.NumGoroutine()
	res, err := measureBlocking(BlockingConfig{Blocked: 50, Duration: 20 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 50, res.Blocked)
	assert.Positive(t, res.Ticks)
	assert.Equal(t, fds, procmem.OpenFDs(), "every pipe closed")
	// A reader counts until its goroutine has finished exiting, just after
	// it signals it is done.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > goroutines && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines, "every reader returned")
}

// In a child of its own, each goroutine blocked in read(2) holds a thread.
func TestBlockingCostsAThreadEach(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("blocking pipes are unix only")
	}
	const n = 40
	res, err := Blocking(context.Background(), BlockingConfig{Blocked: n, Duration: 20 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, n, res.Blocked)
	require.GreaterOrEqual(t, res.InSyscall, uint64(n), "the readers reached the kernel")
	assert.Greater(t, res.Threads, uint64(n))
	assert.Positive(t, res.ThreadsCreated) // idle threads from start-up may serve a few readers
	assert.Positive(t, res.Ticks)
}

func TestBlockingString(t *testing.T) {
	r := BlockingResult{Blocked: 100, Threads: 105, ThreadsCreated: 101, Ticks: 190,
		P50Delay: 123456, P99Delay: 210 * time.Microsecond, MaxDelay: 450 * time.Microsecond}
	assert.Equal(t, "blocking 100 goroutines: 105 threads (101 created), p50 delay 120µs, p99 210µs, max 450µs over 190 ticks", r.String())
}

func TestBlockingErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg BlockingConfig
		msg string
	}{
		{BlockingConfig{Blocked: -1}, "sched: BlockingConfig.Blocked -1 must be in [0, 5000]"},
		{BlockingConfig{Blocked: 5001}, "sched: BlockingConfig.Blocked 5001 must be in [0, 5000]"},
		{BlockingConfig{Duration: -time.Second}, "sched: BlockingConfig.Duration -1s must be in (0, 1m]"},
		{BlockingConfig{Tick: -time.Second}, "sched: BlockingConfig.Tick -1s must be in (0, BlockingConfig.Duration 200ms]"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			_, err := Blocking(context.Background(), tc.cfg)
			assert.ErrorContains(t, err, tc.msg)
		})
	}
}
