//go:build linux

package server

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn"
	"golang.org/x/sys/unix"
)

// reactorSupported reports whether DesignReactor runs as itself here.
const reactorSupported = true

func defaultWorkers() int { return max(4, 4*runtime.GOMAXPROCS(0)) }

// evGoAway is a pseudo-event (outside epoll's bits) asking the owner of a
// connection to send close 1001.
const evGoAway = 1 << 30

// reactor is the epoll side of a DesignReactor server. Its code is in five
// files: this one (the poller and its dispatch to workers, ownership,
// close), accept_linux.go (accept, the opening handshake and refusals),
// input_linux.go (reading and scanning what arrived), writer_linux.go (the
// non-blocking writer and its queue) and sweep_linux.go (the timers).
//
// The reactor accepts itself: the poller calls accept4 on (a duplicate of)
// the listener's descriptor when epoll reports it readable, and registers
// the new non-blocking socket at once. The opening handshake runs like any
// other input (handshakeIn): a worker reads what arrived, and once the
// request is whole, ws.Upgrader answers it from memory; the sweep answers
// 408 to a request not whole at HandshakeTimeout. No goroutine is started
// per connection, and Go's network poller never sees the socket: no netFD,
// no addresses, no finalizer and no runtime pollDesc (which the runtime
// never frees, only reuses). An idle connection then holds no goroutine,
// no buffer and no timer: one srvConn (TestSrvConnSizeClass keeps it within
// 128 bytes) and its pointer in byFD, the table indexed by descriptor
// through which the poller, the sweep and Shutdown find it.
//
// Connections are registered with one epoll instance (EPOLLONESHOT). A
// readiness event hands the connection to one of a bounded pool of
// workers (Options.Workers), which reads what the socket has, without
// waiting for more, into an input buffer borrowed from a sync.Pool
// (inBuf), and runs the frame path (a borrowed reader, MessageReader and
// message buffer) over every whole unit in it: a lone ping or pong, or a
// message with any control frames between its fragments. A scan of what
// arrived (frame headers, MaxFrame and MaxMessage, the UTF-8 of text as it
// comes) tells whole units from the start of one still on its way, and
// hands input the frame path will fail on to it at once, so the checks,
// close codes and fail-fast UTF-8 are those of a socket read. The worker
// calls the Handler, gives every borrowed buffer back and re-arms the
// descriptor; only a unit partly received keeps its input buffer on the
// connection, with the bytes of the next unit that came with the last
// read. No worker and no poller ever waits for a peer: peers that send
// half a frame and stop, however many, hold a buffer each but no worker,
// and the sweep closes them (and frees the buffer) ReadTimeout after the
// unit began. Control frames between the fragments of a message are
// answered once the message is whole; a unit that would need a buffer
// over twice MaxMessage plus inSlack (its headers and those control frames
// count) is failed with 1009 rather than buffered without bound.
//
// Writes never block a worker (nbWriter): small writes are gathered so
// that a header and its payload leave in one writev; what the socket does
// not take is copied to a per-connection queue bounded by WriteQueueBytes
// (a write past the bound closes the connection as a slow consumer) and
// flushed when epoll reports the socket writable. The poller goroutine
// sweeps all connections every tick (a quarter of the shortest timeout,
// 10 ms to 1 s) for pings due and for read, pong, close and write-queue
// timeouts, so a connection keeps no timer either.
//
// Ownership: at most one goroutine does I/O on a connection at a time, its
// owner; conn.busy says there is one. A readiness event makes a worker the
// owner; the sweep (on the poller goroutine) and Shutdown's goAway take
// ownership only of a connection that has none (tryClaim); the poller owns
// a connection it has just accepted until it first releases it. The owner re-arms the one-shot registration
// when it lets go (release), so no event can start a second owner. Others
// that need something from a busy connection leave a pending bit; a kill of
// a busy connection only sets deadlines to wake its owner, which closes the
// socket itself: a descriptor is never closed while another goroutine may
// still use its number.
type reactor struct {
	s    *Server
	ep   *epoll
	tick time.Duration

	mu    sync.Mutex
	byFD  []*srvConn // indexed by descriptor: 8 bytes a connection
	gen   int32
	batch []*srvConn // poller only: connections of one epoll_wait

	work    chan *srvConn
	stopped atomic.Bool
	// epClosed is set once closeEpoll has run (by the first Shutdown).
	epClosed atomic.Bool
	pool     sync.Pool   // *reactorScratch
	tls      *reactorTLS // wss://, nil for ws://
	inPool   sync.Pool   // *inBuf

	// The listener: a duplicate of its descriptor, registered
	// level-triggered with data fd=evListener; lmu serialises accepting
	// (the poller) with stopAccepting (Shutdown).
	lmu       sync.Mutex
	lfd       int  // -1 once closed
	lpaused   bool // out of descriptors and of the reserve: not watched until the sweep retries
	acceptErr error
	lstopped  chan struct{} // closed when the reactor stops accepting

	sweepConns [256]*srvConn      // poller only: one chunk of byFD
	sweepW     nbWriter           // poller only: writes pings
	sweepFW    wsconn.FrameWriter // poller only
	sweepCork  [32]byte           // poller only: sweepW's buffer, kept so a ping allocates nothing
}

