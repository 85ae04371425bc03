package wsconn

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conn is an in-memory connection: reads from in, writes to out.
type conn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func newConn(frames ...[]byte) *conn {
	return &conn{in: bytes.NewReader(bytes.Join(frames, nil))}
}

func (c *conn) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *conn) Write(p []byte) (int, error) { return c.out.Write(p) }

func TestReadMessage(t *testing.T) {
	masked := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}
	tests := []struct {
		name    string
		frames  [][]byte
		limits  Limits
		op      ws.OpCode
		msg     string
		code    ws.StatusCode // expected close code, 0 for a message
		replies []ws.OpCode
	}{
		{
			name:   "text",
			frames: [][]byte{wstest.ClientFrame(ws.OpText, true, []byte("hello"))},
			op:     ws.OpText,
			msg:    "hello",
		},
		{
			name:   "empty binary",
			frames: [][]byte{wstest.ClientFrame(ws.OpBinary, true, nil)},
			op:     ws.OpBinary,
			msg:    "",
		},
		{
			name: "fragments with ping between",
			frames: [][]byte{
				wstest.ClientFrame(ws.OpText, false, []byte("héllo \xe2\x82")),
				wstest.ClientFrame(ws.OpPing, true, []byte("p")),
				wstest.ClientFrame(ws.OpContinuation, false, []byte("\xac ")),
				wstest.ClientFrame(ws.OpPong, true, nil),
				wstest.ClientFrame(ws.OpContinuation, true, []byte("world")),
			},
			op:      ws.OpText,
			msg:     "héllo € world",
			replies: []ws.OpCode{ws.OpPong},
		},
		{
			name:    "unmasked",
			frames:  [][]byte{wstest.RawFrame(ws.Header{Fin: true, OpCode: ws.OpText}, []byte("x"))},
			code:    ws.StatusProtocolError,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "rsv",
			frames:  [][]byte{wstest.RawFrame(ws.Header{Fin: true, Rsv: 4, OpCode: ws.OpText, Masked: true}, []byte("x"))},
			code:    ws.StatusProtocolError,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "reserved opcode",
			frames:  [][]byte{wstest.RawFrame(ws.Header{Fin: true, OpCode: 3, Masked: true}, nil)},
			code:    ws.StatusProtocolError,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "long ping",
			frames:  [][]byte{wstest.ClientFrame(ws.OpPing, true, make([]byte, 126))},
			code:    ws.StatusProtocolError,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "fragmented ping",
			frames:  [][]byte{wstest.ClientFrame(ws.OpPing, false, nil)},
			code:    ws.StatusProtocolError,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "continuation first",
			frames:  [][]byte{wstest.ClientFrame(ws.OpContinuation, true, []byte("x"))},
			code:    ws.StatusProtocolError,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "new message inside fragmented",
			frames:  [][]byte{wstest.ClientFrame(ws.OpText, false, []byte("a")), wstest.ClientFrame(ws.OpText, true, []byte("b"))},
			code:    ws.StatusProtocolError,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "invalid utf8",
			frames:  [][]byte{wstest.RawFrame(masked, []byte("a\xc0\xafb"))},
			code:    ws.StatusInvalidFramePayloadData,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "utf8 cut at end",
			frames:  [][]byte{wstest.RawFrame(masked, []byte("a\xe2\x82"))},
			code:    ws.StatusInvalidFramePayloadData,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "frame too big",
			frames:  [][]byte{wstest.ClientFrame(ws.OpBinary, true, make([]byte, 100))},
			limits:  Limits{MaxFrame: 99},
			code:    ws.StatusMessageTooBig,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "message too big",
			frames:  [][]byte{wstest.ClientFrame(ws.OpBinary, false, make([]byte, 60)), wstest.ClientFrame(ws.OpContinuation, true, make([]byte, 60))},
			limits:  Limits{MaxMessage: 100},
			code:    ws.StatusMessageTooBig,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "close echoed",
			frames:  [][]byte{wstest.ClientFrame(ws.OpClose, true, ws.NewCloseFrameBody(1000, "bye"))},
			code:    ws.StatusNormalClosure,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "close empty",
			frames:  [][]byte{wstest.ClientFrame(ws.OpClose, true, nil)},
			code:    ws.StatusNoStatusRcvd,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "close 1 byte",
			frames:  [][]byte{wstest.ClientFrame(ws.OpClose, true, []byte{3})},
			code:    ws.StatusProtocolError,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "close 1005",
			frames:  [][]byte{wstest.ClientFrame(ws.OpClose, true, ws.NewCloseFrameBody(1005, ""))},
			code:    ws.StatusProtocolError,
			replies: []ws.OpCode{ws.OpClose},
		},
		{
			name:    "close bad utf8 reason",
			frames:  [][]byte{wstest.ClientFrame(ws.OpClose, true, append(ws.NewCloseFrameBody(1000, ""), 0xff))},
			code:    ws.StatusInvalidFramePayloadData,
			replies: []ws.OpCode{ws.OpClose},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newConn(tc.frames...)
			m := MessageReader{Limits: tc.limits}
			op, msg, err := m.ReadMessage(c, nil)
			if tc.code == 0 {
				require.NoError(t, err)
				assert.Equal(t, tc.op, op)
				assert.Equal(t, tc.msg, string(msg))
			} else {
				var ce *CloseError
				require.True(t, errors.As(err, &ce), "error %v", err)
				assert.Equal(t, tc.code, ce.Code)
			}
			fs := wstest.ServerFrames(t, c.out.Bytes())
			require.Len(t, fs, len(tc.replies))
			for i, f := range fs {
				assert.Equal(t, tc.replies[i], f.Header.OpCode)
				if f.Header.OpCode == ws.OpClose && tc.code != ws.StatusNoStatusRcvd {
					code, _ := ws.ParseCloseFrameData(f.Payload)
					assert.Equal(t, tc.code, code)
				}
				if f.Header.OpCode == ws.OpPong {
					assert.Equal(t, "p", string(f.Payload))
				}
			}
		})
	}
}

