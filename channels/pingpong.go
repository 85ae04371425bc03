package channels

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rtlab/rtlab/internal/child"
)

// PingPongImpl names how the two goroutines of a ping-pong hand the turn to
// each other.
type PingPongImpl string

const (
	// PingPongChan uses two unbuffered channels: the send waits for the
	// receiver, so each leg is a direct hand-off between goroutines.
	PingPongChan PingPongImpl = "chan"
	// PingPongBufChan uses two channels of capacity 1.
	PingPongBufChan PingPongImpl = "bufchan"
	// PingPongCond uses a sync.Mutex, a turn field and a sync.Cond.
	PingPongCond PingPongImpl = "cond"
	// PingPongSpin busy-polls an atomic word, never parking (it yields its
	// P after a long run of failed polls, so GOMAXPROCS=1 still
	// progresses).
	PingPongSpin PingPongImpl = "spin"
	// PingPongYield polls the same atomic word but calls runtime.Gosched
	// after every failed poll: nobody parks, so with two Ps both goroutines
	// stay running, one per P, and the turn crosses between cores; on one
	// P each leg is a yield to the other goroutine.
	PingPongYield PingPongImpl = "yield"
	// PingPongWaitNotify parks on an atomic word with WaitNotify, the way
	// JS workers use Atomics.wait and Atomics.notify on a
	// SharedArrayBuffer.
	PingPongWaitNotify PingPongImpl = "waitnotify"
)

// PingPongImpls returns every ping-pong implementation, in a stable order.
func PingPongImpls() []PingPongImpl {
	return []PingPongImpl{PingPongChan, PingPongBufChan, PingPongCond, PingPongSpin, PingPongYield, PingPongWaitNotify}
}

// String returns the value of the benchmark key impl: "chan", "bufchan",
// "cond", "spin", "yield" or "waitnotify".
func (i PingPongImpl) String() string { return string(i) }

// PingPongConfig is one run of the ping-pong experiment. The zero value
// times 65536 round trips over unbuffered channels in this process.
type PingPongConfig struct {
	Impl   PingPongImpl // how the turn is handed over; PingPongChan if ""
	Rounds int          // round trips to time; 65536 if 0
	// Procs is the GOMAXPROCS of the process that measures. 0 measures in
	// this process, at its GOMAXPROCS; any other value measures in a child
	// process of the running binary started with GOMAXPROCS=Procs, which
	// leaves this process's setting alone.
	Procs int
}

const defaultPingPongRounds = 1 << 16

// PingPongResult is the timing of a run of round trips.
type PingPongResult struct {
	Impl       PingPongImpl
	Rounds     int
	GOMAXPROCS int // in the process that measured
	Elapsed    time.Duration
}

// PerRound returns the mean round-trip time.
func (r PingPongResult) PerRound() time.Duration {
	return per(r.Elapsed, r.Rounds)
}

// String summarizes r on one line: "ping-pong chan, GOMAXPROCS=2: 65536
// round trips in 13.1ms, 200ns each".
func (r PingPongResult) String() string {
	return fmt.Sprintf("ping-pong %s, GOMAXPROCS=%d: %d round trips in %v, %v each",
		r.Impl, r.GOMAXPROCS, r.Rounds, r.Elapsed.Round(time.Microsecond), r.PerRound())
}

var pingPongChild = child.RegisterJSON("channels.pingpong", measurePingPong)

// PingPong starts a goroutine that answers each ping with a pong, times
// cfg.Rounds round trips from the calling goroutine with cfg.Impl, and
// stops it. With cfg.Procs != 0 the whole run happens in a child process
// with GOMAXPROCS=cfg.Procs, which ctx cancels; in this process ctx is
// checked before the run starts.
func PingPong(ctx context.Context, cfg PingPongConfig) (PingPongResult, error) {
	if err := ctx.Err(); err != nil {
		return PingPongResult{}, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return PingPongResult{}, err
	}
	if cfg.Procs == 0 {
		return measurePingPong(cfg)
	}
	r, err := pingPongChild.Run(ctx, cfg, child.Options{Env: []string{fmt.Sprintf("GOMAXPROCS=%d", cfg.Procs)}})
	if err != nil {
		return r, fmt.Errorf("channels: %w", err)
	}
	return r, nil
}

func (c PingPongConfig) withDefaults() (PingPongConfig, error) {
	if c.Impl == "" {
		c.Impl = PingPongChan
	}
	if c.Rounds == 0 {
		c.Rounds = defaultPingPongRounds
	}
	switch {
	case !slices.Contains(PingPongImpls(), c.Impl):
		return c, badPingPongImpl(c.Impl)
	case c.Rounds < 0:
		return c, fmt.Errorf("channels: PingPongConfig.Rounds %d must be > 0", c.Rounds)
	case c.Procs < 0:
		return c, fmt.Errorf("channels: PingPongConfig.Procs %d must be >= 0 (0 is this process)", c.Procs)
	}
	return c, nil
}

