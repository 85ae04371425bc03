//go:build linux

package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/internal/proto"
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
	// epClosed is set once closeEpoll has run (by the first Shutdown).
	epClosed atomic.Bool
	pool     sync.Pool // *reactorScratch
	inPool   sync.Pool // *inBuf

	sweepConns [256]*srvConn      // poller only: one chunk of byFD
	sweepW     nbWriter           // poller only: writes pings
	sweepFW    wsconn.FrameWriter // poller only
	sweepCork  [32]byte           // poller only: sweepW's buffer, kept so a ping allocates nothing
}

// reactorScratch is a scratch plus the writer that gathers a connection's
// writes while a worker owns it.
type reactorScratch struct {
	scratch
	src  bytes.Reader // the whole units of a connection's inBuf
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
	for _, d := range []time.Duration{o.ReadTimeout, o.WriteTimeout, o.PingInterval, o.PongTimeout} {
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
	r.inPool.New = func() any { return &inBuf{} }
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
			// Fails the owner's reads (EOF) and writes; the descriptor
			// stays open until the owner closes it.
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
	r.dropIn(c)
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
		c.closeAt.Store(time.Now().UnixNano())
	}
	c.closing = true
	r.dropIn(c) // input after our close frame is drained, not parsed
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
		err := r.readIn(c, sc)
		var ce *wsconn.CloseError
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
		sc.src.Reset(nil)
	}
	if goAway && !c.closing {
		r.sendGoingAway(c, &sc.w, &sc.fw)
	}
	sc.w.init(nil, nil)
	r.pool.Put(sc)
}

// maxReadsPerEvent bounds the reads one readiness event makes, so that a
// peer that never stops sending cannot keep a worker to itself: the
// descriptor is level-triggered and reported again at once.
const maxReadsPerEvent = 64

// inSlack is added to twice MaxMessage to bound the input buffer of one
// unit (payload, frame headers and control frames between fragments);
// past it the reactor fails the connection with 1009 rather than buffer
// more: without a bound a peer could hold a message open and send pings
// between its fragments forever.
const inSlack = 64 << 10

// readIn reads what the socket has (never waiting for more), and runs the
// frame path over every whole unit buffered: a lone ping or pong, or a
// message with any control frames between its fragments. What is left, the
// start of a unit still on its way, stays in c.in for the next readiness
// event; the worker returns instead of waiting for the rest, and the sweep
// closes the connection if the unit is not complete ReadTimeout after its
// first bytes arrived (c.partSince). It returns the error that ends the
// connection, as the frame path does.
func (r *reactor) readIn(c *srvConn, sc *reactorScratch) error {
	in := c.in
	if in == nil {
		in = r.inPool.Get().(*inBuf)
		if in.b == nil {
			in.b = make([]byte, 0, r.s.o.ReadBufferSize)
		}
		c.in = in
	}
	defer func() {
		if c.in != nil && len(c.in.b) == 0 {
			r.dropIn(c) // an idle connection holds no buffer
		}
	}()
	limit := 2*int(r.s.o.Limits.WithDefaults().MaxMessage) + inSlack
	for range maxReadsPerEvent {
		if len(in.b) == cap(in.b) {
			if len(in.b) >= limit {
				return r.s.failed(&sc.w, &sc.fw, &wsconn.CloseError{Code: ws.StatusMessageTooBig, Reason: proto.ReasonTooBig})
			}
			in.grow(r.s.o.ReadBufferSize, limit)
		}
		n, rerr := readNB(int(c.fd), in.b[len(in.b):cap(in.b)])
		if n > 0 {
			now := time.Now()
			c.lastRead.Store(now.UnixNano())
			if len(in.b) == 0 {
				c.partSince.Store(msStamp(now))
			}
			in.b = in.b[:len(in.b)+n]
			if err := r.units(c, sc, in); err != nil {
				return err
			}
		}
		switch {
		case rerr == errWouldBlock:
			return nil
		case rerr == io.EOF && len(in.b) > 0:
			return io.ErrUnexpectedEOF
		case rerr != nil:
			return rerr
		}
	}
	return nil
}

// units runs the frame path over the whole units at the start of in.b and
// keeps the rest at its start.
func (r *reactor) units(c *srvConn, sc *reactorScratch, in *inBuf) error {
	done, bad := in.scan(r.s.o.Limits.WithDefaults())
	if done == 0 {
		return nil
	}
	// The frame path reads from the buffer: the same checks, the same
	// close codes and the same handler calls as from a socket. On bad
	// input it is given all that arrived, and fails where the scan
	// stopped.
	sc.src.Reset(in.b[:done])
	sc.br.Reset(&sc.src)
	for sc.br.Buffered() > 0 || sc.src.Len() > 0 {
		if err := r.s.unit(c, &sc.scratch, &sc.w); err != nil {
			return err
		}
		if sc.w.err != nil {
			return sc.w.err
		}
	}
	if bad {
		return io.ErrUnexpectedEOF // not reached: the frame path failed
	}
	in.b = in.b[:copy(in.b, in.b[done:])]
	in.pos -= done
	if len(in.b) > 0 {
		c.partSince.Store(msStamp(time.Now()))
	} else {
		c.partSince.Store(0)
	}
	return nil
}

// msStamp is t in unix ms truncated to 32 bits, never 0 (which means no
// time): the form of srvConn.partSince.
func msStamp(t time.Time) uint32 { return max(uint32(t.UnixMilli()), 1) }