func TestReadMessageEOF(t *testing.T) {
	m := MessageReader{}
	_, _, err := m.ReadMessage(newConn(), nil)
	assert.ErrorIs(t, err, io.EOF)
	full := wstest.ClientFrame(ws.OpText, true, []byte("hello"))
	_, _, err = m.ReadMessage(newConn(full[:len(full)-1]), nil)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	frag := wstest.ClientFrame(ws.OpText, false, []byte("hello"))
	_, _, err = m.ReadMessage(newConn(frag), nil)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestReadMessageReusesBuffer(t *testing.T) {
	payload := []byte(strings.Repeat("x", 3000))
	c := newConn(wstest.ClientFrame(ws.OpBinary, true, payload), wstest.ClientFrame(ws.OpBinary, true, payload[:10]))
	var m MessageReader
	_, msg, err := m.ReadMessage(c, nil)
	require.NoError(t, err)
	require.Equal(t, payload, msg)
	first := &msg[:1][0]
	_, msg, err = m.ReadMessage(c, msg)
	require.NoError(t, err)
	assert.Equal(t, payload[:10], msg)
	assert.Same(t, first, &msg[:1][0], "second message reads into the first one's buffer")
}

func TestServeConnEcho(t *testing.T) {
	c := newConn(
		wstest.ClientFrame(ws.OpText, true, []byte("one")),
		wstest.ClientFrame(ws.OpBinary, false, []byte("tw")),
		wstest.ClientFrame(ws.OpContinuation, true, []byte("o")),
		wstest.ClientFrame(ws.OpClose, true, ws.NewCloseFrameBody(1001, "")),
	)
	err := ServeConn(c, EchoHandler{}, Limits{})
	assert.True(t, IsNormalClose(err), "err %v", err)
	fs := wstest.ServerFrames(t, c.out.Bytes())
	require.Len(t, fs, 3)
	assert.Equal(t, "one", string(fs[0].Payload))
	assert.Equal(t, ws.OpText, fs[0].Header.OpCode)
	assert.Equal(t, "two", string(fs[1].Payload))
	assert.Equal(t, ws.OpBinary, fs[1].Header.OpCode)
	assert.Equal(t, ws.OpClose, fs[2].Header.OpCode)
}

// readCounter counts the Read calls made on r.
type readCounter struct {
	r     io.Reader
	calls int
}

func (c *readCounter) Read(p []byte) (int, error) {
	c.calls++
	return c.r.Read(p)
}

// TestReadFrameReadCalls backs the package doc's count: read straight from
// a source with no buffer in between, a masked client frame costs three
// Read calls (first two header bytes, rest of the header, payload), which
// on a socket are three system calls; through a bufio.Reader or a
// FrameReader, frames that fit its buffer share one.
func TestReadFrameReadCalls(t *testing.T) {
	for _, size := range []int{16, 1024, 70000} {
		frame := wstest.ClientFrame(ws.OpBinary, true, bytes.Repeat([]byte("r"), size))
		rc := &readCounter{r: bytes.NewReader(frame)}
		_, p, err := ReadFrame(rc, make([]byte, ws.MaxHeaderSize), make([]byte, size), false)
		require.NoError(t, err)
		require.Len(t, p, size)
		require.Equal(t, 3, rc.calls, "size %d", size)
	}
	frames := bytes.Repeat(wstest.ClientFrame(ws.OpBinary, true, []byte("small")), 100)
	rc := &readCounter{r: bytes.NewReader(frames)}
	br := bufio.NewReaderSize(rc, 4096)
	hdr, buf := make([]byte, ws.MaxHeaderSize), make([]byte, 16)
	for range 100 {
		_, _, err := ReadFrame(br, hdr, buf, false)
		require.NoError(t, err)
	}
	require.Equal(t, 1, rc.calls, "100 small frames through one bufio.Reader fill")

	rc = &readCounter{r: bytes.NewReader(frames)}
	br = bufio.NewReaderSize(rc, 4096)
	var m MessageReader
	h := HandlerFunc(func(io.Writer, ws.OpCode, []byte) error { return nil })
	for range 100 {
		_, err := m.ServeBuffered(br, io.Discard, h, nil)
		require.NoError(t, err)
	}
	require.Equal(t, 1, rc.calls, "100 small messages served from one bufio.Reader fill")

	rc = &readCounter{r: bytes.NewReader(frames)}
	fr := NewFrameReader(rc, 4096)
	for range 100 {
		_, err := m.ServeFrom(fr, io.Discard, h, nil)
		require.NoError(t, err)
	}
	require.Equal(t, 1, rc.calls, "100 small messages served from one FrameReader read")
}

// TestParseHeader checks ParseHeader against gobwas' reader on valid
// headers of each length encoding, and its answers to partial, malformed
// and rule-breaking ones.
func TestParseHeader(t *testing.T) {
	mask := [4]byte{9, 8, 7, 6}
	for _, h := range []ws.Header{
		{Fin: true, OpCode: ws.OpText, Masked: true, Mask: mask, Length: 5},
		{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask, Length: 126},
		{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask, Length: 70000},
		{OpCode: ws.OpText, Masked: true, Mask: mask, Length: 3},
		{Fin: true, OpCode: ws.OpPing, Masked: true, Mask: mask, Length: 125},
	} {
		raw := wstest.RawFrame(h, make([]byte, h.Length))
		got, n, err := ParseHeader(raw, false)
		require.NoError(t, err, "%+v", h)
		want, err := ws.ReadHeader(bytes.NewReader(raw))
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, ws.HeaderSize(h), n)
		for cut := range n {
			_, n, err := ParseHeader(raw[:cut], false)
			require.Zero(t, n)
			if cut == 0 {
				require.ErrorIs(t, err, io.EOF)
			} else {
				require.ErrorIs(t, err, io.ErrUnexpectedEOF, "header cut at %d of %d", cut, ws.HeaderSize(h))
			}
		}
	}
	for _, tc := range []struct {
		name       string
		raw        []byte
		fragmented bool
		reason     string
	}{
		{"64-bit length with its top bit", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, false, "malformed frame header"},
		{"unmasked", []byte{0x82, 0x01, 'x'}, false, "client frame not masked"},
		{"continuation outside a message", wstest.ClientFrame(ws.OpContinuation, true, nil), false, "continuation without a started message"},
		{"new message inside one", wstest.ClientFrame(ws.OpText, true, nil), true, "new message inside a fragmented one"},
		{"reserved bits", []byte{0xc2, 0x80, 1, 2, 3, 4}, false, "reserved bits set without extension"},
	} {
		_, n, err := ParseHeader(tc.raw, tc.fragmented)
		var ce *CloseError
		require.True(t, errors.As(err, &ce), "%s: %v", tc.name, err)
		require.Zero(t, n)
		require.Equal(t, ws.StatusProtocolError, ce.Code, tc.name)
		require.Equal(t, tc.reason, ce.Reason, tc.name)
	}
}