func badPingPongImpl(impl PingPongImpl) error {
	return fmt.Errorf("channels: PingPongConfig.Impl %q is not one of chan, bufchan, cond, spin, yield, waitnotify", impl)
}

// measurePingPong is the experiment itself, in whichever process runs it;
// cfg has its defaults.
func measurePingPong(cfg PingPongConfig) (PingPongResult, error) {
	p, err := newPinger(cfg.Impl)
	if err != nil {
		return PingPongResult{}, err
	}
	defer p.close()
	start := time.Now()
	for range cfg.Rounds {
		p.round()
	}
	return PingPongResult{
		Impl:       cfg.Impl,
		Rounds:     cfg.Rounds,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Elapsed:    time.Since(start),
	}, nil
}

// pinger is a pair of goroutines: the caller of round and an echo
// goroutine that answers each ping with a pong. round must not be called
// concurrently, nor after close.
type pinger struct {
	round func() // sends a ping and waits for its pong
	stop  func()
	done  chan struct{}
}

// newPinger starts the echo goroutine of impl; close stops it.
func newPinger(impl PingPongImpl) (*pinger, error) {
	p := &pinger{done: make(chan struct{})}
	var echo func()
	switch impl {
	case PingPongChan, PingPongBufChan:
		c := 0
		if impl == PingPongBufChan {
			c = 1
		}
		ping, pong := make(chan struct{}, c), make(chan struct{}, c)
		p.round = func() { ping <- struct{}{}; <-pong }
		p.stop = func() { close(ping) }
		echo = func() {
			for range ping {
				pong <- struct{}{}
			}
		}
	case PingPongCond:
		p.round, p.stop, echo = condPingPong()
	case PingPongSpin:
		single := runtime.GOMAXPROCS(0) == 1
		wait := func(word *atomic.Int32, v int32) {
			sp := spinner{single: single}
			for word.Load() == v {
				sp.pause()
			}
		}
		p.round, p.stop, echo = wordPingPong(wait, func(*atomic.Int32, int32) {}, wordWrap)
	case PingPongYield:
		wait := func(word *atomic.Int32, v int32) {
			for word.Load() == v {
				runtime.Gosched()
			}
		}
		p.round, p.stop, echo = wordPingPong(wait, func(*atomic.Int32, int32) {}, wordWrap)
	case PingPongWaitNotify:
		var wn WaitNotify
		wait := func(word *atomic.Int32, v int32) { wn.Wait(word, v) }
		notify := func(word *atomic.Int32, _ int32) { wn.Notify(word, 1) }
		p.round, p.stop, echo = wordPingPong(wait, notify, wordWrap)
	default:
		return nil, badPingPongImpl(impl)
	}
	go func() {
		defer close(p.done)
		echo()
	}()
	return p, nil
}

// close stops the echo goroutine and waits for it to exit.
func (p *pinger) close() {
	p.stop()
	<-p.done
}

// condPingPong hands a turn field over under a mutex: 0 is the pinger's
// turn, 1 the echo's, 2 tells the echo to exit.
func condPingPong() (round, stop, echo func()) {
	var mu sync.Mutex
	c := sync.NewCond(&mu)
	turn := 0
	set := func(v int) {
		mu.Lock()
		turn = v
		c.Signal() // only the other goroutine can be waiting
		mu.Unlock()
	}
	round = func() {
		mu.Lock()
		turn = 1
		c.Signal()
		for turn == 1 {
			c.Wait()
		}
		mu.Unlock()
	}
	stop = func() { set(2) }
	echo = func() {
		mu.Lock()
		defer mu.Unlock()
		for {
			for turn == 0 {
				c.Wait()
			}
			if turn == 2 {
				return
			}
			turn = 0
			c.Signal()
		}
	}
	return round, stop, echo
}

// wordPingPong counts round trips in one atomic word: the pinger makes it
// odd, the echo makes it even again, and -1 tells the echo to exit. wait
// blocks (or spins) while the word holds a value, notify wakes the other
// side after a change and is told the value just stored. The count goes back to 1 after wrap.
func wordPingPong(wait func(*atomic.Int32, int32), notify func(*atomic.Int32, int32), wrap int32) (round, stop, echo func()) {
	var word atomic.Int32
	round = func() {
		// The word is even (the pinger's turn), so only we write it now.
		v := word.Load() + 1
		if v > wrap { // wrap before overflow could reach the stop value
			v = 1
		}
		word.Store(v)
		notify(&word, v)
		for word.Load() == v {
			wait(&word, v)
		}
	}
	stop = func() {
		word.Store(-1)
		notify(&word, -1)
	}
	echo = func() {
		for {
			v := word.Load()
			switch {
			case v < 0:
				return
			case v%2 == 0:
				wait(&word, v)
			default:
				word.Store(v + 1)
				notify(&word, v+1)
			}
		}
	}
	return round, stop, echo
}

// wordWrap is where wordPingPong's round count wraps.
const wordWrap = 1 << 30
