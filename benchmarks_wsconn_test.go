package rtlab

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	coderws "github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	gorillaws "github.com/gorilla/websocket"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
)

// wsfSizes are the payload sizes of BenchmarkWSFrameRead and
// BenchmarkWSFrameWrite: a small control-like message, a typical one and one
// big enough that moving the bytes dominates.
var wsfSizes = []int{16, 1024, 65536}

// BenchmarkWSFrameRead reads one binary message of size bytes per iteration
// from the same pre-built stream of masked client frames in memory, with
// each implementation driven the way its documentation recommends for
// throughput (see the wsconn package doc, "Peers"). impl=limit is the floor
// of moving the bytes: copy the payload and unmask it, no framing;
// impl=limit-header adds the least framing a reader must do, parsing each
// header from the bytes in memory, so that at small sizes rtlab is measured
// against a floor that includes framing.
func BenchmarkWSFrameRead(b *testing.B) {
	impls := []struct {
		name string
		run  func(b *testing.B, c *wsfConn, size int)
	}{
		{"rtlab", wsfReadRTLab},
		{"rtlab-direct", wsfReadRTLabDirect},
		{"wsutil", wsfReadWSUtil},
		{"gorilla", wsfReadGorilla},
		{"coder", wsfReadCoder},
		{"naive", wsfReadNaive},
		{"limit", wsfReadLimit},
		{"limit-header", wsfReadLimitHeader},
	}
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			for _, size := range wsfSizes {
				b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
					c := newWSFConn(size)
					b.SetBytes(int64(size))
					b.ReportAllocs()
					impl.run(b, c, size)
				})
			}
		})
	}
}

// BenchmarkWSFrameWrite writes one binary message of size bytes per
// iteration as a server (unmasked) to a connection that discards the bytes.
func BenchmarkWSFrameWrite(b *testing.B) {
	impls := []struct {
		name string
		run  func(b *testing.B, c *wsfConn, p []byte)
	}{
		{"rtlab", wsfWriteRTLab},
		{"wsutil", wsfWriteWSUtil},
		{"gorilla", wsfWriteGorilla},
		{"coder", wsfWriteCoder},
		{"naive", wsfWriteNaive},
	}
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			for _, size := range wsfSizes {
				b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
					c := newWSFConn(size)
					p := make([]byte, size)
					for i := range p {
						p[i] = byte(i)
					}
					b.SetBytes(int64(size))
					b.ReportAllocs()
					impl.run(b, c, p)
				})
			}
		})
	}
}

// wsfConn is an in-memory net.Conn: Read serves a stream of masked client
// frames, looping at its end (always on a frame boundary), and Write
// discards. Peers that need a net.Conn get this one; the rest read it as an
// io.Reader.
type wsfConn struct {
	stream  []byte
	off     int
	payload [][2]int // start, end of each frame's payload in stream
	masks   [][4]byte
	written int64
}

// wsfStreamBytes is about how long the stream is: long enough to hold many
// frames so that no implementation reads the same few cache lines forever,
// short enough to stay cheap to build.
const wsfStreamBytes = 1 << 20

func newWSFConn(size int) *wsfConn {
	c := &wsfConn{}
	n := max(1, wsfStreamBytes/(size+14))
	p := make([]byte, size)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	for i := range n {
		mask := [4]byte{byte(i), 0x5a, byte(i >> 8), 0xc3}
		h := ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask}
		start := len(c.stream) + ws.HeaderSize(ws.Header{Masked: true, Length: int64(size)})
		c.stream = append(c.stream, wstest.RawFrame(h, p)...)
		c.payload = append(c.payload, [2]int{start, start + size})
		c.masks = append(c.masks, mask)
	}
	return c
}

func (c *wsfConn) Read(p []byte) (int, error) {
	if c.off == len(c.stream) {
		c.off = 0
	}
	n := copy(p, c.stream[c.off:])
	c.off += n
	return n, nil
}

func (c *wsfConn) Write(p []byte) (int, error) {
	c.written += int64(len(p))
	return len(p), nil
}

func (c *wsfConn) Close() error                       { return nil }
func (c *wsfConn) LocalAddr() net.Addr                { return wsfAddr{} }
func (c *wsfConn) RemoteAddr() net.Addr               { return wsfAddr{} }
func (c *wsfConn) SetDeadline(t time.Time) error      { return nil }
func (c *wsfConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *wsfConn) SetWriteDeadline(t time.Time) error { return nil }

type wsfAddr struct{}

func (wsfAddr) Network() string { return "mem" }
func (wsfAddr) String() string  { return "mem" }

// wsfHijacker is the http.ResponseWriter gorilla and coder upgrade through:
// Hijack hands them the in-memory conn, as net/http would hand a socket.
type wsfHijacker struct {
	c *wsfConn
	h http.Header
}

