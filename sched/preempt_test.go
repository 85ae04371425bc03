package sched

import (
	"context"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With asynchronous preemption off and one P, nothing can stop a call-free
// loop: the timer goroutine's wake-up waits for the whole loop.
func TestPreemptOffWaitsForWholeLoop(t *testing.T) {
	cfg := PreemptConfig{Loop: 100 * time.Millisecond, AsyncPreemptOff: true}
	res, err := Preempt(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, 1, res.GOMAXPROCS)
	assert.True(t, res.AsyncPreemptOff)
	assert.Positive(t, res.Loop)
	assert.Equal(t, 1, res.Ticks, "exactly one wake-up overlaps the loop")
	assert.GreaterOrEqual(t, res.MaxGap, res.Loop)
	// The timer was due at most one tick after the loop began.
	assert.GreaterOrEqual(t, res.MaxDelay, res.Loop-res.Tick)
}

// With asynchronous preemption on, sysmon preempts a goroutine that has run
// for 10 ms (runtime/proc.go, forcePreemptNS), so during a 100 ms loop the
// timer goroutine wakes more than the once it can with preemption off:
// two wake-ups tell on from off, and need only one preemption in 100 ms.
func TestPreemptOnRunsInChildWithOneP(t *testing.T) {
	res, err := Preempt(context.Background(), PreemptConfig{Loop: 100 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 1, res.GOMAXPROCS)
	assert.False(t, res.AsyncPreemptOff)
	assert.Equal(t, time.Millisecond, res.Tick)
	assert.GreaterOrEqual(t, res.Ticks, 2, "the loop was preempted at least once")
}

// A child killed at its context's deadline is reaped: nothing is left
// running (TestMain checks for child processes too).
func TestPreemptCancelledChildIsReaped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := Preempt(ctx, PreemptConfig{Loop: 30 * time.Second, AsyncPreemptOff: true})
	require.ErrorIs(t, err, child.ErrTimeout)
	assert.ErrorContains(t, err, "sched: child: sched.preempt")
	assert.Empty(t, childPIDs())
}

func TestPreemptConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  PreemptConfig
		msg  string
	}{
		{"negative loop", PreemptConfig{Loop: -1}, "sched: PreemptConfig.Loop -1ns must be > 0"},
		{"negative tick", PreemptConfig{Tick: -1}, "sched: PreemptConfig.Tick -1ns must be > 0"},
		{"long loop", PreemptConfig{Loop: time.Hour}, "sched: PreemptConfig.Loop 1h0m0s is longer than a minute"},
		{"coarse tick", PreemptConfig{Loop: 10 * time.Millisecond, Tick: 5 * time.Millisecond}, "sched: PreemptConfig.Tick 5ms must be at most a tenth of PreemptConfig.Loop 10ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Preempt(context.Background(), tc.cfg)
			assert.ErrorContains(t, err, tc.msg)
			_, err = PreemptEventLoop(context.Background(), tc.cfg)
			assert.ErrorContains(t, err, tc.msg)
		})
	}
}

// The event-loop variant stops with its context, between two tasks.
func TestPreemptEventLoopCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := PreemptEventLoop(ctx, PreemptConfig{Loop: 10 * time.Millisecond})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestPreemptString(t *testing.T) {
	r := PreemptResult{GOMAXPROCS: 1, AsyncPreemptOff: true, Loop: 200 * time.Millisecond, Ticks: 1,
		P50Delay: 199123456, MaxDelay: 199123456, MaxGap: 201 * time.Millisecond}
	assert.Equal(t, "preempt asyncpreempt=off GOMAXPROCS=1: loop 200ms, 1 ticks, p50 delay 199.12ms, max 199.12ms, max gap 201ms", r.String())
	r.AsyncPreemptOff = false
	assert.Contains(t, r.String(), "preempt asyncpreempt=on ")
}

func TestAsyncPreemptOffReadsLastSetting(t *testing.T) {
	for _, tc := range []struct {
		godebug string
		off     bool
	}{
		{"", false},
		{"asyncpreemptoff=1", true},
		{"gctrace=1,asyncpreemptoff=1", true},
		{"asyncpreemptoff=1,asyncpreemptoff=0", false},
	} {
		t.Run(tc.godebug, func(t *testing.T) {
			t.Setenv("GODEBUG", tc.godebug)
			assert.Equal(t, tc.off, asyncPreemptOff())
		})
	}
}
