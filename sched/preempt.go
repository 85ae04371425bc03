package sched

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/rtlab/rtlab/internal/quantile"
)

// PreemptConfig sets up the preemption experiment. The zero value means a
// 200 ms loop, a 1 ms timer and Go's default asynchronous preemption.
type PreemptConfig struct {
	Loop time.Duration // how long the call-free loop runs; 200 ms if 0
	Tick time.Duration // the period the other goroutine asks a timer for; 1 ms if 0
	// AsyncPreemptOff runs the child with GODEBUG=asyncpreemptoff=1, the
	// scheduler of Go before 1.14: a loop without calls cannot be stopped.
	AsyncPreemptOff bool
}

// PreemptResult is how late the timers fired while the loop ran.
type PreemptResult struct {
	GOMAXPROCS      int           // in the process that measured
	AsyncPreemptOff bool          // true if measured with asyncpreemptoff=1
	Loop            time.Duration // how long the loop actually ran
	Tick            time.Duration
	Ticks           int           // timer wake-ups that overlapped the loop
	P50Delay        time.Duration // median lateness of those wake-ups
	MaxDelay        time.Duration // largest lateness
	// MaxGap is the longest time between two consecutive wake-ups around
	// the loop. When nothing can interrupt the loop it is at least Loop.
	MaxGap time.Duration
}

// String summarizes r on one line: "preempt asyncpreempt=on
// GOMAXPROCS=1: loop 200.01ms, 12 ticks, p50 delay 19.22ms, max 19.9ms, max
// gap 20.93ms".
func (r PreemptResult) String() string {
	on := "on"
	if r.AsyncPreemptOff {
		on = "off"
	}
	return fmt.Sprintf("preempt asyncpreempt=%s GOMAXPROCS=%d: loop %v, %d ticks, p50 delay %v, max %v, max gap %v",
		on, r.GOMAXPROCS, round(r.Loop), r.Ticks, round(r.P50Delay), round(r.MaxDelay), round(r.MaxGap))
}

// round rounds a delay for a summary line: to 10 µs, which keeps three or
// four digits of the delays these experiments see.
func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

const (
	defaultLoop = 200 * time.Millisecond
	defaultTick = time.Millisecond
	warmupTicks = 5
)

var preemptChild = child.RegisterJSON("sched.preempt", measurePreempt)

// Preempt runs the preemption experiment in a child process with
// GOMAXPROCS=1, so that the loop and the timer goroutine share one P: one
// goroutine spins in a loop with no function calls for cfg.Loop while the
// other sleeps for cfg.Tick over and over and records how late it wakes.
//
// With asynchronous preemption (the default since Go 1.14) the runtime
// interrupts the loop with a signal once it has run for its time slice
// (10 ms, noticed by sysmon, so 10-20 ms), and the delays stay near that.
// With AsyncPreemptOff the timer goroutine cannot run until the loop ends:
// one wake-up is late by about the whole loop.
func Preempt(ctx context.Context, cfg PreemptConfig) (PreemptResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return PreemptResult{}, err
	}
	env := []string{"GOMAXPROCS=1", child.GODEBUG(child.Flag("asyncpreemptoff", cfg.AsyncPreemptOff))}
	return runChild(ctx, preemptChild, cfg, env, 30*time.Second+4*cfg.Loop)
}

// PreemptEventLoop runs the same experiment on a Loop, in this process: a
// timer re-armed every cfg.Tick records its lateness while one macrotask
// runs the call-free loop for cfg.Loop. A run-to-completion loop has no way
// to interrupt a task, so the timer due during the task is late by about the
// task's whole length, whatever GOMAXPROCS is. AsyncPreemptOff is ignored.
// The Loop runs with ctx, which it checks between tasks.
func PreemptEventLoop(ctx context.Context, cfg PreemptConfig) (PreemptResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return PreemptResult{}, err
	}
	n := calibrate(cfg.Loop)
	var (
		l      Loop
		rec    = newTickRecorder(cfg)
		ts, te time.Time
		done   bool
		tickFn func()
	)
	arm := func() {
		due := time.Now().Add(cfg.Tick)
		l.SetTimeout(cfg.Tick, func() { rec.add(due, time.Now()); tickFn() })
	}
	tickFn = func() {
		if done {
			return
		}
		if len(rec.ticks) == warmupTicks {
			l.Post(func() {
				ts = time.Now()
				sinkStore(spin(n, uint64(ts.UnixNano())|1))
				te = time.Now()
				done = true
			})
		}
		arm()
	}
	arm()
	if err := l.Run(ctx); err != nil {
		return PreemptResult{}, err
	}
	res := rec.summary(ts, te)
	res.GOMAXPROCS = runtime.GOMAXPROCS(0)
	res.AsyncPreemptOff = asyncPreemptOff()
	return res, nil
}

func (c PreemptConfig) withDefaults() (PreemptConfig, error) {
	if c.Loop == 0 {
		c.Loop = defaultLoop
	}
	if c.Tick == 0 {
		c.Tick = defaultTick
	}
	switch {
	case c.Loop < 0:
		return c, fmt.Errorf("sched: PreemptConfig.Loop %v must be > 0", c.Loop)
	case c.Tick < 0:
		return c, fmt.Errorf("sched: PreemptConfig.Tick %v must be > 0", c.Tick)
	case c.Loop > time.Minute:
		return c, fmt.Errorf("sched: PreemptConfig.Loop %v is longer than a minute; use a shorter one", c.Loop)
	case c.Tick*10 > c.Loop:
		return c, fmt.Errorf("sched: PreemptConfig.Tick %v must be at most a tenth of PreemptConfig.Loop %v", c.Tick, c.Loop)
	}
	return c, nil
}

