//go:build linux

package wsconn

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// reactorSupported reports whether DesignReactor runs as itself here.
const reactorSupported = true

func defaultWorkers() int { return max(4, 4*runtime.GOMAXPROCS(0)) }

// evGoAway is a pseudo-event (outside epoll's bits) asking the owner of a
// connection to send close 1001.
const evGoAway = 1 << 30

// corkSize is how many bytes of small writes (frame headers, small frames)
// a reactor writer gathers before a system call, so that a header and its
// payload usually leave in one writev.
const corkSize = 512

// reactor is the epoll side of a DesignReactor server.
//
// Ownership: at most one goroutine does I/O on a connection at a time, its
// owner; conn.busy says there is one. A readiness event makes a worker the
// owner; the sweep (on the poller goroutine), Shutdown's goAway and the
// handshake goroutine at registration take ownership only of a connection
// that has none (tryClaim). The owner re-arms the one-shot registration
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
	pool    sync.Pool // *reactorScratch

	sweepConns [256]*srvConn // poller only: one chunk of byFD
	sweepW     nbWriter      // poller only: writes pings
	sweepFW    FrameWriter   // poller only
	sweepCork  [32]byte      // poller only: sweepW's buffer, kept so a ping allocates nothing
}

// reactorScratch is a scratch plus the writer that gathers a connection's
// writes while a worker owns it.
type reactorScratch struct {
	scratch
	rd   rawReader
	w    nbWriter
	cork [corkSize]byte
}

func newReactor(s *Server) (*reactor, error) {
	ep, err := newEpoll()
	if err != nil {
		return nil, err
	}
	o := &s.o
	tick := o.CloseTimeout
	for _, d := range []time.Duration{o.WriteTimeout, o.PingInterval, o.PongTimeout} {
		if d > 0 {
			tick = min(tick, d)
		}
	}
	r := &reactor{
		s:    s,
		ep:   ep,
		tick: min(max(tick/4, 10*time.Millisecond), time.Second),
		work: make(chan *srvConn, max(1024, 64*o.Workers)),
	}
	size := o.ReadBufferSize
	r.pool.New = func() any {
		sc := &reactorScratch{}
		sc.br = bufio.NewReaderSize(nil, size)
		sc.m.Limits = o.Limits
		return sc
	}
	s.goFunc(r.poll)
	for range o.Workers {
		s.goFunc(r.worker)
	}
	return r, nil
}

