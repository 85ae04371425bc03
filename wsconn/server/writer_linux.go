//go:build linux

package server

import (
	"errors"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// corkSize is how many bytes of small writes (frame headers, small frames)
// a reactor writer gathers before a system call, so that a header and its
// payload usually leave in one writev.
const corkSize = 512

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
	if len(c.wq) > 0 && c.tls == nil {
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
	if c.tls != nil {
		return sendTLS(c, recordTypeAppData, cork, p)
	}
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

// sendTLS seals a then b into records of type typ and writes them,
// queueing the rest.
func sendTLS(c *srvConn, typ byte, a, b []byte) error {
	buf := recordPool.Get().(*[]byte)
	defer recordPool.Put(buf)
	for len(a)+len(b) > 0 {
		ka := min(len(a), maxPlaintext)
		kb := min(len(b), maxPlaintext-ka)
		rec := c.tls.sealAll((*buf)[:0], typ, a[:ka], b[:kb])
		a, b = a[ka:], b[kb:]
		n := 0
		if len(c.wq) == 0 {
			var err error
			if n, err = writeNB(int(c.fd), rec); err != nil {
				return err
			}
		}
		if err := enqueue(c, rec[n:]); err != nil {
			return err
		}
	}
	return nil
}

// closeNotify sends TLS's close_notify after what w holds: the clean end
// of a wss connection's stream, before its FIN.
func (w *nbWriter) closeNotify() error {
	if err := w.flush(); err != nil {
		return err
	}
	return w.setErr(sendTLS(w.c, recordTypeAlert, closeNotifyAlert[:], nil))
}

// closeNotifyAlert is a warning-level close_notify alert.
var closeNotifyAlert = [2]byte{1, alertCloseNotify}

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
		c.wqSince.Store(msStamp(time.Now()))
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
	c.wqSince.Store(msStamp(time.Now()))
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
