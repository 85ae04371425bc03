package sched

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rtlab/rtlab/internal/child"
)

// HandOffMode is how two goroutines pass the turn to each other.
type HandOffMode string

// The modes HandOff compares.
const (
	// Chan passes a value over unbuffered channels: the receiver is parked
	// and woken by the scheduler.
	Chan HandOffMode = "chan"
	// Spin passes the turn through one atomic word that each side polls,
	// yielding with runtime.Gosched between polls: nobody parks, so with
	// two Ps both goroutines stay running, one per P, and the turn crosses
	// between cores.
	Spin HandOffMode = "spin"
)

// HandOffConfig is one run of the hand-off experiment.
type HandOffConfig struct {
	Procs int         // GOMAXPROCS of the child
	Mode  HandOffMode // Chan or Spin
	// HandOffs is the turns to pass, two per round trip: an odd count is
	// rounded down to whole round trips, and HandOffResult.HandOffs says
	// how many ran.
	HandOffs int
}

// HandOffResult is the cost of passing control between two goroutines.
type HandOffResult struct {
	GOMAXPROCS int // in the child that measured
	Mode       HandOffMode
	HandOffs   int
	Elapsed    time.Duration
	// NsPerHandOff is Elapsed over HandOffs: from one goroutine handing
	// over to the other one going on.
	NsPerHandOff float64
}

var handOffChild = child.RegisterJSON("sched.handoff", measureHandOff)

// HandOff passes the turn back and forth between two goroutines, in a
// child process with GOMAXPROCS=cfg.Procs.
//
// With Chan on one P a hand-off is a direct switch on one thread: the woken
// goroutine goes into the P's next slot and runs as soon as the sender
// blocks. With two Ps the scheduler still keeps the pair together that way
// (the woken goroutine runs on the waker's P), and pays a little extra to
// wake the idle P to look for work: expect about the same cost.
//
// With Spin on two Ps the goroutines really are on different Ps and cores,
// and a hand-off is the cache line of the turn word moving between cores;
// on one P each hand-off is a yield to the other goroutine.
func HandOff(ctx context.Context, cfg HandOffConfig) (HandOffResult, error) {
	switch {
	case cfg.Procs < 1:
		return HandOffResult{}, fmt.Errorf("sched: procs %d must be > 0", cfg.Procs)
	case cfg.Mode != Chan && cfg.Mode != Spin:
		return HandOffResult{}, fmt.Errorf("sched: mode %q must be %q or %q", cfg.Mode, Chan, Spin)
	case cfg.HandOffs < 2:
		return HandOffResult{}, fmt.Errorf("sched: hand-offs %d must be >= 2", cfg.HandOffs)
	}
	return runChild(ctx, handOffChild, cfg,
		[]string{fmt.Sprintf("GOMAXPROCS=%d", cfg.Procs)}, time.Minute)
}

func measureHandOff(cfg HandOffConfig) (HandOffResult, error) {
	rounds := cfg.HandOffs / 2
	var (
		el  time.Duration
		end int
	)
	switch cfg.Mode {
	case Chan:
		el, end = pingPongChan(rounds)
	case Spin:
		el, end = pingPongSpin(rounds)
	default:
		return HandOffResult{}, fmt.Errorf("sched: mode %q must be %q or %q", cfg.Mode, Chan, Spin)
	}
	if end != rounds {
		return HandOffResult{}, fmt.Errorf("sched: ping-pong ended at %d, want %d", end, rounds)
	}
	return HandOffResult{
		GOMAXPROCS:   runtime.GOMAXPROCS(0),
		Mode:         cfg.Mode,
		HandOffs:     2 * rounds,
		Elapsed:      el,
		NsPerHandOff: float64(el.Nanoseconds()) / float64(2*rounds),
	}, nil
}

func pingPongChan(rounds int) (time.Duration, int) {
	ping, pong := make(chan int), make(chan int)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for v := range ping {
			pong <- v + 1
		}
	}()
	t0 := time.Now()
	v := 0
	for range rounds {
		ping <- v
		v = <-pong
	}
	el := time.Since(t0)
	close(ping)
	<-done
	return el, v
}

// pingPongSpin passes the turn through turn: even is this goroutine's,
// odd the other's.
func pingPongSpin(rounds int) (time.Duration, int) {
	var turn atomic.Int64
	done := make(chan struct{})
	wait := func(want int64) {
		for turn.Load() != want {
			runtime.Gosched()
		}
	}
	go func() {
		defer close(done)
		for i := range int64(rounds) {
			wait(2*i + 1)
			turn.Store(2*i + 2)
		}
	}()
	t0 := time.Now()
	for i := range int64(rounds) {
		turn.Store(2*i + 1)
		wait(2*i + 2)
	}
	el := time.Since(t0)
	<-done
	return el, int(turn.Load() / 2)
}
