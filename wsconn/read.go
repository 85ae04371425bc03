package wsconn

import (
	"bufio"
	"encoding/binary"
	"io"
	"unicode/utf8"

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

// ReadHeader reads one client frame header into hdr, a caller-owned buffer
// of at least ws.MaxHeaderSize bytes that must outlive the call (it is
// handed to src.Read, so a stack array would escape to the heap: keep it in
// a long-lived struct), and parses it with ParseHeader: the same bytes, the
// same checks and the same errors. It reads the first two bytes, then the
// rest of the header. A read error is returned as is, except that an end
// of input inside the header is io.ErrUnexpectedEOF. ReadHeader and
// ReadFrame write nothing: a *CloseError from them names the close frame the
// caller should send (FrameWriter.WriteClose) before closing; MessageReader
// sends it itself.
func ReadHeader(src io.Reader, hdr []byte, fragmented bool) (ws.Header, error) {
	h, err := readHeader(src, hdr, fragmented)
	return h.header(), err
}

// ParseHeader parses the client frame header at the start of b, bytes
// already in memory (a bufio.Reader's buffer, a reactor's input), and
// returns it with its size in bytes. It decodes what ws.ReadHeaderBuffer
// decodes (a 64-bit length with its top bit set is malformed) and checks
// the header against the rules RFC 6455 sets for a server without
// extensions: masked, RSV bits zero, a known opcode, control frames final
// and at most 125 bytes, continuation only inside a fragmented message
// (fragmented says whether one is open) and no new data frame inside one.
// A violation returns a *CloseError with code 1002. If b holds only part of
// a header, n is 0 and err is io.ErrUnexpectedEOF (io.EOF if b is empty).
func ParseHeader(b []byte, fragmented bool) (h ws.Header, n int, err error) {
	fh, n, err := parseHeader(b, fragmented)
	return fh.header(), n, err
}

// frameHeader is a parsed header in a form the compiler keeps in registers.
// ws.Header holds an array, so it lives in memory, and a profile of the
// 16-byte read showed each copy of it from one function to the next
// costing more than the parse: its fields are stored byte by byte and
// reloaded 16 bytes at a time, which the CPU cannot forward from the
// stores.
type frameHeader struct {
	length int64
	mask   uint32 // the masking key, little-endian: byte k is key byte k
	b0     byte   // FIN, RSV and opcode
	masked bool
}

func (h frameHeader) op() ws.OpCode { return ws.OpCode(h.b0 & 0x0f) }
func (h frameHeader) fin() bool     { return h.b0&0x80 != 0 }

// key is the masking key as ws.Cipher takes it.
func (h frameHeader) key() (k [4]byte) {
	binary.LittleEndian.PutUint32(k[:], h.mask)
	return k
}

func (h frameHeader) header() ws.Header {
	return ws.Header{
		Fin:    h.fin(),
		Rsv:    (h.b0 >> 4) & 0x07,
		OpCode: h.op(),
		Masked: h.masked,
		Mask:   h.key(),
		Length: h.length,
	}
}

// headerLen is the size of a frame header whose second byte is b1: 2, plus
// 2 or 8 bytes of extended length, plus 4 of mask.
func headerLen(b1 byte) int {
	n := 2 + int(b1>>7)*4
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	return n
}

// parseHeader is ParseHeader. The common header, a final text or binary
// frame outside a fragmented message, is recognised from its first byte
// and the mask bit alone; the rule-by-rule check runs only for the others.
func parseHeader(b []byte, fragmented bool) (h frameHeader, n int, err error) {
	if len(b) < 2 {
		if len(b) == 0 {
			return h, 0, io.EOF
		}
		return h, 0, io.ErrUnexpectedEOF
	}
	b0, b1 := b[0], b[1]
	n = headerLen(b1)
	if len(b) < n {
		return h, 0, io.ErrUnexpectedEOF
	}
	h.b0 = b0
	h.masked = b1&0x80 != 0
	switch l := b1 & 0x7f; l {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		if b[2]&0x80 != 0 {
			return h, 0, &CloseError{Code: ws.StatusProtocolError, Reason: proto.ReasonHeaderMalformed}
		}
		h.length = int64(binary.BigEndian.Uint64(b[2:10]))
	default:
		h.length = int64(l)
	}
	if h.masked {
		h.mask = binary.LittleEndian.Uint32(b[n-4 : n])
	}
	if (b0 == 0x81 || b0 == 0x82) && h.masked && !fragmented {
		return h, n, nil
	}
	if reason := proto.CheckHeader(h.header(), fragmented); reason != "" {
		return h, 0, &CloseError{Code: ws.StatusProtocolError, Reason: reason}
	}
	return h, n, nil
}

// readHeader is ReadHeader.
func readHeader(src io.Reader, hdr []byte, fragmented bool) (frameHeader, error) {
	if cap(hdr) < ws.MaxHeaderSize {
		return frameHeader{}, io.ErrShortBuffer
	}
	hdr = hdr[:ws.MaxHeaderSize]
	if _, err := io.ReadFull(src, hdr[:2]); err != nil {
		return frameHeader{}, err
	}
	n := headerLen(hdr[1])
	if _, err := io.ReadFull(src, hdr[2:n]); err != nil {
		return frameHeader{}, proto.NoEOF(err)
	}
	h, _, err := parseHeader(hdr[:n], fragmented)
	return h, err
}

// peekReader is a reader with a buffer that headers are parsed in:
// *bufio.Reader and *FrameReader.
type peekReader interface {
	io.Reader
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
	Buffered() int
	Size() int
}

// peekHeader is readHeader for a source read through br: the header is
// parsed where it lies in br's buffer (one Peek, two when the buffer holds
// less than a whole header) and then discarded, instead of being copied out
// by two Reads.
func peekHeader(br peekReader, fragmented bool) (frameHeader, error) {
	b, err := br.Peek(max(2, min(br.Buffered(), ws.MaxHeaderSize)))
	if len(b) >= 2 && len(b) < headerLen(b[1]) {
		b, err = br.Peek(headerLen(b[1]))
	}
	h, n, perr := parseHeader(b, fragmented)
	if n == 0 {
		if (perr == io.EOF || perr == io.ErrUnexpectedEOF) && err != nil {
			if len(b) > 0 {
				return h, proto.NoEOF(err)
			}
			return h, err
		}
		return h, perr
	}
	_, _ = br.Discard(n) // n bytes are buffered: Discard cannot fail
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
//
// ReadMessage reads each frame with three Reads of rw (two for the header,
// one for the payload). For a stream of small messages, ReadMessageFrom
// does the same through a FrameReader, parsing each frame where it lies in
// the reader's buffer.
func (m *MessageReader) ReadMessage(rw io.ReadWriter, buf []byte) (ws.OpCode, []byte, error) {
	return m.read(source{r: rw}, rw, buf[:0])
}

// ReadMessageBuffered is ReadMessage for a connection read through br
// (answers to pings and closes go to w): each header is parsed where it
// lies in br's buffer, and a payload that br holds whole is copied out of
// it. Messages, limits, checks and errors are those of ReadMessage.
// Payloads larger than br's buffer are still read straight into buf
// (bufio.Reader.Read bypasses its buffer for them). ReadMessageFrom does
// the same through a FrameReader, with less work per message.
func (m *MessageReader) ReadMessageBuffered(br *bufio.Reader, w io.Writer, buf []byte) (ws.OpCode, []byte, error) {
	return m.readBuffered(br, w, buf[:0])
}

// ReadMessageFrom is ReadMessageBuffered through fr.
func (m *MessageReader) ReadMessageFrom(fr *FrameReader, w io.Writer, buf []byte) (ws.OpCode, []byte, error) {
	if op, p, ok := m.nextFrame(fr, buf[:0], false); ok {
		return op, p, nil
	}
	return m.read(source{br: fr, r: fr}, w, buf[:0])
}

// nextFrame is bufferedFrame for a FrameReader, reading its buffer
// directly: frameAt on the buffered bytes, and a read of fr's source
// whenever it needs more.
func (m *MessageReader) nextFrame(fr *FrameReader, buf []byte, inPlace bool) (ws.OpCode, []byte, bool) {
	for {
		op, p, n, need := m.frameAt(fr.buf[fr.r:fr.w], len(fr.buf), buf, inPlace)
		if n > 0 {
			fr.r += n
			return op, p, true
		}
		if need == 0 || fr.err != nil {
			return 0, buf, false
		}
		// need is at most the buffer's size and more than is buffered,
		// so the buffer is not full (fill moves the bytes to the front
		// if they leave less than need behind them).
		fr.fill(need)
	}
}

// WholeFrame is the fast path over bytes already in memory (a reactor's
// input buffer): if b starts with a message that is one final text or
// binary frame, held whole in b, valid (masked, no reserved bits, text
// that is valid UTF-8) and within m's limits, it unmasks the payload where
// it lies and returns the opcode, the payload (a slice of b) and the
// frame's size in bytes. Otherwise n is 0 and b is as it was: a control
// frame, a fragment, a frame not all there yet or any violation is for
// ReadMessage (on a reader of b) to read, and to fail as it does.
func (m *MessageReader) WholeFrame(b []byte) (op ws.OpCode, payload []byte, n int) {
	op, payload, n, _ = m.frameAt(b, len(b), nil, true)
	return op, payload, n
}

// readBuffered reads the next message through br: one whole frame copied
// out of its buffer if it can (bufferedFrame), else the general path.
func (m *MessageReader) readBuffered(br peekReader, w io.Writer, buf []byte) (ws.OpCode, []byte, error) {
	if op, msg, ok := m.bufferedFrame(br, buf, false); ok {
		return op, msg, nil
	}
	return m.read(source{br: br, r: br}, w, buf)
}

// bufferedFrame is frameAt on the bytes br holds, waiting (Peek) for the
// bytes it says it needs: br moves past the frame it returns, and past
// nothing if ok is false.
func (m *MessageReader) bufferedFrame(br peekReader, buf []byte, inPlace bool) (op ws.OpCode, p []byte, ok bool) {
	b, _ := br.Peek(br.Buffered())
	op, p, n, need := m.frameAt(b, br.Size(), buf, inPlace)
	for need > 0 {
		// need grows with each round (a header, then a whole frame) or
		// is 0: the loop ends.
		if b, _ = br.Peek(need); len(b) < need {
			return 0, buf, false
		}
		op, p, n, need = m.frameAt(b, br.Size(), buf, inPlace)
	}
	if n == 0 {
		return 0, buf, false
	}
	_, _ = br.Discard(n) // n bytes are buffered: Discard cannot fail
	return op, p, true
}

// frameAt is the fast path for the message at the start of b, the bytes
// buffered at the front of a reader whose buffer holds size bytes, when it
// is the common case: one final text or binary frame, valid, within the
// limits and no larger than size. If b holds it whole, frameAt unmasks the
// payload (where it lies if inPlace, else copied into buf, grown as
// needed), checks text's UTF-8 and returns the opcode, the payload and n,
// the frame's size in b. If b holds only part of such a frame (part of its
// header, or part of a binary one's payload), n is 0 and need is how many
// bytes must be buffered before calling again; a text frame held in part
// goes to the general path instead, which checks UTF-8 on each piece as it
// arrives, so that invalid text fails before the rest of its frame is
// sent. For anything else n and need are 0 and b is as it was (text that
// is not valid UTF-8 is masked again): the general path reads the message
// and finds any error as ReadMessage would.
func (m *MessageReader) frameAt(b []byte, size int, buf []byte, inPlace bool) (op ws.OpCode, p []byte, n, need int) {
	h, n := commonHeader(b)
	if n == 0 {
		if len(b) < 2 {
			return 0, nil, 0, 2
		}
		if hl := headerLen(b[1]); len(b) < hl {
			return 0, nil, 0, hl
		}
		var err error
		if h, n, err = parseHeader(b, false); err != nil || !h.fin() || h.op().IsControl() {
			return 0, nil, 0, 0
		}
	}
	if !m.fits(h.length, n, size) {
		return 0, nil, 0, 0
	}
	end := n + int(h.length)
	if len(b) < end {
		return 0, nil, 0, waitFor(h, end)
	}
	p = b[n:end]
	if !inPlace {
		if cap(buf) < len(p) {
			// The bytes have arrived: growing to their length is growing
			// with what arrived, not with what a header declares.
			buf = proto.Grow(buf, max(len(p), proto.NextCap(cap(buf), 512, m.Limits.WithDefaults().MaxMessage)))
		}
		p = buf[:copy(buf[:len(p)], p)]
	}
	if !unmask(p, h) {
		if inPlace {
			unmask(p, h) // mask it again: the general path reads it as it came
		}
		return 0, nil, 0, 0
	}
	return h.op(), p, end, 0
}

// commonHeader decodes the header at the start of b if it is the common
// one, a final text or binary frame, masked, with a 7- or 16-bit length
// (what parseHeader would accept without its rule-by-rule check), and b
// holds it: n is its size, 0 for any other header. It is small enough to
// be inlined into the loops that call it.
func commonHeader(b []byte) (h frameHeader, n int) {
	if len(b) < 8 || b[0]-0x81 >= 2 || b[1] < 0x80 || b[1] == 0xff {
		return h, 0
	}
	h.b0, h.masked, h.length, n = b[0], true, int64(b[1]&0x7f), 6
	if h.length == 126 {
		h.length, n = int64(binary.BigEndian.Uint16(b[2:4])), 8
	}
	h.mask = binary.LittleEndian.Uint32(b[n-4 : n])
	return h, n
}

// fits reports whether a data frame of length bytes behind an n-byte
// header is within m's limits and fits a buffer of size bytes whole.
func (m *MessageReader) fits(length int64, n, size int) bool {
	lim := m.Limits.WithDefaults()
	return length <= lim.MaxFrame && length <= lim.MaxMessage && length <= int64(size-n)
}

// waitFor is how many bytes a reader should buffer for the fast path to
// read a frame h of end bytes (header and payload) that it holds in part:
// end for binary, 0 for text, which goes to the general path so that its
// UTF-8 is checked on each piece as it arrives and invalid text fails
// before the rest of its frame is sent.
func waitFor(h frameHeader, end int) int {
	if h.op() == ws.OpText {
		return 0
	}
	return end
}

// unmask unmasks p, the whole payload of h, and reports whether it is a
// valid message payload: binary, or text that is valid UTF-8.
func unmask(p []byte, h frameHeader) bool {
	ws.Cipher(p, h.key(), 0)
	return h.op() != ws.OpText || utf8.Valid(p)
}

// read reads a message with readMessage and writes the close frame for a
// violation it finds.
func (m *MessageReader) read(src source, w io.Writer, buf []byte) (ws.OpCode, []byte, error) {
	op, buf, err := m.readMessage(src, w, buf)
	if err == nil {
		return op, buf, nil
	}
	// A type assertion, not errors.As: the reader returns its *CloseError
	// unwrapped, and errors.As would make the target escape (an allocation
	// per message) and run reflection on the hot path.
	if ce, ok := err.(*CloseError); ok && !ce.Remote {
		// Fail the connection: tell the peer why. A write error here is
		// less useful than the reason, so it is dropped.
		_ = m.fw.WriteClose(w, ce.Code, ce.Reason)
	}
	return op, buf, err
}

// source is what a MessageReader reads frames from: r, and br when r is a
// reader with a buffer that headers are parsed in (then r is br). It is
// never converted to an io.Reader itself: that would put it on the heap.
type source struct {
	br peekReader
	r  io.Reader
}

func (s source) header(hdr []byte, fragmented bool) (frameHeader, error) {
	if s.br != nil {
		return peekHeader(s.br, fragmented)
	}
	return readHeader(s.r, hdr, fragmented)
}

func (s source) Read(p []byte) (int, error) { return s.r.Read(p) }

func (m *MessageReader) readMessage(src source, w io.Writer, buf []byte) (ws.OpCode, []byte, error) {
	var (
		op         ws.OpCode
		fragmented bool
		text       proto.UTF8State
		lim        = m.Limits.WithDefaults()
		maxFrame   = lim.MaxFrame
		maxMessage = lim.MaxMessage
	)
	for {
		h, err := src.header(m.hdr[:], fragmented)
		if err != nil {
			if fragmented {
				err = proto.NoEOF(err)
			}
			return 0, buf, err
		}
		if h.op().IsControl() {
			if err := m.control(src, w, h); err != nil {
				return 0, buf, err
			}
			continue
		}
		if h.length > maxFrame {
			return 0, buf, &CloseError{Code: ws.StatusMessageTooBig, Reason: proto.ReasonFrameTooBig}
		}
		if int64(len(buf))+h.length > maxMessage {
			return 0, buf, &CloseError{Code: ws.StatusMessageTooBig, Reason: proto.ReasonTooBig}
		}
		if !fragmented {
			op = h.op()
		}
		buf, err = readPayload(src, buf, h, maxMessage, op == ws.OpText, &text)
		if err != nil {
			return 0, buf, err
		}
		if h.fin() {
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
func readPayload(src source, buf []byte, h frameHeader, limit int64, text bool, st *proto.UTF8State) ([]byte, error) {
	remain := h.length
	key := h.key()
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
		ws.Cipher(piece, key, off)
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

// control handles a ping, pong or close frame h whose payload is next in
// src, answering on w.
func (m *MessageReader) control(src source, w io.Writer, h frameHeader) error {
	p := m.ctl[:h.length]
	if _, err := io.ReadFull(src.r, p); err != nil {
		return proto.NoEOF(err)
	}
	ws.Cipher(p, h.key(), 0)
	switch h.op() {
	case ws.OpPing:
		return m.fw.WriteFrame(w, ws.Header{Fin: true, OpCode: ws.OpPong}, p)
	case ws.OpPong:
		return nil
	}
	code, reason, ce := parseClose(p)
	if ce != nil {
		return ce
	}
	ce = &CloseError{Code: code, Reason: string(reason), Remote: true}
	if err := m.fw.WriteClose(w, code, ""); err != nil {
		return err
	}
	return ce
}
