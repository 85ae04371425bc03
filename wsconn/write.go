package wsconn

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// FrameWriter writes server frames: the header is encoded by
// ws.WriteHeaderBuffer into the writer's own 14-byte array and sent with the
// payload in one vectored write (net.Buffers), so header and payload leave in
// one writev system call on a TCP connection without ever being copied
// together. On a writer that is not a net.Conn (a bufio.Writer, a test sink)
// net.Buffers falls back to one Write per part.
//
// A FrameWriter holds no reference between calls; the zero value is ready.
// It is not safe for concurrent use: a connection serialises its writes.
// WriteFrame borrows one from a pool for callers that keep none.
type FrameWriter struct {
	scratch [ws.MaxHeaderSize]byte
	ctl     [ws.MaxControlFramePayloadSize]byte
	hdr     headerSink
	vec     [2][]byte
	bufs    net.Buffers
}

// headerSink is the io.Writer ws.WriteHeaderBuffer writes the encoded header
// to: it only records the slice, which points into FrameWriter.scratch.
type headerSink struct{ p []byte }

func (s *headerSink) Write(p []byte) (int, error) {
	s.p = p
	return len(p), nil
}

// WriteFrame writes one unmasked frame with header h (its Length and Masked
// fields are set from payload) and payload to w.
func (fw *FrameWriter) WriteFrame(w io.Writer, h ws.Header, payload []byte) error {
	h.Length = int64(len(payload))
	h.Masked = false
	if err := ws.WriteHeaderBuffer(&fw.hdr, h, fw.scratch[:]); err != nil {
		return err
	}
	fw.vec = [2][]byte{fw.hdr.p, payload}
	fw.bufs = fw.vec[:]
	want := int64(len(fw.hdr.p) + len(payload))
	n, err := fw.bufs.WriteTo(w)
	fw.vec = [2][]byte{}
	fw.bufs = nil
	fw.hdr.p = nil
	if err == nil && n < want {
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
	body := fw.ctl[:0]
	if code != ws.StatusNoStatusRcvd && code != 0 {
		body = fw.ctl[:2]
		binary.BigEndian.PutUint16(body, uint16(code))
		n := min(len(reason), cap(body)-2)
		for n < len(reason) && n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		body = append(body, reason[:n]...)
	}
	return fw.WriteFrame(w, ws.Header{Fin: true, OpCode: ws.OpClose}, body)
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
