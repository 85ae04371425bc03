//go:build linux

package server

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn/internal/proto"
	"golang.org/x/sys/unix"
)

// This file is the reactor's front door: accepting on the listener's
// descriptor, refusing past MaxConns or out of descriptors, and the opening
// handshake, read without waiting like any other input.

// maxAcceptsPerEvent bounds the connections the poller accepts per report
// of the listener, so that a storm of new connections does not hold up the
// events of open ones; the listener is level-triggered, so epoll reports it
// again at once if more are waiting.
const maxAcceptsPerEvent = 64

// errRejected ends a handshake that was answered with an HTTP error (or a
// refusal): the answer is in the connection's writer, and the connection
// closes gracefully (FIN, then drain) so that the answer is not lost to a
// reset.
var errRejected = errors.New("wsconn/server: handshake rejected")

// acceptAll accepts what the listener has (up to maxAcceptsPerEvent) and
// registers each connection in its handshake. Poller only.
func (r *reactor) acceptAll() {
	r.lmu.Lock()
	defer r.lmu.Unlock()
	for range maxAcceptsPerEvent {
		if r.lfd < 0 || r.lpaused {
			return
		}
		fd, err := accept4Raw(r.lfd)
		switch {
		case err == nil:
			r.adopt(fd)
		case err == unix.EAGAIN:
			return
		case isOutOfFDs(err):
			switch err := r.acceptOnSpare(); {
			case err == errWouldBlock:
				return
			case err != nil:
				r.pauseAccept()
				return
			}
		case err == unix.EINTR, err == unix.ECONNABORTED, err == unix.EPERM, err == unix.EPROTO,
			err == unix.ENOPROTOOPT, err == unix.EHOSTDOWN, err == unix.ENONET, err == unix.EHOSTUNREACH,
			err == unix.EOPNOTSUPP, err == unix.ENETDOWN, err == unix.ENETUNREACH:
			// The connection went away before it was accepted, or a
			// network error that accept(2) says to retry on.
		default:
			r.acceptErr = os.NewSyscallError("accept4", err)
			r.closeListenerLocked()
			return
		}
	}
}

// adopt registers a socket just accepted: in its handshake, or, past
// MaxConns, answered 503 and closing. The poller owns it until it releases
// it here.
func (r *reactor) adopt(fd int) {
	s := r.s
	s.ctr.accepted.Add(1)
	c := &srvConn{srv: s, fd: int32(fd), busy: true, refused: s.atMaxConns()}
	if !s.track(c) {
		_ = unix.Close(fd)
		return
	}
	now := time.Now()
	c.lastRead.Store(now.UnixNano())
	c.partSince.Store(msStamp(now)) // the handshake's start, for HandshakeTimeout
	r.mu.Lock()
	r.gen++
	c.gen = r.gen
	if fd >= len(r.byFD) {
		// Doubled, not grown by append's 1.25 for large slices: the
		// table's old copies are garbage made while establishing.
		if fd >= cap(r.byFD) {
			r.byFD = slices.Grow(r.byFD, max(fd+1, 2*cap(r.byFD), 64)-len(r.byFD))
		}
		r.byFD = r.byFD[:fd+1]
	}
	r.byFD[fd] = c
	r.mu.Unlock()
	if r.tls != nil {
		// The TLS handshake runs on a goroutine that owns c until it
		// registers c or closes it; past MaxConns the 503 follows it.
		if c.refused {
			s.ctr.refusedMax.Add(1)
		}
		s.goFunc(func() { r.tlsHandshake(c) })
		return
	}
	if err := r.ep.add(fd, c.gen, evRead); err != nil {
		r.markDead(c)
	} else if c.refused {
		// A fresh socket's buffer takes the short answer at once.
		s.ctr.refusedMax.Add(1)
		var w nbWriter
		w.init(c, nil)
		_, _ = w.Write(s.refusal[refuseMaxConns])
		r.closing(c, &w)
	}
	r.release(c, false)
}