func (w *wsfHijacker) Header() http.Header         { return w.h }
func (w *wsfHijacker) Write(p []byte) (int, error) { return w.c.Write(p) }
func (w *wsfHijacker) WriteHeader(int)             {}
func (w *wsfHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.c, bufio.NewReadWriter(bufio.NewReader(w.c), bufio.NewWriter(w.c)), nil
}

// wsfUpgradeRequest is a valid client handshake for the peers' Accept.
func wsfUpgradeRequest() *http.Request {
	r, err := http.NewRequest(http.MethodGet, "http://mem/ws", nil)
	if err != nil {
		panic(err)
	}
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	return r
}

func wsfGorilla(b *testing.B, c *wsfConn) *gorillaws.Conn {
	u := gorillaws.Upgrader{}
	gc, err := u.Upgrade(&wsfHijacker{c: c, h: http.Header{}}, wsfUpgradeRequest(), nil)
	if err != nil {
		b.Fatal(err)
	}
	return gc
}

func wsfCoder(b *testing.B, c *wsfConn) *coderws.Conn {
	cc, err := coderws.Accept(&wsfHijacker{c: c, h: http.Header{}}, wsfUpgradeRequest(),
		&coderws.AcceptOptions{CompressionMode: coderws.CompressionDisabled})
	if err != nil {
		b.Fatal(err)
	}
	cc.SetReadLimit(-1)
	b.Cleanup(func() { _ = cc.CloseNow() })
	return cc
}

func wsfCheck(b *testing.B, op ws.OpCode, msg []byte, size int, err error) {
	if err != nil || op != ws.OpBinary || len(msg) != size {
		b.Fatalf("read op %v len %d, err %v; want binary of %d", op, len(msg), err, size)
	}
}

