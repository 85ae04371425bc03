package server

import (
	"bufio"
	"errors"
	"os"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn"
)

// serveGoroutine runs an upgraded connection on the calling goroutine until
// it ends, then closes it. The connection keeps its reader, frame scratch
// and message buffer for its whole life; its bufio.Writer comes from the
// server's pool at the first write and goes back at the flush that ends a
// burst of writes, so an idle connection holds none.
//
// Between messages the goroutine waits in Peek with a read deadline that
// carries every timer of the connection: the ping due time (last read +
// PingInterval), then the pong deadline (ping + PongTimeout). Shutdown sets
// the deadline to now to wake it, and the goroutine writes the close frame
// itself, so all writes to the connection stay on this one goroutine and
// need no lock.
func (s *Server) serveGoroutine(c *srvConn) {
	sc := &scratch{br: bufio.NewReaderSize(countReader{c}, s.o.ReadBufferSize)}
	sc.m.Limits = s.o.Limits
	bw := &pooledWriter{s: s, c: c}
	err := s.loopGoroutine(c, sc, bw)

	var ce *wsconn.CloseError
	switch {
	case errors.As(err, &ce), errors.Is(err, errGoingAway):
		// A close frame was written: flush it, FIN, drain, close.
		_ = bw.Flush()
		_ = wsconn.CloseGracefully(c.nc, s.o.CloseTimeout)
	default:
		// EOF, I/O error, pong timeout, handler error: nothing to say (nor
		// a TLS close_notify).
		bw.release()
		closeNow(c.nc)
	}
	s.untrack(c)
}

// errGoingAway ends a connection that was sent close 1001.
var errGoingAway = errors.New("wsconn/server: going away")

// errPongTimeout ends a connection that did not answer a ping in time.
var errPongTimeout = errors.New("wsconn/server: no pong within PongTimeout")

func (s *Server) loopGoroutine(c *srvConn, sc *scratch, bw *pooledWriter) error {
	if s.mustGoAway(c) {
		return s.sendGoingAway(sc, bw)
	}
	for {
		// Idle: wait for the first byte of the next unit. c.idle tells
		// goAway whether waking the goroutine with a deadline is safe.
		c.mu.Lock()
		c.idle = true
		_ = c.nc.SetReadDeadline(s.idleDeadline(c))
		c.mu.Unlock()
		_, err := sc.br.Peek(1)
		c.mu.Lock()
		c.idle = false
		if err == nil {
			// Busy: the rest of the unit must arrive within ReadTimeout.
			_ = c.nc.SetReadDeadline(time.Now().Add(s.o.ReadTimeout))
		}
		c.mu.Unlock()
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				return err
			}
			if s.mustGoAway(c) {
				return s.sendGoingAway(sc, bw)
			}
			now := time.Now()
			if ps := c.pingSent.Load(); ps != 0 {
				if now.Sub(time.Unix(0, ps)) >= s.o.PongTimeout {
					s.ctr.pongTimeouts.Add(1)
					return errPongTimeout
				}
				continue
			}
			if s.o.PingInterval > 0 && now.Sub(time.Unix(0, c.lastRead.Load())) >= s.o.PingInterval {
				if err := s.ping(c, &sc.fw, bw); err != nil {
					return err
				}
				if err := bw.Flush(); err != nil {
					return err
				}
			}
			continue
		}
		if err := s.unit(c, sc, bw); err != nil {
			return err
		}
		if sc.br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return err
			}
		}
	}
}

// mustGoAway reports whether Shutdown asked this connection to close.
func (s *Server) mustGoAway(c *srvConn) bool {
	return c.goingAway.Load() && c.closeAt.Load() == 0
}

// sendGoingAway writes close 1001 to w.
func (s *Server) sendGoingAway(sc *scratch, bw *pooledWriter) error {
	_ = sc.fw.WriteClose(bw, ws.StatusGoingAway, "server shutting down")
	return errGoingAway
}

// ping writes a ping and records it.
func (s *Server) ping(c *srvConn, fw *wsconn.FrameWriter, w interface{ Write([]byte) (int, error) }) error {
	c.pingSent.Store(time.Now().UnixNano())
	s.ctr.pings.Add(1)
	return fw.WriteFrame(w, ws.Header{Fin: true, OpCode: ws.OpPing}, nil)
}

// idleDeadline is when an idle goroutine connection must next wake up.
func (s *Server) idleDeadline(c *srvConn) time.Time {
	if c.goingAway.Load() {
		return time.Now()
	}
	if ps := c.pingSent.Load(); ps != 0 {
		return time.Unix(0, ps).Add(s.o.PongTimeout)
	}
	if s.o.PingInterval > 0 {
		return time.Unix(0, c.lastRead.Load()).Add(s.o.PingInterval)
	}
	return time.Time{}
}

// pooledWriter is a goroutine connection's buffered writer, taken from
// Server.wpool at the first Write and given back by Flush.
type pooledWriter struct {
	s  *Server
	c  *srvConn
	bw *bufio.Writer
}

// Write implements io.Writer.
func (w *pooledWriter) Write(p []byte) (int, error) {
	if w.bw == nil {
		if v := w.s.wpool.Get(); v != nil {
			w.bw = v.(*bufio.Writer)
			w.bw.Reset(countWriter{w.c})
		} else {
			w.bw = bufio.NewWriterSize(countWriter{w.c}, w.s.o.WriteBufferSize)
		}
	}
	return w.bw.Write(p)
}

// Flush writes what is buffered and gives the buffer back.
func (w *pooledWriter) Flush() error {
	if w.bw == nil {
		return nil
	}
	err := w.bw.Flush()
	w.release()
	return err
}

// release gives the buffer back without writing it.
func (w *pooledWriter) release() {
	if w.bw != nil {
		w.bw.Reset(nil)
		w.s.wpool.Put(w.bw)
		w.bw = nil
	}
}
