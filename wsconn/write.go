package wsconn

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// smallFrame is the largest payload FrameWriter copies behind its header
// for one Write instead of leaving in place for a vectored write.
// BenchmarkWriteCrossover measured it on the 2-vCPU VM this was written on
// (CPU time per write, interleaved runs): to /dev/null, write(2) of the
// copy and writev(2) of two iovecs cost the same within the resolution of
// the system call's own time up to 4 KiB; in memory (a bufio.Writer, a
// server's write buffer, where net.Buffers makes one Write per part) the
// copy was faster up to 128 bytes, level from 256 to 1024 and slower from
// 2048. 256 keeps the copy where it never lost, and the array small.
const smallFrame = 256

// FrameWriter writes server frames. The header is encoded into the
// writer's own array; a payload of up to smallFrame bytes is copied behind
// it and the frame leaves in one Write, and a larger payload is sent with
// the header in one vectored write (net.Buffers), so that header and
// payload leave in one writev system call on a TCP connection without
// being copied together. On a writer that is not a net.Conn (a
// bufio.Writer, a test sink) net.Buffers falls back to one Write per part.
//
// A FrameWriter holds no reference between calls; the zero value is ready.
// It is not safe for concurrent use: a connection serialises its writes.
// WriteFrame borrows one from a pool for callers that keep none.
type FrameWriter struct {
	// small holds the header, then a small payload or a close body.
	small [ws.MaxHeaderSize + smallFrame]byte
	vec   [2][]byte
	bufs  net.Buffers
}

// putHeader encodes the header of an unmasked frame with h's FIN, RSV and
// opcode and an n-byte payload at the start of p, and returns its size
// (RFC 6455 section 5.2, the shortest length encoding).
func putHeader(p []byte, h ws.Header, n int) int {
	b0 := h.Rsv<<4 | byte(h.OpCode&0x0f)
	if h.Fin {
		b0 |= 0x80
	}
	p[0] = b0
	switch {
	case n <= 125:
		p[1] = byte(n)
		return 2
	case n <= 0xffff:
		p[1] = 126
		binary.BigEndian.PutUint16(p[2:4], uint16(n))
		return 4
	}
	p[1] = 127
	binary.BigEndian.PutUint64(p[2:10], uint64(n))
	return 10
}

// WriteFrame writes one unmasked frame with header h (its Length and Masked
// fields are set from payload) and payload to w.
func (fw *FrameWriter) WriteFrame(w io.Writer, h ws.Header, payload []byte) error {
	n := putHeader(fw.small[:], h, len(payload))
	if len(payload) <= smallFrame {
		return fw.writeSmall(w, n+copy(fw.small[n:], payload))
	}
	fw.vec = [2][]byte{fw.small[:n], payload}
	fw.bufs = fw.vec[:]
	want := int64(n + len(payload))
	k, err := fw.bufs.WriteTo(w)
	fw.vec = [2][]byte{}
	fw.bufs = nil
	if err == nil && k < want {
		err = io.ErrShortWrite
	}
	return err
}

// writeSmall writes the first n bytes of fw.small in one Write.
func (fw *FrameWriter) writeSmall(w io.Writer, n int) error {
	k, err := w.Write(fw.small[:n])
	if err == nil && k < n {
		err = io.ErrShortWrite
	}
	return err
}

// WriteMessage writes payload as one final frame of type op.
func (fw *FrameWriter) WriteMessage(w io.Writer, op ws.OpCode, payload []byte) error {
	return fw.WriteFrame(w, ws.Header{Fin: true, OpCode: op}, payload)
}

// WriteClose writes a close frame with code and reason (cut to fit the 125
// bytes of a control payload, at a UTF-8 boundary: a reason cut inside a
// character would make the peer fail the connection with 1007).
// ws.StatusNoStatusRcvd (1005), which must never be sent, writes a close
// frame with an empty body.
func (fw *FrameWriter) WriteClose(w io.Writer, code ws.StatusCode, reason string) error {
	// The body is built where it is sent from: behind a 2-byte header, the
	// size of every header of a control frame.
	body := fw.small[2:2]
	if code != ws.StatusNoStatusRcvd && code != 0 {
		body = fw.small[2:4]
		binary.BigEndian.PutUint16(body, uint16(code))
		n := min(len(reason), ws.MaxControlFramePayloadSize-2)
		for n < len(reason) && n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		body = append(body, reason[:n]...)
	}
	putHeader(fw.small[:], ws.Header{Fin: true, OpCode: ws.OpClose}, len(body))
	return fw.writeSmall(w, 2+len(body))
}

var writerPool = sync.Pool{New: func() any { return new(FrameWriter) }}

// WriteFrame writes one unmasked server frame with a FrameWriter borrowed
// from a pool for the duration of the call.
func WriteFrame(w io.Writer, h ws.Header, payload []byte) error {
	fw := writerPool.Get().(*FrameWriter)
	err := fw.WriteFrame(w, h, payload)
	writerPool.Put(fw)
	return err
}

// WriteMessage writes payload to w as one final frame of type op, with a
// pooled FrameWriter.
func WriteMessage(w io.Writer, op ws.OpCode, payload []byte) error {
	return WriteFrame(w, ws.Header{Fin: true, OpCode: op}, payload)
}

// WriteClose writes a close frame with code and reason, with a pooled
// FrameWriter.
func WriteClose(w io.Writer, code ws.StatusCode, reason string) error {
	fw := writerPool.Get().(*FrameWriter)
	err := fw.WriteClose(w, code, reason)
	writerPool.Put(fw)
	return err
}
