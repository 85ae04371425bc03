package sched

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoopDrainsMicrotasksBeforeNextMacrotask(t *testing.T) {
	var l Loop
	var got []string
	log := func(s string) func() { return func() { got = append(got, s) } }
	l.Microtask(log("script-micro")) // queued by the "script" before Run
	l.Post(func() {
		got = append(got, "A")
		l.Post(log("C")) // behind B
		l.Microtask(func() {
			got = append(got, "A-micro1")
			l.Microtask(log("A-micro1-micro")) // queued while draining: still before B
		})
		l.Microtask(log("A-micro2"))
	})
	l.Post(func() {
		got = append(got, "B")
		l.Microtask(log("B-micro"))
	})
	require.NoError(t, l.Run(context.Background()))
	assert.Equal(t, []string{
		"script-micro",
		"A", "A-micro1", "A-micro2", "A-micro1-micro",
		"B", "B-micro",
		"C",
	}, got)
	tasks, micro, timers := l.Pending()
	assert.Zero(t, tasks+micro+timers)
}

func TestLoopTimersRunInDeadlineOrderAfterQueuedTasks(t *testing.T) {
	var l Loop
	var got []string
	log := func(s string) func() { return func() { got = append(got, s) } }
	start := time.Now()
	fired := map[string]time.Duration{}
	type deadline struct {
		name string
		when time.Time
	}
	var set []deadline // in the order set: ties on when go by that order
	setTimeout := func(name string, d time.Duration) {
		id := l.SetTimeout(d, func() {
			fired[name] = time.Since(start)
			got = append(got, name)
			l.Microtask(log(name + "-micro"))
		})
		set = append(set, deadline{name, l.active[id].when})
	}
	setTimeout("t20", 20*time.Millisecond)
	setTimeout("t10", 10*time.Millisecond)
	setTimeout("t0a", 0)
	setTimeout("t0b", -time.Second) // negative counts as 0, set after t0a
	l.Post(log("task"))             // queued before any timer is due
	require.NoError(t, l.Run(context.Background()))

	// Each SetTimeout reads the clock when called, so a stall between two
	// calls moves the later deadlines: the expected order is that of the
	// deadlines the loop holds (t0a, t0b, t10, t20 unless a call stalled
	// over 10 ms), each timer's microtask right after it.
	slices.SortStableFunc(set, func(a, b deadline) int { return a.when.Compare(b.when) })
	want := []string{"task"}
	for _, d := range set {
		want = append(want, d.name, d.name+"-micro")
	}
	assert.Equal(t, want, got)
	// A timer never fires early.
	assert.GreaterOrEqual(t, fired["t10"], 10*time.Millisecond)
	assert.GreaterOrEqual(t, fired["t20"], 20*time.Millisecond)
}

func TestLoopClearTimeout(t *testing.T) {
	var l Loop
	var got []string
	var due TimerID
	l.Post(func() {
		got = append(got, "clear")
		l.ClearTimeout(due) // already due and queued behind this task
	})
	due = l.SetTimeout(0, func() { got = append(got, "due") })
	late := l.SetTimeout(time.Hour, func() { got = append(got, "late") })
	l.SetTimeout(time.Millisecond, func() { got = append(got, "kept") })
	l.ClearTimeout(late)
	l.ClearTimeout(late) // twice is harmless
	_, _, timers := l.Pending()
	assert.Equal(t, 2, timers)
	require.NoError(t, l.Run(context.Background())) // does not wait an hour
	assert.Equal(t, []string{"clear", "kept"}, got)
}

func TestLoopRunErrors(t *testing.T) {
	var l Loop
	var inner error
	l.Post(func() { inner = l.Run(context.Background()) })
	require.NoError(t, l.Run(context.Background()))
	assert.ErrorIs(t, inner, ErrLoopRunning)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	ran := false
	l.SetTimeout(time.Hour, func() { ran = true })
	assert.ErrorIs(t, l.Run(ctx), context.DeadlineExceeded)
	assert.False(t, ran)
	_, _, timers := l.Pending()
	assert.Equal(t, 1, timers, "the timer stays queued for a later Run")
}

// A run-to-completion loop cannot run a timer during a task: the timer due
// during the long task waits for all of it.
func TestPreemptEventLoopDelaysTimerByWholeTask(t *testing.T) {
	cfg := PreemptConfig{Loop: 50 * time.Millisecond, Tick: time.Millisecond}
	res, err := PreemptEventLoop(context.Background(), cfg)
	require.NoError(t, err)
	assert.Positive(t, res.Loop)
	assert.Equal(t, 1, res.Ticks, "exactly one wake-up overlaps the task")
	assert.GreaterOrEqual(t, res.MaxGap, res.Loop)
	assert.GreaterOrEqual(t, res.MaxDelay, res.Loop-res.Tick)
	assert.Equal(t, res.MaxDelay, res.P50Delay)
}