// acceptOnSpare accepts when the process is out of descriptors: it closes
// the reserve descriptor and accepts with its slot. If the reserve can be
// reopened then (descriptors were freed meanwhile), the connection is
// adopted as usual; otherwise it is answered 503, what the client already
// sent is read (so that closing does not reset the connection over unread
// bytes), it is closed at once and the reserve reopened. It returns
// errWouldBlock when no connection was waiting, another error when there is
// no reserve or still no descriptor: the caller then stops watching the
// listener until the sweep gets the reserve back.
func (r *reactor) acceptOnSpare() error {
	s := r.s
	if !s.spare.release() {
		return unix.EMFILE
	}
	fd, err := accept4Raw(r.lfd)
	s.spare.open()
	switch {
	case err == unix.EAGAIN:
		return errWouldBlock
	case err != nil:
		return err
	case s.spare.f != nil:
		r.adopt(fd)
		return nil
	}
	s.ctr.accepted.Add(1)
	s.ctr.refusedFDs.Add(1)
	if r.tls == nil { // under TLS an answer would need the handshake
		_, _ = writeNB(fd, s.refusal[refuseNoFDs])
	}
	var req [2048]byte
	_, _ = readNB(fd, req[:])
	_ = unix.Shutdown(fd, unix.SHUT_WR)
	_ = unix.Close(fd)
	s.spare.open()
	return nil
}

// pauseAccept stops epoll reporting the listener (it is level-triggered,
// and a connection that can be neither accepted nor refused would be
// reported without end); the sweep's resumeAccept turns it back on.
// The caller holds r.lmu.
func (r *reactor) pauseAccept() {
	ev := unix.EpollEvent{Events: 0, Fd: evListener}
	if epollCtlRaw(r.ep.fd, unix.EPOLL_CTL_MOD, r.lfd, &ev) == nil {
		r.lpaused = true
	}
}

// resumeAccept watches the listener again once the reserve descriptor could
// be reopened (connections have closed since). Poller only, every tick.
func (r *reactor) resumeAccept() {
	r.lmu.Lock()
	defer r.lmu.Unlock()
	if !r.lpaused || r.lfd < 0 {
		return
	}
	if r.s.spare.open(); r.s.spare.f == nil {
		return
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: evListener}
	if epollCtlRaw(r.ep.fd, unix.EPOLL_CTL_MOD, r.lfd, &ev) == nil {
		r.lpaused = false
	}
}

// stopAccepting closes the reactor's listener descriptor (Shutdown, after
// closing the net.Listener, whose socket the duplicate would keep open).
func (r *reactor) stopAccepting() {
	r.lmu.Lock()
	defer r.lmu.Unlock()
	r.closeListenerLocked()
}

func (r *reactor) closeListenerLocked() {
	if r.lfd < 0 {
		return
	}
	_ = r.ep.del(r.lfd)
	_ = unix.Close(r.lfd)
	r.lfd = -1
	close(r.lstopped)
}

// acceptEnded waits until the reactor stops accepting, and returns the
// accept error that stopped it, nil after stopAccepting.
func (r *reactor) acceptEnded() error {
	<-r.lstopped
	r.lmu.Lock()
	defer r.lmu.Unlock()
	return r.acceptErr
}

