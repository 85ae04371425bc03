package sched

import (
	"container/heap"
	"context"
	"errors"
	"time"
)

// Loop is a single-threaded, run-to-completion event loop in the JavaScript
// model, written to compare with goroutines and small enough to read in a
// class.
//
// It has three sources of work:
//   - macrotasks (Post), run one at a time in FIFO order;
//   - microtasks (Microtask), all drained after every macrotask, including
//     those queued while draining, before the next macrotask starts (the
//     place of Promise callbacks and queueMicrotask);
//   - timers (SetTimeout), which become macrotasks once due, earliest
//     deadline first and, for equal deadlines, in the order they were set.
//
// Each iteration of Run moves the due timers to the macrotask queue, runs
// exactly one macrotask, then drains the microtasks. A task runs to completion:
// nothing else on the loop runs until it returns, so a long task delays every
// timer that falls due during it by up to its whole length (see
// PreemptEventLoop). There is no nested-timer clamping (browsers raise deeply
// nested timeouts to 4 ms).
//
// A Loop is not safe for concurrent use, just as a JavaScript realm is not:
// call its methods before Run or from tasks running on it. The zero Loop is
// ready to use.
type Loop struct {
	tasks   []task // macrotask FIFO from head
	head    int
	micro   []func()
	timers  timerHeap
	active  map[TimerID]*timer
	seq     uint64
	running bool
}

// TimerID names a timer set with SetTimeout, for ClearTimeout.
type TimerID uint64

type task struct {
	fn func()
	t  *timer // non-nil for a timer's task, which is skipped if cleared
}

type timer struct {
	id       TimerID
	when     time.Time
	seq      uint64
	fn       func()
	canceled bool
}

// ErrLoopRunning is returned by Run when it is called from a task of the same
// loop.
var ErrLoopRunning = errors.New("sched: Loop.Run called from a task already running on this loop")

// Post queues fn as a macrotask (like setTimeout(fn, 0) without the timer, or
// a message event).
func (l *Loop) Post(fn func()) {
	l.tasks = append(l.tasks, task{fn: fn})
}

// Microtask queues fn to run as soon as the current task (or microtask)
// returns, before any further macrotask or timer (like queueMicrotask).
func (l *Loop) Microtask(fn func()) {
	l.micro = append(l.micro, fn)
}

// SetTimeout arranges for fn to run as a macrotask once d has passed; a
// negative d counts as 0. Like its JavaScript namesake it guarantees only a
// lower bound: the callback runs after d, once the running task and the
// tasks queued before it have finished.
func (l *Loop) SetTimeout(d time.Duration, fn func()) TimerID {
	if l.active == nil {
		l.active = map[TimerID]*timer{}
	}
	l.seq++
	t := &timer{id: TimerID(l.seq), when: time.Now().Add(max(d, 0)), seq: l.seq, fn: fn}
	l.active[t.id] = t
	heap.Push(&l.timers, t)
	return t.id
}

// ClearTimeout cancels a timer that has not run yet, even if it is already
// due and waiting in the macrotask queue. Clearing an unknown or finished
// timer does nothing.
func (l *Loop) ClearTimeout(id TimerID) {
	if t, ok := l.active[id]; ok {
		t.canceled = true
		delete(l.active, id)
	}
}

// Pending reports the work still queued: macrotasks (including due timers
// moved to the queue), microtasks, and timers not yet due.
func (l *Loop) Pending() (tasks, microtasks, timers int) {
	return len(l.tasks) - l.head, len(l.micro), len(l.active) - l.dueQueued()
}

func (l *Loop) dueQueued() int {
	n := 0
	for _, t := range l.tasks[l.head:] {
		if t.t != nil && !t.t.canceled {
			n++
		}
	}
	return n
}

// Run runs the loop until no macrotask, microtask or timer is left, sleeping
// while only future timers remain. It returns nil when the work is done, the
// context's error if ctx ends first (queued work stays queued and a later Run
// continues it), or ErrLoopRunning if called from a task of this loop. A
// panic in a task propagates out of Run.
//
// Microtasks queued before Run are drained first, as the microtasks of a
// script run when the script (itself a task) ends.
func (l *Loop) Run(ctx context.Context) error {
	if l.running {
		return ErrLoopRunning
	}
	l.running = true
	defer func() { l.running = false }()
	l.drainMicrotasks()
	var wait *time.Timer
	defer func() {
		if wait != nil {
			wait.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.queueDue(time.Now())
		if l.head < len(l.tasks) {
			t := l.tasks[l.head]
			l.tasks[l.head] = task{}
			l.head++
			if l.head == len(l.tasks) {
				l.tasks, l.head = l.tasks[:0], 0
			}
			if t.t != nil {
				if t.t.canceled {
					continue
				}
				delete(l.active, t.t.id)
			}
			t.fn()
			l.drainMicrotasks()
			continue
		}
		next, ok := l.nextTimer()
		if !ok {
			return nil
		}
		d := time.Until(next)
		if wait == nil {
			wait = time.NewTimer(d)
		} else {
			wait.Reset(d)
		}
		select {
		case <-wait.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *Loop) drainMicrotasks() {
	// Index, not range: microtasks may queue more microtasks.
	for i := 0; i < len(l.micro); i++ {
		fn := l.micro[i]
		l.micro[i] = nil
		fn()
	}
	l.micro = l.micro[:0]
}

// queueDue moves every timer due at now to the macrotask queue, in deadline
// order.
func (l *Loop) queueDue(now time.Time) {
	for len(l.timers) > 0 && !l.timers[0].when.After(now) {
		t := heap.Pop(&l.timers).(*timer)
		if !t.canceled {
			l.tasks = append(l.tasks, task{fn: t.fn, t: t})
		}
	}
}

// nextTimer is the deadline of the earliest live timer, dropping cancelled
// ones from the top of the heap.
func (l *Loop) nextTimer() (time.Time, bool) {
	for len(l.timers) > 0 {
		if t := l.timers[0]; !t.canceled {
			return t.when, true
		}
		heap.Pop(&l.timers)
	}
	return time.Time{}, false
}

// timerHeap orders timers by deadline, then by the order they were set.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(*timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}
