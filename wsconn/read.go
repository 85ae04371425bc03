package wsconn

import (
	"errors"
	"io"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn/internal/proto"
)

// Default limits, used where a Limits field is zero. They are the sizes
// Autobahn's largest cases (group 9) send: 16 MiB messages in frames of up to
// 16 MiB.
const (
	DefaultMaxMessage = 16 << 20
	DefaultMaxFrame   = DefaultMaxMessage
)

// Limits bound what a peer can make the reader hold.
type Limits struct {
	// MaxFrame is the largest frame payload accepted, in bytes; a larger one
	// fails the connection with 1009 before any of its payload is read.
	// 0 means DefaultMaxFrame.
	MaxFrame int64
	// MaxMessage is the largest assembled message, in bytes; 0 means
	// DefaultMaxMessage.
	MaxMessage int64
}

// WithDefaults returns l with every field that is 0 (or less) set to its
// default.
func (l Limits) WithDefaults() Limits {
	if l.MaxFrame <= 0 {
		l.MaxFrame = DefaultMaxFrame
	}
	if l.MaxMessage <= 0 {
		l.MaxMessage = DefaultMaxMessage
	}
	return l
}

// ReadHeader reads one client frame header with ws.ReadHeaderBuffer into
// hdr, a caller-owned buffer of at least ws.MaxHeaderSize bytes that must
// outlive the call (it is handed to src.Read, so a stack array would escape
// to the heap: keep it in a long-lived struct), and checks it against the
// rules RFC 6455 sets for a server without extensions: masked, RSV bits zero,
// a known opcode, control frames final and at most 125 bytes, continuation
// only inside a fragmented message (fragmented says whether one is open) and
// no new data frame inside one. A violation returns a *CloseError with code
// 1002; a read error is returned as is. ReadHeader and ReadFrame write
// nothing: a *CloseError from them names the close frame the caller should
// send (FrameWriter.WriteClose) before closing; MessageReader sends it itself.
func ReadHeader(src io.Reader, hdr []byte, fragmented bool) (ws.Header, error) {
	h, err := ws.ReadHeaderBuffer(src, hdr)
	if err != nil {
		if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
			return h, &CloseError{Code: ws.StatusProtocolError, Reason: proto.ReasonHeaderMalformed}
		}
		return h, err
	}
	if reason := proto.CheckHeader(h, fragmented); reason != "" {
		return h, &CloseError{Code: ws.StatusProtocolError, Reason: reason}
	}
	return h, nil
}

// ReadFrame reads one client frame: the header into hdr (see ReadHeader),
// the payload into buf[:Length], unmasked in place with ws.Cipher. It copies
// the payload once, from the kernel (or src's buffer) into buf, and allocates
// nothing. A payload longer than cap(buf) is not read and returns a
// *CloseError with 1009. fragmented is whether a fragmented message is open,
// for the continuation rules.
func ReadFrame(src io.Reader, hdr, buf []byte, fragmented bool) (ws.Header, []byte, error) {
	h, err := ReadHeader(src, hdr, fragmented)
	if err != nil {
		return h, nil, err
	}
	if h.Length > int64(cap(buf)) {
		return h, nil, &CloseError{Code: ws.StatusMessageTooBig, Reason: proto.ReasonFrameTooBig}
	}
	p := buf[:h.Length]
	if _, err := io.ReadFull(src, p); err != nil {
		return h, nil, proto.NoEOF(err)
	}
	ws.Cipher(p, h.Mask, 0)
	return h, p, nil
}

// MessageReader reads whole client messages on the server side of a
// connection. It holds only scratch space (a header buffer and a control
// payload buffer) and the limits: between two messages it references no
// memory and keeps no state, so a server that does not want any per
// connection can borrow one from a sync.Pool for the duration of one
// ReadMessage. The zero value is ready and uses the default limits.
type MessageReader struct {
	// Limits bound the frame and message sizes.
	Limits Limits
	hdr    [ws.MaxHeaderSize]byte
	ctl    [ws.MaxControlFramePayloadSize]byte
	fw     FrameWriter
}

// ReadMessage reads the next data message from rw into buf[:0] and returns
// its opcode (ws.OpText or ws.OpBinary) and payload. The payload is buf
// grown as needed (up to Limits.MaxMessage, growing as bytes actually arrive,
// never on the length a header declares): keep the returned slice to reuse
// its capacity for the next message, so that a steady stream allocates
// nothing.
//
// Fragmented messages are assembled frame by frame; text is validated as
// UTF-8 incrementally, failing on the first fragment that carries an
// impossible sequence. Control frames between fragments are answered on rw:
// a ping gets a pong with the same payload, a pong is ignored, a close is
// checked (code and UTF-8 reason) and echoed.
//
// Any error ends the connection. A *CloseError means a close frame has been
// written to rw: in answer to the peer's close (Remote true) or to fail the
// connection on a violation: 1002 for protocol errors, 1007 for invalid
// UTF-8, 1009 for a frame or message over the limits. Other errors are I/O
// errors of rw (io.EOF when the peer closed between messages).
func (m *MessageReader) ReadMessage(rw io.ReadWriter, buf []byte) (ws.OpCode, []byte, error) {
	op, buf, err := m.readMessage(rw, buf[:0])
	if err == nil {
		return op, buf, nil
	}
	// A type assertion, not errors.As: the reader returns its *CloseError
	// unwrapped, and errors.As would make the target escape (an allocation
	// per message) and run reflection on the hot path.
	if ce, ok := err.(*CloseError); ok && !ce.Remote {
		// Fail the connection: tell the peer why. A write error here is
		// less useful than the reason, so it is dropped.
		_ = m.fw.WriteClose(rw, ce.Code, ce.Reason)
	}
	return op, buf, err
}

