//go:build linux

package server

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/stretchr/testify/require"
)

func TestHeaderEnd(t *testing.T) {
	for _, tc := range []struct {
		b    string
		from int
		want int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 27},
		{"GET / HTTP/1.1\nHost: x\n\n", 0, 24},
		{"GET / HTTP/1.1\r\nHost: x\n\r\nframes", 0, 26},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r", 0, -1},
		{"GET / HTTP/1.1\r\nHost: x\r\n", 0, -1},
		{"\r\n\r\n", 0, 4},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 23, 27}, // from just before the end's '\n'
	} {
		require.Equal(t, tc.want, headerEnd([]byte(tc.b), tc.from), "%q from %d", tc.b, tc.from)
	}
}

// TestReactorFramesBehindRequest: a client that sends its first frame in
// the same write as its request (without waiting for the 101) has the
// frame read, not lost: the reactor parses the request out of what
// arrived and hands the rest to the frame path. (The goroutine design's
// ws.Upgrader reads ahead and drops such bytes; see wsconn.Handshake.)
func TestReactorFramesBehindRequest(t *testing.T) {
	_, addr := startServer(t, DesignReactor, wsconn.EchoHandler{}, Options{})
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	b := append([]byte(req), wstest.ClientFrame(ws.OpText, true, []byte("early"))...)
	b = append(b, wstest.ClientFrame(ws.OpText, true, []byte("bird"))...)
	_, err = nc.Write(b)
	require.NoError(t, err)
	br := bufio.NewReader(nc)
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	for _, want := range []string{"early", "bird"} {
		f, err := wstest.ReadFrameWithin(nc, br, 10*time.Second)
		require.NoError(t, err)
		require.Equal(t, want, string(f.Payload))
	}
}

// TestHandshakeInPieces: a request that arrives in pieces (the request line
// split, then a header at a time) is upgraded once whole, on both designs.
func TestHandshakeInPieces(t *testing.T) {
	pieces := []string{"GE", "T / HTTP/1.1\r", "\nHost: x\r\n", "Upgrade: websocket\r\nConnection: Upgrade\r\n",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", "\r", "\n"}
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{})
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer nc.Close()
			for _, p := range pieces {
				_, err := nc.Write([]byte(p))
				require.NoError(t, err)
				time.Sleep(5 * time.Millisecond) // lets the server read each piece alone, most of the time
			}
			br := bufio.NewReader(nc)
			_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
			_, err = nc.Write(wstest.ClientFrame(ws.OpBinary, true, []byte("whole")))
			require.NoError(t, err)
			f, err := wstest.ReadFrameWithin(nc, br, 10*time.Second)
			require.NoError(t, err)
			require.Equal(t, "whole", string(f.Payload))
			require.EqualValues(t, 1, s.Stats().Upgraded)
		})
	}
}