// handshakeIn reads what the socket has of the opening handshake, never
// waiting for more, into the connection's input buffer, bounded by
// MaxHeaderBytes (431 past it). The request line is checked as soon as it
// is in, the whole request once its empty line is (requestIn). It returns
// errRejected when an HTTP error was written, the error that ends the
// connection otherwise, nil to wait for more or once upgraded.
func (r *reactor) handshakeIn(c *srvConn, sc *reactorScratch) error {
	o := &r.s.o
	in := c.in
	if in == nil {
		in = r.inPool.Get().(*inBuf)
		if in.b == nil {
			in.b = make([]byte, 0, min(o.ReadBufferSize, o.MaxHeaderBytes))
		}
		c.in = in
	}
	for range maxReadsPerEvent {
		room := min(cap(in.b), o.MaxHeaderBytes) - len(in.b)
		if room <= 0 {
			if len(in.b) >= o.MaxHeaderBytes {
				return r.reject(&sc.w, "431 Request Header Fields Too Large")
			}
			in.b = proto.Grow(in.b, proto.NextCap(cap(in.b), o.ReadBufferSize, int64(o.MaxHeaderBytes)))
			continue
		}
		old := len(in.b)
		n, rerr := c.read(in.b[old : old+room])
		if n > 0 {
			c.lastRead.Store(time.Now().UnixNano())
			in.b = in.b[:old+n]
			if done, err := r.requestIn(c, sc, old); done || err != nil {
				return err
			}
		}
		if rerr == errWouldBlock {
			return nil
		}
		if rerr != nil {
			return rerr // io.EOF: the client left before its request was whole
		}
	}
	return nil
}

// requestIn looks at the request bytes that arrived from offset old on. A
// request line that just arrived is checked alone (ws.Upgrader on that line
// stops at the end of its input, or answers 400, 405 or 505 as it would on
// a socket); a request whose empty line has arrived is answered in full:
// 101, or the 4xx ws.Upgrader writes, or 400 where it writes nothing. After
// a 101, bytes the client sent behind its request are the first frames,
// and run through the frame path. done reports that the handshake is over
// (upgraded, or err says how it failed).
func (r *reactor) requestIn(c *srvConn, sc *reactorScratch, old int) (done bool, err error) {
	in := c.in
	end := headerEnd(in.b, max(0, old-2))
	if end < 0 {
		if first := bytes.IndexByte(in.b, '\n'); first >= old {
			if err := r.upgrade(sc, in.b[:first+1]); err != nil {
				return true, err
			}
		}
		return false, nil
	}
	if err := r.upgrade(sc, in.b[:end]); err != nil {
		return true, err
	}
	r.s.upgradedConn(c)
	c.partSince.Store(0)
	if end == len(in.b) {
		r.dropIn(c)
		return true, nil
	}
	in.b = in.b[:copy(in.b, in.b[end:])]
	c.partSince.Store(msStamp(time.Now()))
	err = r.units(c, sc, in)
	if c.in != nil && len(c.in.b) == 0 {
		r.dropIn(c)
	}
	return true, err
}

// upgrade runs ws.Upgrader over req, answering on sc.w. It returns nil
// after a 101, nil too when req is a request line alone that ws.Upgrader
// found nothing wrong with, and errRejected once an error was answered.
func (r *reactor) upgrade(sc *reactorScratch, req []byte) error {
	sc.src.Reset(req)
	sc.hw.n = 0
	_, err := ws.Upgrade(&sc.hrw)
	sc.src.Reset(nil)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil // a request line alone: the rest is on its way
	case sc.hw.n == 0:
		return r.reject(&sc.w, "400 Bad Request") // not HTTP: ws.Upgrader wrote nothing
	}
	r.s.ctr.hsErrors.Add(1)
	return errRejected
}

// reject writes an HTTP error answer to w, counts a failed handshake and
// returns errRejected.
func (r *reactor) reject(w io.Writer, status string) error {
	r.s.ctr.hsErrors.Add(1)
	_, _ = io.WriteString(w, "HTTP/1.1 "+status+"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
	return errRejected
}

// headerEnd returns the length of the request at the start of b: through
// the empty line that ends its header ("\n\n" or "\n\r\n": ws.Upgrader's
// readLine takes a line ending in "\n" or "\r\n"), or -1 if that line is
// not in b. The search starts at from, which must be before the '\n' that
// starts the end.
func headerEnd(b []byte, from int) int {
	for i := from; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// countingWriter counts the bytes written through it: whether ws.Upgrader
// answered.
type countingWriter struct {
	w io.Writer
	n int
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += n
	return n, err
}
