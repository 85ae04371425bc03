package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/stretchr/testify/require"
)

// dialTimeout bounds one client's dial and handshake in the overload tests:
// far past any HandshakeTimeout they set, so a client that times out was
// left hanging, not refused.
const dialTimeout = 10 * time.Second

// overloadPeer is one client of an overload test: upgraded (nc set), or
// refused with an HTTP status.
type overloadPeer struct {
	nc         net.Conn
	br         *bufio.Reader
	status     int    // the refusal's status, 0 if upgraded
	retryAfter string // the refusal's Retry-After header
	body       string
}

// dialPeer dials addr as a WebSocket client. An upgraded client echoes one
// message before dialPeer returns, so that a connection reset after its
// 101 fails the test; a refused one reports the status and Retry-After of
// the answer. Any other outcome (a reset, a timeout: a client left hanging)
// fails the test.
func dialPeer(t *testing.T, addr string, i int) overloadPeer {
	t.Helper()
	var p overloadPeer
	d := ws.Dialer{Timeout: dialTimeout, OnStatusError: func(status int, _ []byte, resp io.Reader) {
		p.status = status
		if r, err := http.ReadResponse(bufio.NewReader(resp), nil); err == nil {
			p.retryAfter = r.Header.Get("Retry-After")
			b, _ := io.ReadAll(r.Body)
			p.body = string(b)
		}
	}}
	nc, br, _, err := d.Dial(context.Background(), "ws://"+addr+"/")
	if p.status != 0 {
		require.ErrorIs(t, err, ws.StatusError(p.status), "client %d", i)
		return p
	}
	require.NoError(t, err, "client %d: neither upgraded nor refused", i)
	t.Cleanup(func() { nc.Close() })
	if br == nil {
		br = bufio.NewReader(nc)
	}
	p.nc, p.br = nc, br
	msg := fmt.Appendf(nil, "client %d", i)
	_ = nc.SetDeadline(time.Now().Add(dialTimeout))
	require.NoError(t, wsutil.WriteClientMessage(nc, ws.OpText, msg), "client %d after its 101", i)
	got, _, err := wsutil.ReadServerData(readWriter{br, nc})
	require.NoError(t, err, "client %d after its 101", i)
	require.Equal(t, msg, got)
	_ = nc.SetDeadline(time.Time{})
	return p
}

// dialPeers dials n clients one after another (see dialPeer) and returns
// the upgraded ones, held open, and the number refused. Every refusal must
// be a 503 with the given Retry-After and a body that mentions why.
func dialPeers(t *testing.T, addr string, n int, retryAfter, why string) (served []overloadPeer, refused int) {
	t.Helper()
	for i := range n {
		p := dialPeer(t, addr, i)
		if p.nc != nil {
			served = append(served, p)
			continue
		}
		refused++
		require.Equal(t, http.StatusServiceUnavailable, p.status, "client %d", i)
		require.Equal(t, retryAfter, p.retryAfter, "client %d", i)
		require.Contains(t, p.body, why, "client %d", i)
	}
	return served, refused
}

// closePeer runs the client side of the close handshake and waits for the
// server to close the TCP connection.
func closePeer(t *testing.T, p overloadPeer) {
	t.Helper()
	_ = p.nc.SetDeadline(time.Now().Add(dialTimeout))
	require.NoError(t, wsutil.WriteClientMessage(p.nc, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	_, err := io.Copy(io.Discard, p.br)
	require.NoError(t, err, "the server closes after the close handshake")
	p.nc.Close()
}

// TestServerMaxConns: with MaxConns 100, of 150 clients dialing one after
// another exactly 100 are served and 50 refused with 503 and Retry-After
// before any upgrade; once 50 of the served have closed, 50 new clients are
// served, and the next one is refused again.
func TestServerMaxConns(t *testing.T) {
	const limit, clients = 100, 150
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{MaxConns: limit, RetryAfter: 1500 * time.Millisecond})
			served, refused := dialPeers(t, addr, clients, "2", "MaxConns") // 1.5 s rounds up
			st := s.Stats()
			t.Logf("design=%s MaxConns=%d: %d of %d clients served, %d refused with 503 (MaxConns); stats %+v", d, limit, len(served), clients, refused, st)
			require.Len(t, served, limit)
			require.Equal(t, clients-limit, refused)
			require.EqualValues(t, clients-limit, st.RefusedMaxConns)
			require.Zero(t, st.RefusedNoFDs)
			require.EqualValues(t, limit, st.Upgraded)
			require.EqualValues(t, clients, st.Accepted)
			require.Zero(t, st.HandshakeErrors, "a refusal is not a failed handshake")

			for _, p := range served[:clients-limit] {
				closePeer(t, p)
			}
			waitOpen(t, s, limit-(clients-limit))
			for i := range clients - limit {
				p := dialPeer(t, addr, clients+i)
				require.NotNil(t, p.nc, "client %d after others closed: status %d", clients+i, p.status)
			}
			p := dialPeer(t, addr, 2*clients)
			require.Equal(t, http.StatusServiceUnavailable, p.status, "at the limit again")
			require.EqualValues(t, clients-limit+1, s.Stats().RefusedMaxConns)
		})
	}
}

// waitOpen waits until the server holds n open connections.
func waitOpen(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(dialTimeout)
	for s.Stats().Open != int64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("open connections %d, want %d", s.Stats().Open, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRefusalResponse(t *testing.T) {
	for _, tc := range []struct {
		retry time.Duration
		want  string
	}{
		{time.Second, "1"},
		{1500 * time.Millisecond, "2"},
		{time.Millisecond, "1"},
		{90 * time.Second, "90"},
	} {
		b := refusalResponse(refuseNoFDs, tc.retry)
		r, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(b))), nil)
		require.NoError(t, err)
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, r.StatusCode)
		require.Equal(t, tc.want, r.Header.Get("Retry-After"), "RetryAfter %v", tc.retry)
		require.Contains(t, string(body), "file descriptors")
	}
	_, err := New(DesignGoroutine, wsconn.EchoHandler{}, Options{MaxConns: -1})
	require.ErrorContains(t, err, "wsconn/server: Options.MaxConns -1 must be >= 0")
	_, err = New(DesignGoroutine, wsconn.EchoHandler{}, Options{RetryAfter: -time.Second})
	require.ErrorContains(t, err, "wsconn/server: Options.RetryAfter -1s must be >= 0")
	s, err := New(DesignGoroutine, wsconn.EchoHandler{}, Options{})
	require.NoError(t, err)
	require.Equal(t, DefaultRetryAfter, s.Options().RetryAfter)
	require.Zero(t, s.Options().MaxConns)
}
