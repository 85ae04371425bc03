//go:build !race

// The race detector instruments allocations and makes sync.Pool drop items
// on purpose, so allocation counts only mean something without it.

package wsconn

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/stretchr/testify/require"
)

// discardRW reads a fixed stream (rewound by the caller) and drops writes.
type discardRW struct{ r *bytes.Reader }

func (d discardRW) Read(p []byte) (int, error)  { return d.r.Read(p) }
func (d discardRW) Write(p []byte) (int, error) { return len(p), nil }

func TestReadFrameAllocs(t *testing.T) {
	stream := wstest.ClientFrame(ws.OpBinary, true, bytes.Repeat([]byte("z"), 4096))
	r := bytes.NewReader(stream)
	hdr := make([]byte, ws.MaxHeaderSize)
	buf := make([]byte, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		r.Reset(stream)
		_, p, err := ReadFrame(r, hdr, buf, false)
		if err != nil || len(p) != 4096 || p[0] != 'z' {
			t.Fatalf("ReadFrame: %d bytes, %v", len(p), err)
		}
	})
	require.Zero(t, allocs, "ReadFrame allocations per frame")
}

func TestReadMessageAllocs(t *testing.T) {
	// A fragmented text message with a ping and a pong between fragments:
	// assembly, UTF-8 state, the pong answer and the pong frame write all run.
	stream := bytes.Join([][]byte{
		wstest.ClientFrame(ws.OpText, false, bytes.Repeat([]byte("é"), 700)),
		wstest.ClientFrame(ws.OpPing, true, []byte("ping")),
		wstest.ClientFrame(ws.OpContinuation, false, bytes.Repeat([]byte("€"), 500)),
		wstest.ClientFrame(ws.OpPong, true, nil),
		wstest.ClientFrame(ws.OpContinuation, true, []byte("end")),
	}, nil)
	r := bytes.NewReader(stream)
	rw := discardRW{r}
	var m MessageReader
	var buf []byte
	// The first message grows the buffer; from then on it is reused.
	_, buf, err := m.ReadMessage(rw, buf)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(200, func() {
		r.Reset(stream)
		op, msg, err := m.ReadMessage(rw, buf)
		if err != nil || op != ws.OpText || len(msg) != 1400+1500+3 {
			t.Fatalf("ReadMessage: op %v, %d bytes, %v", op, len(msg), err)
		}
		buf = msg
	})
	require.Zero(t, allocs, "ReadMessage allocations per message")
}

func TestWriteAllocs(t *testing.T) {
	// 16 bytes go out copied behind the header, 4096 vectored.
	for _, size := range []int{16, 4096} {
		p := bytes.Repeat([]byte("w"), size)
		var fw FrameWriter
		allocs := testing.AllocsPerRun(200, func() {
			if err := fw.WriteMessage(io.Discard, ws.OpBinary, p); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "FrameWriter.WriteMessage allocations per message of %d bytes", size)
		allocs = testing.AllocsPerRun(200, func() {
			if err := WriteMessage(io.Discard, ws.OpText, p); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "pooled WriteMessage allocations per message of %d bytes", size)
	}
}

// TestReadBufferedAllocs: the buffered paths allocate nothing per message
// either, for messages read in place (ServeBuffered, ServeFrom), copied out
// of the buffer (ReadMessageBuffered, ReadMessageFrom) and assembled from
// fragments with control frames between them.
func TestReadBufferedAllocs(t *testing.T) {
	stream := bytes.Join([][]byte{
		wstest.ClientFrame(ws.OpText, true, []byte("small")),
		wstest.ClientFrame(ws.OpBinary, true, bytes.Repeat([]byte("b"), 1000)),
		wstest.ClientFrame(ws.OpText, false, bytes.Repeat([]byte("é"), 700)),
		wstest.ClientFrame(ws.OpPing, true, []byte("ping")),
		wstest.ClientFrame(ws.OpContinuation, true, []byte("end")),
	}, nil)
	r := bytes.NewReader(stream)
	rw := discardRW{r}
	br := bufio.NewReaderSize(rw, 4096)
	fr := NewFrameReader(rw, 4096)
	var m MessageReader
	var got int
	h := HandlerFunc(func(_ io.Writer, _ ws.OpCode, p []byte) error {
		got += len(p)
		return nil
	})
	var buf []byte
	run := func(how string) {
		r.Reset(stream)
		br.Reset(rw)
		fr.Reset(rw)
		got = 0
		for range 3 {
			var (
				msg []byte
				err error
			)
			switch how {
			case "ServeBuffered":
				buf, err = m.ServeBuffered(br, rw, h, buf)
			case "ServeFrom":
				buf, err = m.ServeFrom(fr, rw, h, buf)
			case "ReadMessageBuffered":
				_, msg, err = m.ReadMessageBuffered(br, rw, buf)
			default:
				_, msg, err = m.ReadMessageFrom(fr, rw, buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg != nil {
				got += len(msg)
				buf = msg
			}
		}
		if got != 5+1000+1400+3 {
			t.Fatalf("%s read %d payload bytes", how, got)
		}
	}
	run("ServeBuffered") // the first pass grows the buffer
	for _, how := range []string{"ServeBuffered", "ServeFrom", "ReadMessageBuffered", "ReadMessageFrom"} {
		allocs := testing.AllocsPerRun(200, func() { run(how) })
		require.Zero(t, allocs, "allocations per 3 messages, %s", how)
	}
}

// TestWriteTCPAllocs writes to a real TCP connection, where net.Buffers
// takes the writev path: still no allocation per message, and the peer
// receives header and payload intact.
func TestWriteTCPAllocs(t *testing.T) {
	var (
		received int64
		first    []byte
	)
	c, done := wstest.TCPPeer(t, func(sc net.Conn) {
		first = make([]byte, 4+4096)
		if _, err := io.ReadFull(sc, first); err != nil {
			return
		}
		n, _ := io.Copy(io.Discard, sc)
		received = int64(len(first)) + n
	})
	defer done()
	p := bytes.Repeat([]byte("t"), 4096)
	var fw FrameWriter
	const runs = 200
	allocs := testing.AllocsPerRun(runs, func() {
		if err := fw.WriteMessage(c, ws.OpBinary, p); err != nil {
			t.Fatal(err)
		}
	})
	done()
	require.Zero(t, allocs, "WriteMessage on a TCP conn allocations per message")
	// AllocsPerRun runs the function once more to warm up.
	require.Equal(t, int64(runs+1)*(4+4096), received)
	require.Equal(t, []byte{0x82, 126, 0x10, 0x00}, first[:4], "header: FIN|binary, 16-bit length 4096, unmasked")
	require.Equal(t, p, first[4:])
}
