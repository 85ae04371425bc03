package channels

import "runtime"

// Spinning goroutines (the litmus barrier, the spin ping-pong) poll an
// atomic word and never park, so that with GOMAXPROCS >= 2 each keeps its P
// and reacts within a cache-line transfer. Two escape hatches keep them from
// hanging:
//   - with GOMAXPROCS=1 the goroutine they wait for needs their P, so they
//     yield it (runtime.Gosched) every spinYield polls;
//   - with more Ps they never call Gosched, which puts the goroutine on the
//     global run queue without waking an idle P and can leave both
//     goroutines taking turns on one P; after spinSleep*spinYield polls
//     (the other thread was likely descheduled by a loaded OS) they offer
//     their CPU to the OS instead (osYield), keeping their P.
const (
	spinYield = 1 << 10
	spinSleep = 4
)

// spinner paces one wait's failed polls. single is GOMAXPROCS == 1, read
// once by the caller (runtime.GOMAXPROCS takes a lock).
type spinner struct {
	polls  int
	single bool
}

// pause is called after each failed poll.
func (s *spinner) pause() {
	s.polls++
	switch {
	case s.polls%spinYield != 0:
	case s.single:
		runtime.Gosched()
	case s.polls >= spinSleep*spinYield:
		osYield()
	}
}