// msSince is the time from stamp to t, right across the wrap of 32-bit
// milliseconds (every 49 days) for spans shorter than that.
func msSince(stamp uint32, t time.Time) time.Duration {
	return time.Duration(uint32(t.UnixMilli())-stamp) * time.Millisecond
}

// dropIn gives c's input buffer back to the pool (owner only).
func (r *reactor) dropIn(c *srvConn) {
	in := c.in
	if in == nil {
		return
	}
	c.in = nil
	c.partSince.Store(0)
	in.reset()
	r.inPool.Put(in)
}

// inBuf is the input of a reactor connection while a unit is partly
// received, borrowed from a pool: the bytes from the start of the unit in
// progress and how far scan has got through them, so that each byte is
// scanned once however many reads a message takes.
type inBuf struct {
	b []byte

	pos        int   // bytes of b scanned
	remain     int64 // payload bytes of the current frame not yet scanned
	inFrame    bool  // a header was scanned, its payload not yet all
	last       bool  // the unit ends with the current frame
	text       bool  // the current frame's payload is text
	fragmented bool
	op         ws.OpCode
	msgLen     int64
	mask       [4]byte
	maskOff    int
	utf8       proto.UTF8State

	hr  bytes.Reader
	hdr [ws.MaxHeaderSize]byte
	tmp [256]byte // unmasked text, for the UTF-8 check
}

// reset empties in for the pool, dropping a buffer grown past maxKeptBuf.
func (in *inBuf) reset() {
	b := proto.KeepBuf(in.b)
	*in = inBuf{b: b}
}

// grow gives in.b more room: doubled (at least min bytes), never past
// limit, and, for the last frame of a unit whose header is known, not past
// the end of that frame, so that a buffer follows the bytes that arrive.
func (in *inBuf) grow(minSize, limit int) {
	n := proto.NextCap(cap(in.b), minSize, int64(limit))
	if in.inFrame && in.last && int64(in.pos)+in.remain < int64(n) {
		n = max(in.pos+int(in.remain), len(in.b)+1)
	}
	in.b = proto.Grow(in.b, n)
}

// scan goes on through in.b from in.pos, checking what the frame path
// would check before it needs more bytes: each header (ReadHeader's rules,
// MaxFrame, MaxMessage) and the UTF-8 of text as it arrives. It returns the
// length of the prefix of in.b made of whole units; bad reports input the
// frame path will fail on without needing more of it, and then done is
// all of in.b.
func (in *inBuf) scan(lim wsconn.Limits) (done int, bad bool) {
	b := in.b
	for {
		if !in.inFrame {
			in.hr.Reset(b[in.pos:])
			h, err := ws.ReadHeaderBuffer(&in.hr, in.hdr[:])
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return done, false
			}
			if err != nil || proto.CheckHeader(h, in.fragmented) != "" {
				return len(b), true
			}
			in.pos = len(b) - in.hr.Len()
			in.inFrame, in.remain, in.mask, in.maskOff = true, h.Length, h.Mask, 0
			in.text, in.last = false, false
			switch {
			case h.OpCode == ws.OpClose || (h.OpCode.IsControl() && !in.fragmented):
				in.last = true
			case h.OpCode.IsControl():
			default:
				if h.Length > lim.MaxFrame || in.msgLen+h.Length > lim.MaxMessage {
					return len(b), true
				}
				if !in.fragmented {
					in.op = h.OpCode
				}
				in.msgLen += h.Length
				in.text = in.op == ws.OpText
				in.last = h.Fin
				in.fragmented = !h.Fin
			}
		}
		k := int(min(in.remain, int64(len(b)-in.pos)))
		if in.text && !in.validText(b[in.pos:in.pos+k]) {
			return len(b), true
		}
		in.pos += k
		in.remain -= int64(k)
		if in.remain > 0 {
			return done, false
		}
		in.inFrame = false
		if in.last {
			done = in.pos
			in.fragmented, in.op, in.msgLen, in.utf8 = false, 0, 0, 0
		}
	}
}

// validText feeds the masked text payload p to the message's UTF-8 state
// and reports whether it can still be valid.
func (in *inBuf) validText(p []byte) bool {
	for len(p) > 0 {
		n := copy(in.tmp[:], p)
		ws.Cipher(in.tmp[:n], in.mask, in.maskOff)
		in.maskOff += n
		if in.utf8 = in.utf8.Feed(in.tmp[:n]); in.utf8 == proto.UTF8Invalid {
			return false
		}
		p = p[n:]
	}
	return true
}

// errWouldBlock is readNB's EAGAIN: the socket has nothing more for now.
var errWouldBlock = errors.New("wsconn/server: would block")

// readNB reads a non-blocking descriptor once: io.EOF when the peer has
// closed, errWouldBlock when nothing is there.
func readNB(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		switch {
		case err == nil && n > 0:
			return n, nil
		case err == nil:
			return 0, io.EOF
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, errWouldBlock
		}
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
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
		switch ca, wqs, ps, pt := c.closeAt.Load(), c.wqSince.Load(), c.pingSent.Load(), c.partSince.Load(); {
		case ca != 0 && time.Duration(ns-ca) >= o.CloseTimeout:
			r.kill(c)
		case pt != 0 && msSince(pt, now) >= o.ReadTimeout:
			r.kill(c) // a unit begun ReadTimeout ago is still not whole
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
		_ = r.ep.close()
	}
}

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
