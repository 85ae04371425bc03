package wsconn

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Handler handles one complete data message. payload is valid only until
// HandleMessage returns (its buffer is reused for the next message); replies
// go to w, the connection (or a server's write queue), with WriteMessage or a
// FrameWriter. A returned error ends the connection.
type Handler interface {
	HandleMessage(w io.Writer, op ws.OpCode, payload []byte) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w io.Writer, op ws.OpCode, payload []byte) error

// HandleMessage calls f.
func (f HandlerFunc) HandleMessage(w io.Writer, op ws.OpCode, payload []byte) error {
	return f(w, op, payload)
}

// EchoHandler sends every message back unchanged, with the same opcode, as
// one frame. It is the handler the conformance suite expects.
type EchoHandler struct{}

// HandleMessage echoes payload.
func (EchoHandler) HandleMessage(w io.Writer, op ws.OpCode, payload []byte) error {
	return WriteMessage(w, op, payload)
}

// Serve reads one message with m into buf and hands it to h. It returns the
// buffer to keep for the next message (see ReadMessage) and the error that
// ends the connection, if any.
func (m *MessageReader) Serve(rw io.ReadWriter, h Handler, buf []byte) ([]byte, error) {
	op, msg, err := m.ReadMessage(rw, buf)
	if err != nil {
		return msg, err
	}
	return msg, h.HandleMessage(rw, op, msg)
}

// ServeBuffered is Serve for a connection read through br, answering on
// w. A message that is one frame held whole in br's buffer (the common case
// for messages smaller than the buffer) is unmasked where it lies and h
// gets that slice, valid until HandleMessage returns like any payload: no
// copy after the one into br. Other messages are read into buf as by
// ReadMessageBuffered. It returns the buffer to keep for the next message
// and the error that ends the connection, if any. ServeFrom does the same
// through a FrameReader, with less work per message.
func (m *MessageReader) ServeBuffered(br *bufio.Reader, w io.Writer, h Handler, buf []byte) ([]byte, error) {
	return m.serveBuffered(br, w, h, buf)
}

// ServeFrom is ServeBuffered through fr. The common message, one final
// text or binary frame with a 7- or 16-bit length that fits fr's buffer,
// is parsed, unmasked and handed to h where it lies, in a loop that calls
// nothing else but fr's source when the frame is not all there yet.
func (m *MessageReader) ServeFrom(fr *FrameReader, w io.Writer, h Handler, buf []byte) ([]byte, error) {
	for {
		b := fr.buf[fr.r:fr.w]
		fh, n := commonHeader(b)
		if n == 0 || !m.fits(fh.length, n, len(fr.buf)) {
			break
		}
		end := n + int(fh.length)
		if end > len(b) {
			if waitFor(fh, end) == 0 || fr.err != nil {
				break
			}
			fr.fill(end)
			continue
		}
		p, key := b[n:end], fh.key()
		ws.Cipher(p, key, 0)
		if op := fh.op(); op == ws.OpBinary || utf8.Valid(p) {
			fr.r += end
			return buf, h.HandleMessage(w, op, p)
		}
		ws.Cipher(p, key, 0) // invalid text, masked again for the general path
		break
	}
	if op, p, ok := m.nextFrame(fr, nil, true); ok {
		return buf, h.HandleMessage(w, op, p)
	}
	return m.serveGeneral(fr, w, h, buf)
}

func (m *MessageReader) serveBuffered(br peekReader, w io.Writer, h Handler, buf []byte) ([]byte, error) {
	if op, msg, ok := m.bufferedFrame(br, buf, true); ok {
		return buf, h.HandleMessage(w, op, msg)
	}
	return m.serveGeneral(br, w, h, buf)
}

// serveGeneral reads the next message through br on the general path, into
// buf, and hands it to h.
func (m *MessageReader) serveGeneral(br peekReader, w io.Writer, h Handler, buf []byte) ([]byte, error) {
	op, msg, err := m.read(source{br: br, r: br}, w, buf[:0])
	if err != nil {
		return msg, err
	}
	return msg, h.HandleMessage(w, op, msg)
}

// ServeConn runs the frame path on an upgraded connection until it ends:
// it reads messages through a FrameReader of DefaultReadBuffer bytes with
// one MessageReader and one message buffer held for the life of the
// connection (ServeFrom) and passes each to h. It returns the error that
// ended the connection: a *CloseError for a close (sent or answered), io.EOF
// for a peer that went away between messages, or an I/O error. It does not
// close rw.
func ServeConn(rw io.ReadWriter, h Handler, lim Limits) error {
	m := MessageReader{Limits: lim}
	fr := NewFrameReader(rw, DefaultReadBuffer)
	var buf []byte
	for {
		var err error
		if buf, err = m.ServeFrom(fr, rw, h, buf); err != nil {
			return err
		}
	}
}

// CloseGracefully ends a TCP connection after a close frame was written: it
// sends FIN (CloseWrite), reads and discards what the peer still sends for at
// most d or until the peer closes, then closes c. Closing a socket with
// unread input makes the kernel send a reset, which can destroy the close
// frame before the peer reads it; draining first avoids that.
func CloseGracefully(c net.Conn, d time.Duration) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(d))
	var scratch [512]byte
	for {
		if _, err := c.Read(scratch[:]); err != nil {
			break
		}
	}
	return c.Close()
}

// IsNormalClose reports whether err is the peer closing normally: a close
// frame with 1000, 1001 or no code, or io.EOF between messages.
func IsNormalClose(err error) bool {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Remote && (ce.Code == ws.StatusNormalClosure || ce.Code == ws.StatusGoingAway || ce.Code == ws.StatusNoStatusRcvd)
	}
	return errors.Is(err, io.EOF)
}
