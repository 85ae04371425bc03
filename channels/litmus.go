package channels

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LitmusTest names a litmus test: two tiny threads whose possible outcomes
// a memory model allows or forbids.
type LitmusTest string

const (
	// LitmusSB is store buffering: thread 0 runs x=1; r1=y, thread 1 runs
	// y=1; r2=x. Under sequential consistency r1=r2=0 is forbidden: one of
	// the stores comes first, and the other thread's load must see it.
	LitmusSB LitmusTest = "sb"
	// LitmusMP is message passing: thread 0 runs data=1; flag=1, thread 1
	// runs r1=flag; if r1==1 { r2=data }. Seeing the flag but stale data
	// (r1=1, r2=0) is forbidden once flag publishes data.
	LitmusMP LitmusTest = "mp"
)

// LitmusTests returns every litmus test, in a stable order.
func LitmusTests() []LitmusTest { return []LitmusTest{LitmusSB, LitmusMP} }

// String returns the value of the benchmark key test: "sb" or "mp".
func (l LitmusTest) String() string { return string(l) }

// Sync names how the two threads of a litmus test are synchronized.
type Sync string

const (
	// SyncPlain uses ordinary int64 fields: a data race on purpose. It is
	// compiled only without -race (the race detector would rightly report
	// it), see Syncs. Its outcomes are whatever the compiler and the CPU
	// make of the race.
	SyncPlain Sync = "plain"
	// SyncAtomic uses sync/atomic loads and stores, which the Go memory
	// model makes sequentially consistent. In MP only the flag is atomic:
	// data stays a plain field that the flag publishes.
	SyncAtomic Sync = "atomic"
	// SyncChan uses a channel. In SB a buffered channel of capacity 1
	// holding one token is a lock around each thread's pair; in MP the flag
	// is a message on a channel of capacity 1 (received with
	// select/default, so thread 1 does not wait for it).
	SyncChan Sync = "chan"
	// SyncMutex puts each thread's accesses inside a sync.Mutex critical
	// section.
	SyncMutex Sync = "mutex"
)

// Syncs returns the variants compiled into this binary, in a stable order:
// SyncPlain (only in builds without -race), SyncAtomic, SyncChan, SyncMutex.
func Syncs() []Sync {
	if plainBuilt {
		return []Sync{SyncPlain, SyncAtomic, SyncChan, SyncMutex}
	}
	return []Sync{SyncAtomic, SyncChan, SyncMutex}
}

// String returns the value of the benchmark key sync: "plain", "atomic",
// "chan" or "mutex".
func (s Sync) String() string { return string(s) }

// Outcome is what the threads read in one trial. In SB, R1 is thread 0's
// read of y and R2 thread 1's read of x. In MP, R1 is the flag thread 1 read
// and R2 the data it read (0 when it did not see the flag).
type Outcome struct{ R1, R2 int }

// String formats o as "r1=0 r2=1".
func (o Outcome) String() string { return fmt.Sprintf("r1=%d r2=%d", o.R1, o.R2) }

// Forbidden reports whether o is forbidden for l under sequential
// consistency: r1=r2=0 for SB, r1=1 r2=0 for MP.
func (l LitmusTest) Forbidden(o Outcome) bool {
	switch l {
	case LitmusSB:
		return o.R1 == 0 && o.R2 == 0
	case LitmusMP:
		return o.R1 == 1 && o.R2 == 0
	}
	return false
}

// LitmusConfig is one run of a litmus test. The zero value runs 100000
// trials of SB with sync/atomic.
type LitmusConfig struct {
	Test   LitmusTest // the litmus test; LitmusSB if ""
	Sync   Sync       // how its threads synchronize; SyncAtomic if ""
	Trials int        // trials to run; 100000 if 0
}

const defaultLitmusTrials = 100_000

// LitmusResult counts the outcomes of many trials of one litmus test.
type LitmusResult struct {
	Test   LitmusTest
	Sync   Sync
	Trials int
	// Counts holds how many trials ended in each outcome seen; the counts
	// sum to Trials.
	Counts map[Outcome]int
	// Forbidden is the number of trials whose outcome Test.Forbidden
	// rejects.
	Forbidden int
	// Elapsed is the wall time of all trials, barriers included.
	Elapsed time.Duration
	// Parallel is true when GOMAXPROCS allowed the two threads to run at
	// the same time on two Ps. Without it the threads only alternate and
	// no reordering can be observed.
	Parallel bool
	// Pinned is true when each thread's OS thread was bound to a CPU of
	// its own (SyncPlain and SyncAtomic only, on Linux with at least two
	// CPUs allowed and Parallel).
	Pinned bool
}

// PerMillion returns the forbidden outcomes per million trials.
func (r LitmusResult) PerMillion() float64 {
	if r.Trials == 0 {
		return 0
	}
	return float64(r.Forbidden) * 1e6 / float64(r.Trials)
}

// TrialsPerSec returns the trial rate, barriers included.
func (r LitmusResult) TrialsPerSec() float64 {
	return rate(r.Trials, r.Elapsed)
}