// rtlab: ServeFrom through a FrameReader of wsconn.DefaultReadBuffer
// bytes, as ServeConn serves a connection: a message held whole in the
// reader's buffer is unmasked there and handed to the handler; larger ones
// go into the message buffer, handed back each time.
func wsfReadRTLab(b *testing.B, c *wsfConn, size int) {
	var m wsconn.MessageReader
	fr := wsconn.NewFrameReader(c, wsconn.DefaultReadBuffer)
	h := &wsfHandler{b: b, size: size}
	buf := make([]byte, 0, size)
	for b.Loop() {
		var err error
		if buf, err = m.ServeFrom(fr, c, h, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// wsfHandler is impl=rtlab's handler: it checks each message as wsfCheck
// does, a method on a struct as a server's handler is.
type wsfHandler struct {
	b    *testing.B
	size int
}

func (h *wsfHandler) HandleMessage(_ io.Writer, op ws.OpCode, msg []byte) error {
	if op != ws.OpBinary || len(msg) != h.size {
		wsfCheck(h.b, op, msg, h.size, nil)
	}
	return nil
}

// rtlab-direct: ReadMessage straight on the conn, three Reads per frame (on
// a socket, three system calls: the case for a bufio.Reader).
func wsfReadRTLabDirect(b *testing.B, c *wsfConn, size int) {
	var m wsconn.MessageReader
	buf := make([]byte, 0, size)
	for b.Loop() {
		op, msg, err := m.ReadMessage(c, buf)
		wsfCheck(b, op, msg, size, err)
		buf = msg
	}
}

// wsutil: ReadClientData, which builds a wsutil.Reader and reads the message
// with io.ReadAll into a fresh slice.
func wsfReadWSUtil(b *testing.B, c *wsfConn, size int) {
	for b.Loop() {
		msg, op, err := wsutil.ReadClientData(c)
		wsfCheck(b, op, msg, size, err)
	}
}

// gorilla: NextReader, payload read into a reused buffer.
func wsfReadGorilla(b *testing.B, c *wsfConn, size int) {
	gc := wsfGorilla(b, c)
	buf := make([]byte, size+1)
	for b.Loop() {
		typ, r, err := gc.NextReader()
		if err != nil {
			b.Fatal(err)
		}
		n, err := wsfReadAll(r, buf)
		wsfCheck(b, ws.OpCode(typ), buf[:n], size, err)
	}
}

// coder: Reader, payload read into a reused buffer up to EOF (coder wants a
// message read to its end before the next).
func wsfReadCoder(b *testing.B, c *wsfConn, size int) {
	cc := wsfCoder(b, c)
	ctx := context.Background()
	buf := make([]byte, size+1)
	for b.Loop() {
		typ, r, err := cc.Reader(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n, err := wsfReadAll(r, buf)
		wsfCheck(b, ws.OpCode(typ), buf[:n], size, err)
	}
}

// wsfReadAll reads r to EOF into buf.
func wsfReadAll(r io.Reader, buf []byte) (int, error) {
	n := 0
	for {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if n == len(buf) {
			return n, fmt.Errorf("message longer than %d", len(buf))
		}
	}
}

// naive: a fresh header and payload buffer per message, the pattern of a
// per-message Buffer.concat.
func wsfReadNaive(b *testing.B, c *wsfConn, size int) {
	for b.Loop() {
		h, err := ws.ReadHeader(c)
		if err != nil {
			b.Fatal(err)
		}
		msg := make([]byte, h.Length)
		_, err = io.ReadFull(c, msg)
		ws.Cipher(msg, h.Mask, 0)
		wsfCheck(b, h.OpCode, msg, size, err)
	}
}

// limit: copy each frame's payload out of the stream and unmask it; no
// header, no checks, no framing.
func wsfReadLimit(b *testing.B, c *wsfConn, size int) {
	buf := make([]byte, size)
	i := 0
	for b.Loop() {
		pl := c.payload[i]
		copy(buf, c.stream[pl[0]:pl[1]])
		ws.Cipher(buf, c.masks[i], 0)
		if i++; i == len(c.payload) {
			i = 0
		}
	}
}

// limit-header: limit plus decoding each frame's header where it lies in
// the stream (wsfParseHeader), the least framing a reader does.
func wsfReadLimitHeader(b *testing.B, c *wsfConn, size int) {
	buf := make([]byte, size)
	off := 0
	for b.Loop() {
		if off == len(c.stream) {
			off = 0
		}
		h := wsfParseHeader(c.stream[off:])
		if h.length != int64(size) || h.b0 != 0x82 {
			b.Fatalf("frame at %d: first byte %#x, length %d; want 0x82, %d", off, h.b0, h.length, size)
		}
		off += h.n
		var key [4]byte
		binary.LittleEndian.PutUint32(key[:], h.mask)
		copy(buf, c.stream[off:off+size])
		ws.Cipher(buf, key, 0)
		off += size
	}
}

// wsfHeader is what ws.ReadHeader decodes, in four words rather than a
// ws.Header (which holds an array, so it lives in memory and costs a
// store-forwarding stall per copy: the floor would not be a floor).
type wsfHeader struct {
	b0     byte // FIN, RSV, opcode
	n      int  // header size
	length int64
	mask   uint32 // key bytes little-endian; 0 when unmasked
}

// wsfParseHeader decodes the frame header at the start of p as
// ws.ReadHeader does (FIN, RSV, opcode, mask bit, 7/16/64-bit length,
// masking key), from bytes in memory, with no rule checks. p must hold a
// whole header and the 64-bit length must have its top bit clear: the
// benchmark's stream is well-formed.
func wsfParseHeader(p []byte) (h wsfHeader) {
	h.b0 = p[0]
	h.n = 2
	switch l := p[1] & 0x7f; l {
	case 126:
		h.length, h.n = int64(binary.BigEndian.Uint16(p[2:])), 4
	case 127:
		h.length, h.n = int64(binary.BigEndian.Uint64(p[2:])), 10
	default:
		h.length = int64(l)
	}
	if p[1]&0x80 != 0 {
		h.mask = binary.LittleEndian.Uint32(p[h.n:])
		h.n += 4
	}
	return h
}

func wsfWriteRTLab(b *testing.B, c *wsfConn, p []byte) {
	var fw wsconn.FrameWriter
	for b.Loop() {
		if err := fw.WriteMessage(c, ws.OpBinary, p); err != nil {
			b.Fatal(err)
		}
	}
}

func wsfWriteWSUtil(b *testing.B, c *wsfConn, p []byte) {
	for b.Loop() {
		if err := wsutil.WriteServerMessage(c, ws.OpBinary, p); err != nil {
			b.Fatal(err)
		}
	}
}

func wsfWriteGorilla(b *testing.B, c *wsfConn, p []byte) {
	gc := wsfGorilla(b, c)
	for b.Loop() {
		if err := gc.WriteMessage(gorillaws.BinaryMessage, p); err != nil {
			b.Fatal(err)
		}
	}
}

func wsfWriteCoder(b *testing.B, c *wsfConn, p []byte) {
	cc := wsfCoder(b, c)
	ctx := context.Background()
	for b.Loop() {
		if err := cc.Write(ctx, coderws.MessageBinary, p); err != nil {
			b.Fatal(err)
		}
	}
}

// naive: header and payload concatenated into a fresh buffer, one Write.
func wsfWriteNaive(b *testing.B, c *wsfConn, p []byte) {
	for b.Loop() {
		frame, err := ws.CompileFrame(ws.NewBinaryFrame(p))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(frame); err != nil {
			b.Fatal(err)
		}
	}
}