// register adds an upgraded connection; called by its handshake goroutine,
// which owns it (busy since accept) until release.
//
// The connection leaves Go's network poller here: its socket is duplicated
// and the net.Conn closed, so that neither the net.Conn (netFD, addresses,
// finalizer) nor the runtime's pollDesc stays allocated for an idle
// connection. From now on the reactor reads and writes the raw,
// non-blocking descriptor itself, and the connection is found through
// r.byFD instead of Server.conns.
func (r *reactor) register(c *srvConn) {
	fd, err := detach(c.nc)
	if err != nil {
		c.nc.Close()
		r.s.untrack(c)
		return
	}
	s := r.s
	s.mu.Lock()
	delete(s.conns, c)
	r.mu.Lock()
	r.gen++
	gen := r.gen
	c.mu.Lock()
	nc := c.nc
	c.fd, c.gen, c.nc = int32(fd), gen, nil
	c.mu.Unlock()
	if fd >= len(r.byFD) {
		r.byFD = append(r.byFD, make([]*srvConn, fd+1-len(r.byFD))...)
	}
	r.byFD[fd] = c
	r.mu.Unlock()
	s.mu.Unlock()
	nc.Close() // the duplicate keeps the socket open
	if err := r.ep.add(fd, c.gen, evRead); err != nil {
		r.markDead(c)
	}
	c.mu.Lock()
	if c.goingAway.Load() {
		c.pend |= evGoAway
	}
	c.mu.Unlock()
	r.release(c, false)
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
		r.mu.Lock()
		r.batch = r.batch[:0]
		for i := range n {
			ev := &events[i]
			if ev.Fd == -1 {
				r.ep.drainWake()
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
		if now := time.Now(); !now.Before(next) {
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
		if c.fd >= 0 {
			// Wakes an owner waiting in readRaw (EOF) and fails its
			// writes; the descriptor stays open until the owner closes it.
			_ = unix.Shutdown(int(c.fd), unix.SHUT_RDWR)
		} else {
			_ = c.nc.SetDeadline(time.Now())
		}
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
	if c.fd >= 0 {
		r.mu.Lock()
		if r.byFD[c.fd] == c {
			r.byFD[c.fd] = nil
		}
		r.mu.Unlock()
		_ = r.ep.del(int(c.fd))
		_ = unix.Close(int(c.fd))
	} else {
		c.nc.Close()
	}
	if n := len(c.wq); n > 0 {
		r.s.ctr.queued.Add(-int64(n))
		c.wq = nil
		c.wqSince.Store(0)
	}
	r.s.untrack(c)
}

// goAway asks c for close 1001: at once if it is idle, else by its owner.
func (r *reactor) goAway(c *srvConn) {
	if r.tryClaim(c) {
		var w nbWriter
		var fw FrameWriter
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
func (r *reactor) sendGoingAway(c *srvConn, w *nbWriter, fw *FrameWriter) {
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
		c.closeAt.Store(time.Now().UnixNano())
	}
	c.closing = true
	if err := w.flush(); err != nil {
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
		sc.rd.c = c
		sc.br.Reset(&sc.rd)
		err := r.readAll(c, sc)
		var ce *CloseError
		switch {
		case err == nil:
			if ferr := sc.w.flush(); ferr != nil {
				r.markDead(c)
			}
		case errors.As(err, &ce):
			r.closing(c, &sc.w)
		default:
			r.markDead(c)
		}
		sc.br.Reset(nil)
		sc.rd.c = nil
	}
	if goAway && !c.closing {
		r.sendGoingAway(c, &sc.w, &sc.fw)
	}
	sc.w.init(nil, nil)
	r.pool.Put(sc)
}

// readAll reads units while input is buffered: the first byte is there (or
// EOF), and whatever the reader fetched past one unit is handled before
// the buffer goes back to the pool. Each unit must arrive within
// ReadTimeout of its start (the deadline lives in the borrowed rawReader,
// not in the connection).
func (r *reactor) readAll(c *srvConn, sc *reactorScratch) error {
	for {
		sc.rd.deadline = time.Now().Add(r.s.o.ReadTimeout)
		if err := r.s.unit(c, &sc.scratch, &sc.w); err != nil {
			return err
		}
		if sc.w.err != nil {
			return sc.w.err
		}
		if sc.br.Buffered() == 0 {
			return nil
		}
	}
}

// rawReader reads a registered connection's non-blocking descriptor for
// its owner. When the socket has nothing yet (the rest of a frame is still
// on its way) it waits in poll(2) until deadline, then fails with
// os.ErrDeadlineExceeded; kill wakes it with shutdown(2), which reads as
// EOF.
type rawReader struct {
	c        *srvConn
	deadline time.Time
}

// Read implements io.Reader.
func (r *rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	fd := int(r.c.fd)
	for {
		n, err := unix.Read(fd, p)
		switch {
		case err == nil && n > 0:
			r.c.lastRead.Store(time.Now().UnixNano())
			return n, nil
		case err == nil:
			return 0, io.EOF
		case errors.Is(err, unix.EINTR):
			continue
		case !errors.Is(err, unix.EAGAIN):
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
		}
		left := time.Until(r.deadline)
		if left <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
		pfd := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
		ms := int((left + time.Millisecond - 1) / time.Millisecond)
		if _, err := unix.Poll(pfd[:], ms); err != nil && !errors.Is(err, unix.EINTR) {
			return 0, os.NewSyscallError("poll", err)
		}
	}
}

// sweep runs every tick on the poller goroutine: pings for silent
// connections, and kills for late pongs, stuck write queues and close
// handshakes that did not end in time.
func (r *reactor) sweep(now time.Time) {
	for fd := 0; ; {
		// Copy a chunk of byFD under the lock, then check it without:
		// kill and release take r.mu. A chunk, not the whole table, so
		// the poller keeps nothing that grows with the connections.
		n := 0
		r.mu.Lock()
		for ; fd < len(r.byFD) && n < len(r.sweepConns); fd++ {
			if c := r.byFD[fd]; c != nil {
				r.sweepConns[n] = c
				n++
			}
		}
		r.mu.Unlock()
		if n == 0 {
			return
		}
		r.sweepChunk(r.sweepConns[:n], now)
		clear(r.sweepConns[:n])
	}
}

// sweepChunk checks the timers of the connections cs (poller only).
func (r *reactor) sweepChunk(cs []*srvConn, now time.Time) {
	s := r.s
	o := &s.o
	ns := now.UnixNano()
	for _, c := range cs {
		switch ca, wqs, ps := c.closeAt.Load(), c.wqSince.Load(), c.pingSent.Load(); {
		case ca != 0 && time.Duration(ns-ca) >= o.CloseTimeout:
			r.kill(c)
		case wqs != 0 && time.Duration(ns-wqs) >= o.WriteTimeout:
			if r.kill(c) {
				s.ctr.slow.Add(1)
			}
		case ps != 0 && time.Duration(ns-ps) >= o.PongTimeout:
			if r.kill(c) {
				s.ctr.pongTimeouts.Add(1)
			}
		case o.PingInterval > 0 && ps == 0 && ca == 0 &&
			time.Duration(ns-c.lastRead.Load()) >= o.PingInterval:
			if r.tryClaim(c) {
				r.sweepW.init(c, r.sweepCork[:0])
				err := s.ping(c, &r.sweepFW, &r.sweepW)
				if err == nil {
					err = r.sweepW.flush()
				}
				r.sweepW.init(nil, nil)
				if err != nil {
					r.markDead(c)
				}
				r.release(c, false)
			}
		}
	}
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
	r.stopped.Store(true)
	r.ep.signal()
}

// closeEpoll releases the epoll descriptors once every goroutine is gone.
func (r *reactor) closeEpoll() { _ = r.ep.close() }

// nbWriter is the writer the reactor gives the frame path and the handler:
// it never blocks. Small writes gather in cork; a write that does not fit
// goes out with the cork in one writev; what the socket does not take is
// copied to the connection's queue, bounded by WriteQueueBytes, and
// written when epoll reports the socket writable. Owner only.
type nbWriter struct {
	c    *srvConn
	cork []byte
	err  error
}

func (w *nbWriter) init(c *srvConn, cork []byte) {
	w.c, w.cork, w.err = c, cork, nil
}

// Write implements io.Writer.
func (w *nbWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	c := w.c
	c.srv.ctr.bytesOut.Add(uint64(len(p)))
	if len(c.wq) > 0 {
		return len(p), w.setErr(enqueue(c, p))
	}
	if len(w.cork)+len(p) <= cap(w.cork) {
		w.cork = append(w.cork, p...)
		return len(p), nil
	}
	return len(p), w.setErr(w.send(p))
}

// flush writes what the cork holds (or queues it).
func (w *nbWriter) flush() error {
	if w.err != nil || len(w.cork) == 0 {
		return w.err
	}
	return w.setErr(w.send(nil))
}

func (w *nbWriter) setErr(err error) error {
	if err != nil && w.err == nil {
		w.err = err
	}
	return err
}

// send writes cork and p with one writev, queueing the rest.
func (w *nbWriter) send(p []byte) error {
	c := w.c
	cork := w.cork
	w.cork = w.cork[:0]
	if len(c.wq) > 0 {
		if err := enqueue(c, cork); err != nil {
			return err
		}
		return enqueue(c, p)
	}
	var n int
	var err error
	if len(cork) == 0 {
		n, err = writeNB(int(c.fd), p)
	} else {
		n, err = writevNB(int(c.fd), cork, p)
	}
	if err != nil {
		return err
	}
	if n < len(cork) {
		if err := enqueue(c, cork[n:]); err != nil {
			return err
		}
		return enqueue(c, p)
	}
	return enqueue(c, p[n-len(cork):])
}

// enqueue appends p to c's write queue, or fails the connection as a slow
// consumer if the queue would pass its bound.
func enqueue(c *srvConn, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	s := c.srv
	if len(c.wq)+len(p) > s.o.WriteQueueBytes {
		s.ctr.slow.Add(1)
		c.mu.Lock()
		c.dead = true
		c.mu.Unlock()
		return errSlowConsumer
	}
	if len(c.wq) == 0 {
		c.wqSince.Store(time.Now().UnixNano())
	}
	c.wq = append(c.wq, p...)
	raiseTo(&s.ctr.peakQueued, s.ctr.queued.Add(int64(len(p))))
	return nil
}

// flushQueue writes as much of c's queue as the socket takes.
func flushQueue(c *srvConn, s *Server) error {
	if len(c.wq) == 0 {
		return nil
	}
	n, err := writeNB(int(c.fd), c.wq)
	if err != nil {
		return err
	}
	s.ctr.queued.Add(-int64(n))
	if n == len(c.wq) {
		c.wq = nil // an idle connection keeps no buffer
		c.wqSince.Store(0)
		return nil
	}
	c.wq = c.wq[:copy(c.wq, c.wq[n:])]
	c.wqSince.Store(time.Now().UnixNano())
	return nil
}

// writeNB writes p to a non-blocking descriptor once; EAGAIN is 0 bytes.
func writeNB(fd int, p []byte) (int, error) { return writevNB(fd, p, nil) }

// writevNB writes a then b with one writev; EAGAIN is 0 bytes.
func writevNB(fd int, a, b []byte) (int, error) {
	iov := [2][]byte{a, b}
	for {
		n, err := unix.Writev(fd, iov[:])
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, nil
		}
		return 0, &net.OpError{Op: "writev", Net: "tcp", Err: err}
	}
}

// drainNB discards what a non-blocking descriptor has to read and reports
// whether the peer has closed (EOF or an error).
func drainNB(fd int, buf []byte) bool {
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case n > 0:
			continue
		case err == nil:
			return true // EOF
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return false
		}
		return true
	}
}