// String summarizes r on one line: "litmus sb/atomic: 0 forbidden in
// 100000 trials (0 per million), 812345 trials/s, parallel, pinned".
func (r LitmusResult) String() string {
	s := fmt.Sprintf("litmus %s/%s: %d forbidden in %d trials (%.0f per million), %.0f trials/s",
		r.Test, r.Sync, r.Forbidden, r.Trials, r.PerMillion(), r.TrialsPerSec())
	if r.Parallel {
		s += ", parallel"
	}
	if r.Pinned {
		s += ", pinned"
	}
	return s
}

// Outcomes returns the outcomes seen, sorted by R1 then R2.
func (r LitmusResult) Outcomes() []Outcome {
	return slices.SortedFunc(maps.Keys(r.Counts), func(a, b Outcome) int {
		if a.R1 != b.R1 {
			return a.R1 - b.R1
		}
		return a.R2 - b.R2
	})
}

// slot holds the shared variables of one trial. x and y sit on their own
// cache lines, as two unrelated variables usually do; the atomic variants
// use the same fields through sync/atomic.
type slot struct {
	x  int64
	_  [56]byte
	y  int64
	_  [56]byte
	mu sync.Mutex
	ch chan struct{}
	_  [48]byte
}

// side is one thread's part of a trial. It returns what that thread read,
// encoded by the litmus test (see outcome).
type side func(s *slot) uint8

// variant is one litmus test with one synchronization.
type variant struct {
	t0, t1 side
	reset  func(s *slot)
	// parks is true when a side may block (chan, mutex). Such variants
	// are not pinned: waking a goroutine locked to a thread bound to a busy
	// CPU costs an OS wake-up of that very thread, which on a loaded
	// machine slows each trial down a hundredfold.
	parks bool
}

// batchSize bounds the slots in use: each trial gets fresh zeroed
// variables, and thread 0 clears a whole batch between two barriers.
const batchSize = 1024

// Litmus runs cfg.Trials trials of litmus test cfg.Test synchronized by
// cfg.Sync and counts every outcome. Each of the two threads is a
// goroutine; for SyncPlain and SyncAtomic, which never block, each is
// locked to an OS thread that on Linux is bound to a CPU of its own (those
// OS threads end with the run). Both spin (never park) at a barrier before
// each trial, so with GOMAXPROCS >= 2 each keeps a P and they start a trial
// within a cache-line transfer of each other. Every trial uses fresh
// variables. ctx is checked before the run starts.
func Litmus(ctx context.Context, cfg LitmusConfig) (LitmusResult, error) {
	if err := ctx.Err(); err != nil {
		return LitmusResult{}, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return LitmusResult{}, err
	}
	l, s, trials := cfg.Test, cfg.Sync, cfg.Trials
	v, err := lookup(l, s)
	if err != nil {
		return LitmusResult{}, err
	}
	n := min(trials, batchSize)
	slots := make([]slot, n)
	for i := range slots {
		v.reset(&slots[i])
	}
	res0 := make([]uint8, n)
	res1 := make([]uint8, n)
	var counts [16]int
	tally := func(k int) {
		for i := range k {
			counts[res0[i]<<2|res1[i]]++
			v.reset(&slots[i])
		}
	}

	// arrived[p] is one more than the last trial thread p arrived at.
	// Thread 1 storing t+1 also says that it finished trial t-1, so thread
	// 0 may read its results and clear the batch.
	var arrived [2]struct {
		n atomic.Int64
		_ [56]byte
	}
	single := runtime.GOMAXPROCS(0) == 1
	spinUntil := func(c *atomic.Int64, v int64) {
		sp := spinner{single: single}
		for c.Load() < v {
			sp.pause()
		}
	}
	// Each thread of a variant that never parks runs on a goroutine
	// locked to its own OS thread, bound to a CPU of its own where the OS
	// allows, so that the two really run at once even on a loaded machine
	// (otherwise the OS may time-share both threads on one core, where
	// nothing reorders).
	pin := !single && !v.parks
	var pinned [2]bool
	var elapsed time.Duration
	var wg sync.WaitGroup
	wg.Go(func() {
		pinned[1] = pin && pinThread(1)
		for t := range trials {
			arrived[1].n.Store(int64(t + 1))
			spinUntil(&arrived[0].n, int64(t+1))
			res1[t%n] = v.t1(&slots[t%n])
		}
		arrived[1].n.Store(int64(trials + 1))
	})
	wg.Go(func() {
		pinned[0] = pin && pinThread(0)
		start := time.Now()
		for t := range trials {
			i := t % n
			if i == 0 && t > 0 {
				spinUntil(&arrived[1].n, int64(t+1))
				tally(n)
			}
			arrived[0].n.Store(int64(t + 1))
			spinUntil(&arrived[1].n, int64(t+1))
			res0[i] = v.t0(&slots[i])
		}
		spinUntil(&arrived[1].n, int64(trials+1))
		elapsed = time.Since(start)
		tally((trials-1)%n + 1)
	})
	wg.Wait()

	r := LitmusResult{
		Test:     l,
		Sync:     s,
		Trials:   trials,
		Counts:   map[Outcome]int{},
		Elapsed:  elapsed,
		Parallel: !single,
		Pinned:   pinned[0] && pinned[1],
	}
	for code, c := range counts {
		if c == 0 {
			continue
		}
		o := outcome(l, uint8(code>>2), uint8(code&3))
		r.Counts[o] += c
		if l.Forbidden(o) {
			r.Forbidden += c
		}
	}
	return r, nil
}