// measurePreempt is the experiment itself, run in the child. With
// GOMAXPROCS=1, once the ticker has fired a few times this goroutine gets
// the P while the ticker sleeps, so the timer the ticker waits for falls due
// during the loop.
func measurePreempt(cfg PreemptConfig) (PreemptResult, error) {
	n := calibrate(cfg.Loop)
	rec := newTickRecorder(cfg)
	var (
		stop    uint32 // atomic: see the comment after the loop
		warm    = make(chan struct{})
		stopped = make(chan struct{})
		once    sync.Once
		seen    time.Time // when the ticker first saw the loop ended
	)
	go func() {
		defer close(stopped)
		for {
			due := time.Now().Add(cfg.Tick)
			// Release the loop only once this tick's due time is read:
			// if the ticker is preempted before it sleeps, the loop runs
			// first and this tick, due before the loop began, wakes after
			// it, so exactly one tick still overlaps the loop.
			if len(rec.ticks) >= warmupTicks {
				once.Do(func() { close(warm) })
			}
			time.Sleep(cfg.Tick)
			ended := atomic.LoadUint32(&stop) == 1 // before the clock: then woke is after the loop
			woke := time.Now()
			rec.add(due, woke)
			if ended {
				seen = woke
				return
			}
		}
	}()
	<-warm
	ts := time.Now()
	x := spin(n, uint64(ts.UnixNano())|1)
	// No call with a preemption check between spin and the store (the
	// atomic function, unlike the atomic.Bool method, stays check-free under
	// -race too): with asynchronous preemption off the ticker cannot run
	// before it. The calls after it can yield (the goroutine was marked for
	// preemption during the loop) and let the ticker run first, so the loop
	// end is whichever of the two clocks read it first.
	atomic.StoreUint32(&stop, 1)
	te := time.Now()
	sinkStore(x)
	<-stopped
	if seen.Before(te) {
		te = seen
	}
	res := rec.summary(ts, te)
	res.GOMAXPROCS = runtime.GOMAXPROCS(0)
	res.AsyncPreemptOff = asyncPreemptOff()
	return res, nil
}

// tickRecorder keeps the due and wake-up times of timer ticks in a slice
// allocated up front: with asynchronous preemption off, a GC started during
// the loop would wait for the loop too and blur what is measured.
type tickRecorder struct {
	tick  time.Duration
	ticks []tickTimes
}

type tickTimes struct{ due, woke time.Time }

func newTickRecorder(cfg PreemptConfig) *tickRecorder {
	n := 4*int(cfg.Loop/cfg.Tick) + 4*warmupTicks + 64
	return &tickRecorder{tick: cfg.Tick, ticks: make([]tickTimes, 0, n)}
}

func (r *tickRecorder) add(due, woke time.Time) {
	if len(r.ticks) < cap(r.ticks) {
		r.ticks = append(r.ticks, tickTimes{due, woke})
	}
}

// summary keeps the wake-ups that overlap the loop [ts, te]: due before it
// ended and woken after it began.
func (r *tickRecorder) summary(ts, te time.Time) PreemptResult {
	res := PreemptResult{Loop: te.Sub(ts), Tick: r.tick}
	var delays []time.Duration
	for i, t := range r.ticks {
		if t.woke.Before(ts) || t.due.After(te) {
			continue
		}
		delays = append(delays, t.woke.Sub(t.due))
		if i > 0 {
			res.MaxGap = max(res.MaxGap, t.woke.Sub(r.ticks[i-1].woke))
		}
	}
	res.Ticks = len(delays)
	slices.Sort(delays)
	res.P50Delay = quantile.Sorted(delays, 0.5)
	res.MaxDelay = quantile.Sorted(delays, 1)
	return res
}

// spin runs n rounds of xorshift: no calls, no memory traffic, nothing the
// compiler could turn into a preemption point. Before Go 1.14 (and with
// asyncpreemptoff=1) such a loop could not be preempted at all.
//
//go:noinline
func spin(n, x uint64) uint64 {
	for i := uint64(0); i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// sink keeps spin's result alive so the loop is not optimised away.
var sink atomic.Uint64

func sinkStore(x uint64) { sink.Store(x) }

// calibrate returns the number of spin rounds that take about d on this
// machine: it doubles a trial until it takes 5 ms, then scales the fastest of
// three trials.
func calibrate(d time.Duration) uint64 {
	n := uint64(1 << 14)
	for {
		best := time.Duration(1<<63 - 1)
		for range 3 {
			t0 := time.Now()
			sinkStore(spin(n, n|1))
			best = min(best, time.Since(t0))
		}
		if best >= 5*time.Millisecond || best >= d {
			return max(1, uint64(float64(n)*float64(d)/float64(best)))
		}
		n *= 2
	}
}

// asyncPreemptOff reports whether this process runs with
// GODEBUG=asyncpreemptoff=1, reading the last setting of the key.
func asyncPreemptOff() bool {
	off := false
	for kv := range strings.SplitSeq(os.Getenv("GODEBUG"), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == "asyncpreemptoff" {
			off = v == "1"
		}
	}
	return off
}