func (m *MessageReader) readMessage(rw io.ReadWriter, buf []byte) (ws.OpCode, []byte, error) {
	var (
		op         ws.OpCode
		fragmented bool
		text       proto.UTF8State
		lim        = m.Limits.WithDefaults()
		maxFrame   = lim.MaxFrame
		maxMessage = lim.MaxMessage
	)
	for {
		h, err := ReadHeader(rw, m.hdr[:], fragmented)
		if err != nil {
			if fragmented {
				err = proto.NoEOF(err)
			}
			return 0, buf, err
		}
		if h.OpCode.IsControl() {
			if err := m.control(rw, h); err != nil {
				return 0, buf, err
			}
			continue
		}
		if h.Length > maxFrame {
			return 0, buf, &CloseError{Code: ws.StatusMessageTooBig, Reason: proto.ReasonFrameTooBig}
		}
		if int64(len(buf))+h.Length > maxMessage {
			return 0, buf, &CloseError{Code: ws.StatusMessageTooBig, Reason: proto.ReasonTooBig}
		}
		if !fragmented {
			op = h.OpCode
		}
		buf, err = readPayload(rw, buf, h, maxMessage, op == ws.OpText, &text)
		if err != nil {
			return 0, buf, err
		}
		if h.Fin {
			if op == ws.OpText && !text.Complete() {
				return 0, buf, &CloseError{Code: ws.StatusInvalidFramePayloadData, Reason: proto.ReasonInvalidUTF8}
			}
			return op, buf, nil
		}
		fragmented = true
	}
}

// readChunk is the most readPayload asks of one Read: large enough for one
// read system call to move a lot, small enough that the buffer grows with
// the bytes that actually arrive.
const readChunk = 64 << 10

// readPayload appends the payload of h to buf. It unmasks and (for text)
// validates each piece as soon as a Read returns it rather than after the
// whole frame: invalid UTF-8 fails the connection when the bad bytes arrive,
// even in the middle of a frame whose rest the peer has not sent yet.
func readPayload(src io.Reader, buf []byte, h ws.Header, limit int64, text bool, st *proto.UTF8State) ([]byte, error) {
	remain := h.Length
	off := 0
	empty := 0
	for remain > 0 {
		if len(buf) == cap(buf) {
			buf = proto.Grow(buf, proto.NextCap(cap(buf), 512, limit))
		}
		n := int(min(remain, int64(cap(buf)-len(buf)), readChunk))
		piece := buf[len(buf) : len(buf)+n]
		n, err := src.Read(piece)
		piece = piece[:n]
		ws.Cipher(piece, h.Mask, off)
		off += n
		remain -= int64(n)
		buf = buf[:len(buf)+n]
		if text {
			if *st = st.Feed(piece); *st == proto.UTF8Invalid {
				return buf, &CloseError{Code: ws.StatusInvalidFramePayloadData, Reason: proto.ReasonInvalidUTF8}
			}
		}
		if err != nil {
			if remain == 0 && err == io.EOF {
				break
			}
			return buf, proto.NoEOF(err)
		}
		// Like io.ReadFull, do not spin forever on a reader that returns
		// nothing and no error.
		if n == 0 {
			if empty++; empty > 100 {
				return buf, io.ErrNoProgress
			}
		}
	}
	return buf, nil
}

// control handles a ping, pong or close frame h whose payload is next in rw.
func (m *MessageReader) control(rw io.ReadWriter, h ws.Header) error {
	p := m.ctl[:h.Length]
	if _, err := io.ReadFull(rw, p); err != nil {
		return proto.NoEOF(err)
	}
	ws.Cipher(p, h.Mask, 0)
	switch h.OpCode {
	case ws.OpPing:
		return m.fw.WriteFrame(rw, ws.Header{Fin: true, OpCode: ws.OpPong}, p)
	case ws.OpPong:
		return nil
	}
	code, reason, ce := parseClose(p)
	if ce != nil {
		return ce
	}
	ce = &CloseError{Code: code, Reason: string(reason), Remote: true}
	if err := m.fw.WriteClose(rw, code, ""); err != nil {
		return err
	}
	return ce
}