func (c LitmusConfig) withDefaults() (LitmusConfig, error) {
	if c.Test == "" {
		c.Test = LitmusSB
	}
	if c.Sync == "" {
		c.Sync = SyncAtomic
	}
	if c.Trials == 0 {
		c.Trials = defaultLitmusTrials
	}
	if c.Trials < 0 {
		return c, fmt.Errorf("channels: LitmusConfig.Trials %d must be > 0", c.Trials)
	}
	return c, nil
}

// outcome decodes what the two sides returned.
func outcome(l LitmusTest, a, b uint8) Outcome {
	if l == LitmusMP {
		return Outcome{R1: int(b >> 1), R2: int(b & 1)}
	}
	return Outcome{R1: int(a), R2: int(b)}
}

func lookup(l LitmusTest, s Sync) (variant, error) {
	if l != LitmusSB && l != LitmusMP {
		return variant{}, fmt.Errorf("channels: LitmusConfig.Test %q is not one of sb, mp", l)
	}
	switch s {
	case SyncPlain:
		v, ok := plainVariant(l)
		if !ok {
			return variant{}, fmt.Errorf("channels: LitmusConfig.Sync %q is a data race on purpose and is not built with -race", s)
		}
		return v, nil
	case SyncAtomic:
		if l == LitmusSB {
			return variant{t0: sbAtomic0, t1: sbAtomic1, reset: resetXY}, nil
		}
		return variant{t0: mpAtomic0, t1: mpAtomic1, reset: resetXY}, nil
	case SyncChan:
		if l == LitmusSB {
			return variant{t0: sbChan0, t1: sbChan1, reset: resetToken, parks: true}, nil
		}
		return variant{t0: mpChan0, t1: mpChan1, reset: resetEmpty, parks: true}, nil
	case SyncMutex:
		if l == LitmusSB {
			return variant{t0: sbMutex0, t1: sbMutex1, reset: resetXY, parks: true}, nil
		}
		return variant{t0: mpMutex0, t1: mpMutex1, reset: resetXY, parks: true}, nil
	}
	return variant{}, fmt.Errorf("channels: LitmusConfig.Sync %q is not one of plain, atomic, chan, mutex", s)
}

func resetXY(s *slot) { s.x, s.y = 0, 0 }

// resetToken leaves one token in s.ch: the channel is a lock that is free.
func resetToken(s *slot) {
	resetXY(s)
	if s.ch == nil {
		s.ch = make(chan struct{}, 1)
	}
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

// resetEmpty leaves s.ch empty: no message sent yet.
func resetEmpty(s *slot) {
	resetXY(s)
	if s.ch == nil {
		s.ch = make(chan struct{}, 1)
	}
	select {
	case <-s.ch:
	default:
	}
}

// SB: thread 0 returns r1 (its read of y), thread 1 returns r2 (x).

func sbAtomic0(s *slot) uint8 {
	atomic.StoreInt64(&s.x, 1)
	return uint8(atomic.LoadInt64(&s.y))
}

func sbAtomic1(s *slot) uint8 {
	atomic.StoreInt64(&s.y, 1)
	return uint8(atomic.LoadInt64(&s.x))
}

func sbChan0(s *slot) uint8 {
	<-s.ch
	s.x = 1
	r := s.y
	s.ch <- struct{}{}
	return uint8(r)
}

func sbChan1(s *slot) uint8 {
	<-s.ch
	s.y = 1
	r := s.x
	s.ch <- struct{}{}
	return uint8(r)
}

func sbMutex0(s *slot) uint8 {
	s.mu.Lock()
	s.x = 1
	r := s.y
	s.mu.Unlock()
	return uint8(r)
}

func sbMutex1(s *slot) uint8 {
	s.mu.Lock()
	s.y = 1
	r := s.x
	s.mu.Unlock()
	return uint8(r)
}

// MP: x is data, y is the flag. Thread 0 returns 0; thread 1 returns
// flag<<1 | data.

func mpAtomic0(s *slot) uint8 {
	s.x = 1
	atomic.StoreInt64(&s.y, 1)
	return 0
}

func mpAtomic1(s *slot) uint8 {
	if atomic.LoadInt64(&s.y) == 1 {
		return 2 | uint8(s.x)
	}
	return 0
}

func mpChan0(s *slot) uint8 {
	s.x = 1
	s.ch <- struct{}{}
	return 0
}

func mpChan1(s *slot) uint8 {
	select {
	case <-s.ch:
		return 2 | uint8(s.x)
	default:
		return 0
	}
}

func mpMutex0(s *slot) uint8 {
	s.mu.Lock()
	s.x = 1
	s.y = 1
	s.mu.Unlock()
	return 0
}

func mpMutex1(s *slot) uint8 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.y == 1 {
		return 2 | uint8(s.x)
	}
	return 0
}
