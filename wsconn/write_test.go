package wsconn

import (
	"bytes"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/stretchr/testify/require"
)

// writeSyscalls is the number of write system calls (write, writev, ...)
// this process has made, from /proc/self/io.
func writeSyscalls(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/io")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no syscw in /proc/self/io")
	return 0
}

// TestWriteOneSyscall backs the claim that header and payload leave in one
// system call: n messages written with FrameWriter cost about n write
// system calls on a TCP connection, where writing the header and the
// payload separately (as ws.WriteFrame does) costs at least 2n.
func TestWriteOneSyscall(t *testing.T) {
	if _, err := os.Stat("/proc/self/io"); err != nil {
		t.Skip("needs /proc/self/io (Linux)")
	}
	c, done := wstest.TCPPeer(t, func(sc net.Conn) { _, _ = io.Copy(io.Discard, sc) })
	defer done()

	const n = 300
	p := bytes.Repeat([]byte("s"), 1024)
	var fw FrameWriter
	before := writeSyscalls(t)
	for range n {
		require.NoError(t, fw.WriteMessage(c, ws.OpBinary, p))
	}
	vectored := writeSyscalls(t) - before

	before = writeSyscalls(t)
	for range n {
		require.NoError(t, ws.WriteHeader(c, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: int64(len(p))}))
		_, err := c.Write(p)
		require.NoError(t, err)
	}
	separate := writeSyscalls(t) - before

	t.Logf("%d messages: %d write syscalls with FrameWriter, %d with header and payload written apart", n, vectored, separate)
	require.GreaterOrEqual(t, separate, 2*n, "control: two writes per message must show as two syscalls")
	require.Less(t, vectored, n+n/2, "FrameWriter should make one writev per message")
}

func TestWriteClose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   ws.StatusCode
		reason string
		body   string // the close payload expected
	}{
		{"code and reason", ws.StatusGoingAway, "bye", "\x03\xe9bye"},
		{"no status", ws.StatusNoStatusRcvd, "ignored", ""},
		{"long ascii cut to 123", ws.StatusNormalClosure, strings.Repeat("a", 200), "\x03\xe8" + strings.Repeat("a", 123)},
		// 123 bytes would end inside the 62nd "é": the reason stops before it.
		{"long utf8 cut at a boundary", ws.StatusNormalClosure, strings.Repeat("é", 100), "\x03\xe8" + strings.Repeat("é", 61)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var fw FrameWriter
			require.NoError(t, fw.WriteClose(&out, tc.code, tc.reason))
			fs := wstest.ServerFrames(t, out.Bytes())
			require.Len(t, fs, 1)
			require.Equal(t, ws.OpClose, fs[0].Header.OpCode)
			require.True(t, fs[0].Header.Fin)
			require.Equal(t, tc.body, string(fs[0].Payload))
			if len(tc.body) > 2 {
				_, _, ce := parseClose(fs[0].Payload)
				require.Nil(t, ce, "a peer accepts the close frame")
			}
		})
	}
}