// reactorScratch is a scratch plus the writer that gathers a connection's
// writes while a worker owns it.
type reactorScratch struct {
	scratch
	src  bytes.Reader // the whole units of a connection's inBuf, or its request
	w    nbWriter
	hw   countingWriter // w, counted: whether ws.Upgrader answered
	hrw  readWriter     // src and hw, made once so that no handshake allocates it
	cork [corkSize]byte
}

func newReactor(s *Server, ln net.Listener) (*reactor, error) {
	var rt *reactorTLS
	if s.o.TLSConfig != nil {
		var err error
		if rt, err = newReactorTLS(s.o.TLSConfig); err != nil {
			ln.Close()
			return nil, err
		}
	}
	lfd, err := listenerFD(ln)
	if err != nil {
		return nil, err
	}
	ep, err := newEpoll()
	if err != nil {
		unix.Close(lfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: evListener}
	if err := epollCtlRaw(ep.fd, unix.EPOLL_CTL_ADD, lfd, &ev); err != nil {
		unix.Close(lfd)
		_ = ep.close()
		return nil, os.NewSyscallError("epoll_ctl add listener", err)
	}
	o := &s.o
	tick := o.CloseTimeout
	for _, d := range []time.Duration{o.HandshakeTimeout, o.ReadTimeout, o.WriteTimeout, o.PingInterval, o.PongTimeout} {
		if d > 0 {
			tick = min(tick, d)
		}
	}
	r := &reactor{
		s:        s,
		ep:       ep,
		tick:     min(max(tick/4, 10*time.Millisecond), time.Second),
		work:     make(chan *srvConn, max(1024, 64*o.Workers)),
		lfd:      lfd,
		lstopped: make(chan struct{}),
		tls:      rt,
	}
	size := o.ReadBufferSize
	r.pool.New = func() any {
		sc := &reactorScratch{}
		sc.br = bufio.NewReaderSize(nil, size)
		sc.hw.w = &sc.w
		sc.hrw = readWriter{&sc.src, &sc.hw}
		sc.m.Limits = o.Limits
		return sc
	}
	r.inPool.New = func() any { return &inBuf{} }
	// Set before the poller starts: it accepts, and accepted connections
	// find the reactor through the server.
	s.r = r
	s.goFunc(r.poll)
	for range o.Workers {
		s.goFunc(r.worker)
	}
	return r, nil
}

// poll is the epoll goroutine: it waits for readiness, hands connections
// to workers and sweeps timers every tick.
func (r *reactor) poll() {
	defer close(r.work)
	events := make([]unix.EpollEvent, 256)
	next := time.Now().Add(r.tick)
	for !r.stopped.Load() {
		wait := max(time.Until(next), 0)
		n, err := r.ep.wait(events, int(wait.Milliseconds()))
		if err != nil {
			return
		}
		accept := false
		r.mu.Lock()
		r.batch = r.batch[:0]
		for i := range n {
			ev := &events[i]
			switch ev.Fd {
			case evWake:
				r.ep.drainWake()
				r.batch = append(r.batch, nil)
				continue
			case evListener:
				accept = true
				r.batch = append(r.batch, nil)
				continue
			}
			var c *srvConn
			if int(ev.Fd) < len(r.byFD) {
				c = r.byFD[ev.Fd]
			}
			if c != nil && c.gen != ev.Pad {
				c = nil // stale event of a closed descriptor reused since
			}
			r.batch = append(r.batch, c)
		}
		r.mu.Unlock()
		for i, c := range r.batch {
			if c != nil {
				r.dispatch(c, events[i].Events)
			}
		}
		clear(r.batch)
		if accept {
			r.acceptAll()
		}
		if now := time.Now(); !now.Before(next) {
			r.resumeAccept()
			r.sweep(now)
			next = now.Add(r.tick)
		}
	}
}

// dispatch hands c to a worker, or leaves the events to its owner.
func (r *reactor) dispatch(c *srvConn, ev uint32) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.pend |= ev
	if c.busy {
		c.mu.Unlock()
		return
	}
	c.busy = true
	c.mu.Unlock()
	r.work <- c
}

