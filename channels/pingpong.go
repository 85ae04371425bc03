package channels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// PingPongImpl names how the two goroutines of a ping-pong hand the turn to
// each other.
type PingPongImpl string

const (
	// PingChan uses two unbuffered channels: the send waits for the
	// receiver, so each leg is a direct hand-off between goroutines.
	PingChan PingPongImpl = "chan"
	// PingBufChan uses two channels of capacity 1.
	PingBufChan PingPongImpl = "bufchan"
	// PingCond uses a sync.Mutex, a turn field and a sync.Cond.
	PingCond PingPongImpl = "cond"
	// PingSpin busy-polls an atomic word, never parking (it yields its P
	// after a long run of failed polls, so GOMAXPROCS=1 still progresses).
	PingSpin PingPongImpl = "spin"
	// PingWaitNotify parks on an atomic word with WaitNotify, the way JS
	// workers use Atomics.wait and Atomics.notify on a SharedArrayBuffer.
	PingWaitNotify PingPongImpl = "waitnotify"
)

// PingPongImpls returns every ping-pong implementation, in a stable order.
func PingPongImpls() []PingPongImpl {
	return []PingPongImpl{PingChan, PingBufChan, PingCond, PingSpin, PingWaitNotify}
}

// PingPong is a pair of goroutines: the caller of RoundTrip and an echo
// goroutine that answers each ping with a pong. It is not safe for
// concurrent RoundTrip calls.
type PingPong struct {
	impl  PingPongImpl
	round func()
	stop  func()
	done  chan struct{}
}

// NewPingPong starts the echo goroutine of impl. Close stops it.
func NewPingPong(impl PingPongImpl) (*PingPong, error) {
	p := &PingPong{impl: impl, done: make(chan struct{})}
	var echo func()
	switch impl {
	case PingChan, PingBufChan:
		c := 0
		if impl == PingBufChan {
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
	case PingCond:
		p.round, p.stop, echo = condPingPong()
	case PingSpin:
		single := runtime.GOMAXPROCS(0) == 1
		wait := func(word *atomic.Int32, v int32) {
			sp := spinner{single: single}
			for word.Load() == v {
				sp.pause()
			}
		}
		p.round, p.stop, echo = wordPingPong(wait, func(*atomic.Int32) {}, wordWrap)
	case PingWaitNotify:
		var wn WaitNotify
		wait := func(word *atomic.Int32, v int32) { wn.Wait(word, v) }
		notify := func(word *atomic.Int32) { wn.Notify(word, 1) }
		p.round, p.stop, echo = wordPingPong(wait, notify, wordWrap)
	default:
		return nil, fmt.Errorf("channels: ping-pong impl %q is not one of chan, bufchan, cond, spin, waitnotify", impl)
	}
	go func() {
		defer close(p.done)
		echo()
	}()
	return p, nil
}

// Impl returns the implementation p was started with.
func (p *PingPong) Impl() PingPongImpl { return p.impl }

// RoundTrip sends a ping and waits for its pong.
func (p *PingPong) RoundTrip() { p.round() }

// Close stops the echo goroutine and waits for it to exit. RoundTrip must
// not be called after Close.
func (p *PingPong) Close() {
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
// side after a change. The count goes back to 1 after wrap.
func wordPingPong(wait func(*atomic.Int32, int32), notify func(*atomic.Int32), wrap int32) (round, stop, echo func()) {
	var word atomic.Int32
	round = func() {
		// The word is even (the pinger's turn), so only we write it now.
		v := word.Load() + 1
		if v > wrap { // wrap before overflow could reach the stop value
			v = 1
		}
		word.Store(v)
		notify(&word)
		for word.Load() == v {
			wait(&word, v)
		}
	}
	stop = func() {
		word.Store(-1)
		notify(&word)
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
				notify(&word)
			}
		}
	}
	return round, stop, echo
}

// wordWrap is where wordPingPong's round count wraps.
const wordWrap = 1 << 30

// PingPongResult is the timing of a run of round trips.
type PingPongResult struct {
	Impl    PingPongImpl
	Rounds  int
	Elapsed time.Duration
}

// PerRound returns the mean round-trip time.
func (r PingPongResult) PerRound() time.Duration {
	if r.Rounds == 0 {
		return 0
	}
	return r.Elapsed / time.Duration(r.Rounds)
}

// MeasurePingPong starts a PingPong of impl, times rounds round trips and
// closes it.
func MeasurePingPong(impl PingPongImpl, rounds int) (PingPongResult, error) {
	if rounds <= 0 {
		return PingPongResult{}, fmt.Errorf("channels: rounds %d must be > 0", rounds)
	}
	p, err := NewPingPong(impl)
	if err != nil {
		return PingPongResult{}, err
	}
	defer p.Close()
	start := time.Now()
	for range rounds {
		p.RoundTrip()
	}
	return PingPongResult{Impl: impl, Rounds: rounds, Elapsed: time.Since(start)}, nil
}
