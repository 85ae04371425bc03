package sched

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/internal/quantile"
	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// BlockingConfig sets up the blocking experiment. The zero value is the
// baseline: no goroutine blocked, a 1 ms tick measured for 200 ms.
type BlockingConfig struct {
	Blocked  int           // goroutines blocked in a read(2) on a pipe; 0 is the baseline
	Duration time.Duration // how long the ticking goroutine measures; 200 ms if 0
	Tick     time.Duration // its period; 1 ms if 0
}

// BlockingResult is what the runtime did while the goroutines were blocked.
type BlockingResult struct {
	Blocked int
	// InSyscall is the runtime's count of goroutines in a system call when
	// the ticking started (/sched/goroutines/not-in-go): about Blocked.
	InSyscall uint64
	// Threads is the number of live OS threads owned by the runtime at the
	// end of the ticking (/sched/threads/total): about Blocked plus a few,
	// one thread per goroutine stuck in the kernel.
	Threads uint64
	// ThreadsCreated is the count of the threadcreate profile over the
	// experiment: threads started to keep the Ps busy.
	ThreadsCreated int
	Ticks          int
	P50Delay       time.Duration // lateness of the ticking goroutine's timers
	P99Delay       time.Duration
	MaxDelay       time.Duration
}

// String summarizes r on one line: "blocking 100 goroutines: 105 threads
// (101 created), p50 delay 120µs, p99 210µs, max 450µs over 190 ticks".
func (r BlockingResult) String() string {
	return fmt.Sprintf("blocking %d goroutines: %d threads (%d created), p50 delay %v, p99 %v, max %v over %d ticks",
		r.Blocked, r.Threads, r.ThreadsCreated, round(r.P50Delay), round(r.P99Delay), round(r.MaxDelay), r.Ticks)
}

const (
	maxBlocked       = 5000
	notInGoMetric    = "/sched/goroutines/not-in-go:goroutines"
	threadsMetric    = "/sched/threads/total:threads"
	blockedSettleMax = 5 * time.Second
)

var blockingChild = child.RegisterJSON("sched.blocking", measureBlocking)

// Blocking runs the blocking experiment in a child process, so the thread
// figures are its own and the threads it leaves behind die with it: cfg.
// Blocked goroutines each block in a read(2) on their own pipe, a direct
// system call that holds its thread in the kernel, while another goroutine
// asks for a timer every cfg.Tick and records how late it fires.
//
// The scheduler takes the P away from a thread stuck in a system call and
// hands it to another thread, so the blocked goroutines cost threads (about
// one each) but not latency: the ticking goroutine's delays stay where they
// are with none blocked. In JavaScript a blocking read would stop the whole
// loop, which is why its I/O is asynchronous only.
func Blocking(ctx context.Context, cfg BlockingConfig) (BlockingResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return BlockingResult{}, err
	}
	return runChild(ctx, blockingChild, cfg, nil, time.Minute+2*cfg.Duration)
}

func (c BlockingConfig) withDefaults() (BlockingConfig, error) {
	if c.Duration == 0 {
		c.Duration = defaultLoop
	}
	if c.Tick == 0 {
		c.Tick = defaultTick
	}
	fit, why := procmem.FitFDs(c.Blocked, 2, 0, "pipes")
	switch {
	case c.Blocked < 0 || c.Blocked > maxBlocked:
		return c, fmt.Errorf("sched: BlockingConfig.Blocked %d must be in [0, %d] (each costs a thread and two file descriptors)", c.Blocked, maxBlocked)
	case fit < c.Blocked:
		return c, fmt.Errorf("sched: BlockingConfig.Blocked %d takes a pipe each, and %s", c.Blocked, why)
	case c.Duration < 0 || c.Duration > time.Minute:
		return c, fmt.Errorf("sched: BlockingConfig.Duration %v must be in (0, 1m]", c.Duration)
	case c.Tick <= 0 || c.Tick > c.Duration:
		return c, fmt.Errorf("sched: BlockingConfig.Tick %v must be in (0, BlockingConfig.Duration %v]", c.Tick, c.Duration)
	}
	return c, nil
}

// measureBlocking is the experiment itself. It always releases what it
// started: every blocked reader is woken by closing its pipe's write end
// and waited for, and every descriptor is closed, on error paths too.
func measureBlocking(cfg BlockingConfig) (res BlockingResult, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return res, err
	}
	res.Blocked = cfg.Blocked
	created0 := pprof.Lookup("threadcreate").Count()
	var (
		wg    sync.WaitGroup
		pipes = make([]pipe, 0, cfg.Blocked)
	)
	defer func() {
		// EOF wakes each reader; close the read ends only once nobody
		// reads them.
		var errs []error
		for _, p := range pipes {
			errs = append(errs, p.closeWrite())
		}
		wg.Wait()
		for _, p := range pipes {
			errs = append(errs, p.closeRead())
		}
		err = errors.Join(err, errors.Join(errs...))
	}()
	for i := range cfg.Blocked {
		p, err := newPipe()
		if err != nil {
			return res, fmt.Errorf("sched: pipe %d of %d: %w", i+1, cfg.Blocked, err)
		}
		pipes = append(pipes, p)
		wg.Go(p.blockRead)
	}
	// Wait until the readers are in the kernel (the count is approximate).
	for deadline := time.Now().Add(blockedSettleMax); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if res.InSyscall = rtmetrics.Uint64(notInGoMetric); res.InSyscall >= uint64(cfg.Blocked) {
			break
		}
	}
	delays := make([]time.Duration, 0, int(cfg.Duration/cfg.Tick)+1)
	for end := time.Now().Add(cfg.Duration); time.Now().Before(end); {
		due := time.Now().Add(cfg.Tick)
		time.Sleep(cfg.Tick)
		delays = append(delays, time.Since(due))
	}
	res.Threads = rtmetrics.Uint64(threadsMetric)
	res.ThreadsCreated = pprof.Lookup("threadcreate").Count() - created0
	res.Ticks = len(delays)
	slices.Sort(delays)
	res.P50Delay = quantile.Sorted(delays, 0.5)
	res.P99Delay = quantile.Sorted(delays, 0.99)
	res.MaxDelay = quantile.Sorted(delays, 1)
	return res, nil
}