// tryClaim makes the caller the owner of c if it has none.
func (r *reactor) tryClaim(c *srvConn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy || c.dead || c.fd < 0 {
		return false
	}
	c.busy = true
	return true
}

// release gives up ownership of c: it closes a dead connection, keeps
// (loop, a worker) or hands over pending events, or re-arms the descriptor
// for reading and, with a queue, writing. It reports whether ownership is
// gone.
func (r *reactor) release(c *srvConn, loop bool) bool {
	c.mu.Lock()
	if c.dead || c.killed {
		c.dead = true
		c.mu.Unlock()
		r.finish(c)
		return true
	}
	if c.pend != 0 {
		c.mu.Unlock()
		if loop {
			return false
		}
		r.work <- c
		return true
	}
	if c.tls != nil {
		c.tls.idle()
	}
	mask := uint32(evRead)
	if len(c.wq) > 0 {
		mask |= evWrite
	}
	c.busy = false
	err := r.ep.rearm(int(c.fd), c.gen, mask)
	c.mu.Unlock()
	if err != nil {
		r.kill(c)
	}
	return true
}

// markDead records, as owner, that c must be closed at release.
func (r *reactor) markDead(c *srvConn) {
	c.mu.Lock()
	c.dead = true
	c.mu.Unlock()
}

// kill closes c without a close frame. An idle connection is closed here;
// a busy one is marked and its owner woken (deadlines in the past), and the
// owner closes it at release. It reports whether this call was the one
// that ended c, so that a cause is counted once.
func (r *reactor) kill(c *srvConn) bool {
	c.mu.Lock()
	if c.dead || c.killed {
		c.mu.Unlock()
		return false
	}
	c.killed = true
	if c.busy {
		// Fails the owner's reads (EOF) and writes; the descriptor stays
		// open until the owner closes it.
		_ = unix.Shutdown(int(c.fd), unix.SHUT_RDWR)
		c.mu.Unlock()
		return true
	}
	c.busy, c.dead = true, true
	c.mu.Unlock()
	r.finish(c)
	return true
}

// finish closes a dead connection; only its owner calls it, once.
func (r *reactor) finish(c *srvConn) {
	r.mu.Lock()
	if r.byFD[c.fd] == c {
		r.byFD[c.fd] = nil
	}
	r.mu.Unlock()
	_ = r.ep.del(int(c.fd))
	_ = unix.Close(int(c.fd))
	if !c.upgraded.Load() && !c.refused && !c.closing {
		// Dropped in its handshake without an answer (EOF, I/O error,
		// Shutdown's context); an answered one was counted by reject.
		r.s.ctr.hsErrors.Add(1)
	}
	r.dropIn(c)
	if n := len(c.wq); n > 0 {
		r.s.ctr.queued.Add(-int64(n))
		c.wq = nil
		c.wqSince.Store(0)
	}
	if c.tls != nil {
		c.tls.release()
	}
	r.s.untrack(c)
}

// goAway asks c for close 1001: at once if it is idle, else by its owner.
func (r *reactor) goAway(c *srvConn) {
	if r.tryClaim(c) {
		var w nbWriter
		var fw wsconn.FrameWriter
		w.init(c, nil)
		r.sendGoingAway(c, &w, &fw)
		r.release(c, false)
		return
	}
	c.mu.Lock()
	if !c.dead {
		c.pend |= evGoAway
	}
	c.mu.Unlock()
}

// sendGoingAway writes close 1001 (owner only) and enters the closing state.
func (r *reactor) sendGoingAway(c *srvConn, w *nbWriter, fw *wsconn.FrameWriter) {
	if c.closeAt.Load() != 0 {
		return
	}
	_ = fw.WriteClose(w, ws.StatusGoingAway, "server shutting down")
	r.closing(c, w)
}

