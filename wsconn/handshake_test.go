package wsconn

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handshakeOver runs Handshake on the server end of a loopback TCP
// connection while client writes req, and returns the handshake error and
// the status the client read.
func handshakeOver(t *testing.T, req string, timeout time.Duration, max int64) (int, error) {
	t.Helper()
	errc := make(chan error, 1)
	l := wstest.Accept(t, func(_ int, c net.Conn) {
		_, err := Handshake(c, timeout, max)
		c.Close()
		errc <- err
	})
	c, err := net.Dial("tcp", l.Addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	return resp.StatusCode, <-errc
}

func TestHandshake(t *testing.T) {
	tests := []struct {
		name   string
		req    string
		status int
	}{
		{
			name:   "valid",
			req:    fuzzGoodRequest,
			status: http.StatusSwitchingProtocols,
		},
		{
			name:   "not HTTP",
			req:    "\x16\x03\x01 hello\r\n\r\n",
			status: http.StatusBadRequest,
		},
		{
			name:   "missing key",
			req:    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
			status: http.StatusBadRequest,
		},
		{
			name:   "wrong version",
			req:    strings.Replace(fuzzGoodRequest, "Version: 13", "Version: 8", 1),
			status: http.StatusUpgradeRequired,
		},
		{
			name:   "oversized header",
			req:    "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n",
			status: http.StatusRequestHeaderFieldsTooLarge,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, err := handshakeOver(t, tc.req, 5*time.Second, 4096)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.status == http.StatusSwitchingProtocols, err == nil, "handshake error %v", err)
		})
	}
}

// TestHandshakeTimeout: a client that sends half a request and stalls gets
// 408 when the handshake timeout passes, not a server stuck reading.
func TestHandshakeTimeout(t *testing.T) {
	start := time.Now()
	status, err := handshakeOver(t, "GET / HTTP/1.1\r\nHost: x\r\nUpgr", 100*time.Millisecond, 0)
	assert.Error(t, err)
	assert.Equal(t, http.StatusRequestTimeout, status)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "answered before the timeout")
}

func TestHandshakeBadTimeout(t *testing.T) {
	_, err := Handshake(nil, 0, 0)
	assert.ErrorContains(t, err, "wsconn: handshake timeout 0s must be > 0")
}