// closing (owner only) flushes w after a close frame was written to it and
// moves c to the closing state: FIN once the queue is empty, then drain
// until the peer closes or CloseTimeout passes (the sweep).
func (r *reactor) closing(c *srvConn, w *nbWriter) {
	if c.closeAt.Load() == 0 {
		c.closeAt.Store(msStamp(time.Now()))
	}
	c.closing = true
	r.dropIn(c) // input after our close frame is drained, not parsed
	flush := w.flush
	if c.tls != nil {
		flush = w.closeNotify
	}
	if err := flush(); err != nil {
		r.markDead(c)
		return
	}
	r.finIfFlushed(c)
}

// finIfFlushed sends FIN once a closing connection's queue is empty.
func (r *reactor) finIfFlushed(c *srvConn) {
	if c.closing && !c.finSent && len(c.wq) == 0 {
		c.finSent = true
		_ = unix.Shutdown(int(c.fd), unix.SHUT_WR)
	}
}

// worker owns connections handed over by dispatch, one at a time.
func (r *reactor) worker() {
	drain := make([]byte, 4096)
	for c := range r.work {
		for {
			c.mu.Lock()
			ev := c.pend
			c.pend = 0
			skip := c.killed || c.dead
			c.mu.Unlock()
			if !skip {
				r.process(c, ev, drain)
			}
			if r.release(c, true) {
				break
			}
		}
	}
}

// process handles the events ev of c, as its owner.
func (r *reactor) process(c *srvConn, ev uint32, drain []byte) {
	if ev&evWrite != 0 {
		if err := flushQueue(c, r.s); err != nil {
			r.markDead(c)
			return
		}
	}
	if c.closing {
		// Draining after our close frame: discard input until EOF.
		if ev&(unix.EPOLLIN|evHangup) != 0 && drainNB(int(c.fd), drain) {
			r.markDead(c)
			return
		}
		r.finIfFlushed(c)
		return
	}
	readable := ev&(unix.EPOLLIN|evHangup) != 0
	goAway := ev&evGoAway != 0 || (c.goingAway.Load() && c.closeAt.Load() == 0)
	if !readable && !goAway {
		return
	}
	sc := r.pool.Get().(*reactorScratch)
	sc.w.init(c, sc.cork[:0])
	if readable {
		var err error
		if c.upgraded.Load() {
			err = r.readIn(c, sc)
		} else {
			err = r.handshakeIn(c, sc)
		}
		// errors.AsType, not errors.As: its target would escape, an
		// allocation per event.
		_, isClose := errors.AsType[*wsconn.CloseError](err)
		switch {
		case err == nil:
			if ferr := sc.w.flush(); ferr != nil {
				r.markDead(c)
			}
		case isClose, err == errRejected:
			r.closing(c, &sc.w)
		default:
			r.markDead(c)
		}
		sc.br.Reset(nil)
		sc.src.Reset(nil)
		if c.tls != nil && err == nil && c.tls.buffered() {
			// Records read but not yet taken: no readiness event will
			// report them, so the owner goes on with them (release).
			c.mu.Lock()
			c.pend |= unix.EPOLLIN
			c.mu.Unlock()
		}
	}
	// Shutdown may have asked while the handshake ran: goAway checks
	// upgraded after setting goingAway, the handshake the other way round.
	goAway = goAway || c.goingAway.Load()
	if goAway && !c.closing && c.upgraded.Load() {
		r.sendGoingAway(c, &sc.w, &sc.fw)
	}
	sc.w.init(nil, nil)
	r.pool.Put(sc)
}

// appendConns appends the registered connections to cs; the caller holds
// Server.mu, so that with Server.conns it sees every connection once.
func (r *reactor) appendConns(cs []*srvConn) []*srvConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.byFD {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// stop ends the poller and, through it, the workers.
func (r *reactor) stop() {
	if r.epClosed.Load() {
		return
	}
	r.stopped.Store(true)
	r.ep.signal()
}

// closeEpoll releases the epoll descriptors once every goroutine is gone.
// Only the first call closes them: a second Shutdown must not write to
// (stop) or close descriptor numbers the process may have reused since.
func (r *reactor) closeEpoll() {
	if !r.epClosed.Swap(true) {
		r.stopAccepting() // if Serve failed before Shutdown could
		_ = r.ep.close()
	}
}
