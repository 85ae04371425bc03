package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/server"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// noLeaks checks, after every other cleanup of the test, that no goroutine
// is left.
func noLeaks(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// newServer returns an echo server of design d.
func newServer(t *testing.T, d server.Design) *server.Server {
	s, err := server.New(d, wsconn.EchoHandler{}, server.Options{})
	require.NoError(t, err)
	return s
}

// startServer runs an echo server of design d until the test ends.
func startServer(t *testing.T, d server.Design) (*server.Server, string) {
	s := newServer(t, d)
	return s, wstest.Start(t, s, server.ErrServerClosed)
}

// recorder collects a client's transitions.
type recorder chan Transition

func (r recorder) on(tr Transition) { r <- tr }

// expect reads transitions and checks that they go to the given states in
// order; it returns them.
func (r recorder) expect(t *testing.T, states ...State) []Transition {
	t.Helper()
	var got []Transition
	for _, want := range states {
		select {
		case tr := <-r:
			got = append(got, tr)
			require.Equal(t, want, tr.To, "transition %d: %v (err %v); so far %v", len(got), tr.To, tr.Err, got)
		case <-time.After(10 * time.Second):
			t.Fatalf("no transition to %v after %v", want, got)
		}
	}
	return got
}

func newTestClient(t *testing.T, url string, o Options) (*Client, recorder) {
	rec := make(recorder, 256)
	o.OnState = rec.on
	if o.Seed == 0 {
		o.Seed = 1
	}
	c, err := New(url, o)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c, rec
}

func TestOptions(t *testing.T) {
	_, err := New("http://x/", Options{})
	require.ErrorContains(t, err, "must be ws:// or wss://")
	_, err = New("ws://x/", Options{PongTimeout: -1})
	require.ErrorContains(t, err, "wsconn/client: Options.PongTimeout -1ns must be >= 0")
	_, err = New("ws://x/", Options{MaxAttempts: -2})
	require.ErrorContains(t, err, "wsconn/client: Options.MaxAttempts -2 must be >= 0")
	// Closing a client that never started: Idle → Closed, no goroutine.
	c, rec := newTestClient(t, "ws://127.0.0.1:1/", Options{})
	require.NoError(t, c.Close())
	tr := rec.expect(t, StateClosed)
	require.Equal(t, StateIdle, tr[0].From)
	require.ErrorIs(t, c.Err(), ErrClosed)
}

// TestClientBackoffFullJitter: every delay is within [0, min(max, base·2^(n-1))]
// and they are spread, not equal.
func TestClientBackoffFullJitter(t *testing.T) {
	c, err := New("ws://x/", Options{BackoffBase: 10 * time.Millisecond, BackoffMax: 300 * time.Millisecond})
	require.NoError(t, err)
	defer c.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	for failed := 0; failed <= 10; failed++ {
		ceil := 10 * time.Millisecond << max(failed-1, 0)
		ceil = min(ceil, 300*time.Millisecond)
		seen := map[time.Duration]bool{}
		for range 100 {
			d := c.backoff(rng, failed)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, ceil, "failed=%d", failed)
			seen[d] = true
		}
		require.Greater(t, len(seen), 50, "jitter spreads delays")
	}
}

func TestClientOpenSendClose(t *testing.T) {
	noLeaks(t)
	for _, d := range server.Designs() {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr := startServer(t, d)
			got := make(chan string, 1)
			c, rec := newTestClient(t, "ws://"+addr+"/", Options{
				OnMessage: func(op ws.OpCode, p []byte) { got <- string(p) },
			})
			require.ErrorIs(t, c.Send(ws.OpText, []byte("early")), ErrNotOpen)
			c.Start()
			rec.expect(t, StateConnecting, StateOpen)
			require.NoError(t, c.Send(ws.OpText, []byte("hello")))
			require.Equal(t, "hello", <-got)
			require.NoError(t, c.Close())
			trs := rec.expect(t, StateClosing, StateClosed)
			require.ErrorIs(t, trs[1].Err, ErrClosed)
			wstest.WaitFor(t, 5*time.Second, "server saw close 1000", func() bool {
				return s.Stats().PeerCloses[ws.StatusNormalClosure] == 1 && s.Stats().Open == 0
			})
		})
	}
}

func TestClientServerDropsConnection(t *testing.T) {
	noLeaks(t)
	rs := wstest.Upgrade(t, func(i int, nc net.Conn, br *bufio.Reader) {
		if i == 0 {
			return // the first connection is dropped right after the upgrade
		}
		wstest.HoldOpen(i, nc, br)
	})
	c, rec := newTestClient(t, rs.URL(), Options{BackoffBase: 10 * time.Millisecond})
	c.Start()
	trs := rec.expect(t, StateConnecting, StateOpen, StateBackoff, StateConnecting, StateOpen)
	require.Error(t, trs[2].Err)
	require.Equal(t, StateOpen, trs[2].From)
	require.Equal(t, StateOpen, c.State())
	require.NoError(t, c.Close())
	rec.expect(t, StateClosing, StateClosed)
}

func TestClientServerRefuses(t *testing.T) {
	noLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, rec := newTestClient(t, "ws://"+addr+"/", Options{BackoffBase: time.Millisecond, MaxAttempts: 3})
	c.Start()
	trs := rec.expect(t, StateConnecting, StateBackoff, StateConnecting, StateBackoff, StateConnecting, StateClosed)
	require.Equal(t, 1, trs[1].Attempt)
	require.Equal(t, 2, trs[3].Attempt)
	require.ErrorContains(t, trs[5].Err, "gave up after 3 attempts")
	<-c.Done()
	require.ErrorContains(t, c.Err(), "connection refused")
}

func TestClientPongTimeout(t *testing.T) {
	noLeaks(t)
	rs := wstest.Upgrade(t, wstest.HoldOpen) // reads pings, never answers
	c, rec := newTestClient(t, rs.URL(), Options{
		PingInterval: 30 * time.Millisecond, PongTimeout: 60 * time.Millisecond, BackoffBase: time.Millisecond,
	})
	c.Start()
	trs := rec.expect(t, StateConnecting, StateOpen, StateBackoff, StateConnecting, StateOpen)
	require.ErrorIs(t, trs[2].Err, ErrPongTimeout)
}

// TestClientHeartbeatKeepsOpen: against a server that answers pings the
// connection stays open over many ping intervals.
func TestClientHeartbeatKeepsOpen(t *testing.T) {
	noLeaks(t)
	_, addr := startServer(t, server.DesignReactor)
	c, rec := newTestClient(t, "ws://"+addr+"/", Options{PingInterval: 10 * time.Millisecond, PongTimeout: 5 * time.Second})
	c.Start()
	rec.expect(t, StateConnecting, StateOpen)
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, StateOpen, c.State())
	require.Empty(t, rec)
}

func TestClientServerGoingAway(t *testing.T) {
	noLeaks(t)
	for _, d := range server.Designs() {
		t.Run("design="+string(d), func(t *testing.T) {
			s := newServer(t, d)
			addr, served := wstest.Go(t, s)
			c, rec := newTestClient(t, "ws://"+addr+"/", Options{BackoffBase: time.Millisecond, MaxAttempts: 2})
			c.Start()
			rec.expect(t, StateConnecting, StateOpen)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, s.Shutdown(ctx))
			require.ErrorIs(t, <-served, server.ErrServerClosed)
			trs := rec.expect(t, StateClosing, StateBackoff, StateConnecting, StateBackoff, StateConnecting, StateClosed)
			var ce *wsconn.CloseError
			require.True(t, errors.As(trs[0].Err, &ce), "closing because of %v", trs[0].Err)
			require.Equal(t, ws.StatusGoingAway, ce.Code)
			require.True(t, ce.Remote)
		})
	}
}

func TestClientCloseDuringBackoff(t *testing.T) {
	noLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	c, rec := newTestClient(t, "ws://"+addr+"/", Options{BackoffBase: time.Hour, BackoffMax: time.Hour, Seed: 3})
	c.Start()
	trs := rec.expect(t, StateConnecting, StateBackoff)
	require.Greater(t, trs[1].Delay, time.Second, "seed 3 gives a long delay")
	start := time.Now()
	require.NoError(t, c.Close())
	require.Less(t, time.Since(start), 5*time.Second)
	trs = rec.expect(t, StateClosed)
	require.Equal(t, StateBackoff, trs[0].From)
	require.ErrorIs(t, trs[0].Err, ErrClosed)
	require.Equal(t, StateClosed, c.State())
}

func TestClientCloseWhileConnecting(t *testing.T) {
	noLeaks(t)
	// A listener that accepts and never answers the handshake.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, rec := newTestClient(t, "ws://"+ln.Addr().String()+"/", Options{HandshakeTimeout: time.Hour})
	c.Start()
	rec.expect(t, StateConnecting)
	nc, err := ln.Accept()
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, c.Close())
	trs := rec.expect(t, StateClosed)
	require.Equal(t, StateConnecting, trs[0].From)
}

// TestClientReadsFragmentsAndAnswersPings: the server sends a message in
// three fragments with a ping between them; the client delivers the whole
// message and answers the ping with the same payload.
func TestClientReadsFragmentsAndAnswersPings(t *testing.T) {
	noLeaks(t)
	pong := make(chan string, 1)
	rs := wstest.Upgrade(t, func(_ int, nc net.Conn, br *bufio.Reader) {
		for _, f := range []ws.Frame{
			ws.NewFrame(ws.OpText, false, []byte("hel")),
			ws.NewPingFrame([]byte("are you there")),
			ws.NewFrame(ws.OpContinuation, false, []byte("lo, ")),
			ws.NewFrame(ws.OpContinuation, true, []byte("wörld")),
		} {
			if ws.WriteFrame(nc, f) != nil {
				return
			}
		}
		h, err := ws.ReadHeader(br)
		if err != nil || h.OpCode != ws.OpPong {
			return
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			return
		}
		ws.Cipher(p, h.Mask, 0)
		pong <- string(p)
		wstest.HoldOpen(0, nc, br)
	})
	got := make(chan string, 1)
	c, rec := newTestClient(t, rs.URL(), Options{
		OnMessage: func(op ws.OpCode, p []byte) { got <- fmt.Sprint(op, " ", string(p)) },
	})
	c.Start()
	rec.expect(t, StateConnecting, StateOpen)
	require.Equal(t, "are you there", <-pong)
	require.Equal(t, fmt.Sprint(ws.OpText, " hello, wörld"), <-got)
}

// TestClientMessageTooBig: a server message over MaxMessage fails the
// connection with 1009 and the client reconnects.
func TestClientMessageTooBig(t *testing.T) {
	noLeaks(t)
	closes := make(chan ws.StatusCode, 4)
	rs := wstest.Upgrade(t, func(i int, nc net.Conn, br *bufio.Reader) {
		if i > 0 {
			wstest.HoldOpen(i, nc, br)
			return
		}
		if ws.WriteFrame(nc, ws.NewBinaryFrame(make([]byte, 2000))) != nil {
			return
		}
		h, err := ws.ReadHeader(br)
		if err != nil || h.OpCode != ws.OpClose {
			return
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			return
		}
		ws.Cipher(p, h.Mask, 0)
		code, _ := ws.ParseCloseFrameData(p)
		closes <- code
	})
	c, rec := newTestClient(t, rs.URL(), Options{MaxMessage: 1000, BackoffBase: time.Millisecond})
	c.Start()
	trs := rec.expect(t, StateConnecting, StateOpen, StateClosing, StateBackoff, StateConnecting, StateOpen)
	require.Equal(t, ws.StatusMessageTooBig, <-closes)
	var ce *wsconn.CloseError
	require.True(t, errors.As(trs[2].Err, &ce))
	require.Equal(t, ws.StatusMessageTooBig, ce.Code)
	require.False(t, ce.Remote)
}

// TestClientRetryAfter: a server at its limit answers 503 with
// Retry-After: 1. The client reports the refusal (a *RefusedError with the
// status and the wait) on its way to Backoff, waits at least that second
// before the next attempt, and connects once the server has room.
func TestClientRetryAfter(t *testing.T) {
	noLeaks(t)
	for _, d := range server.Designs() {
		t.Run("design="+string(d), func(t *testing.T) {
			s, err := server.New(d, wsconn.EchoHandler{}, server.Options{MaxConns: 1, RetryAfter: time.Second})
			require.NoError(t, err)
			addr := wstest.Start(t, s, server.ErrServerClosed)
			holder, _ := wstest.Dial(t, addr) // the one connection the server takes

			type stamped struct {
				Transition
				at time.Time
			}
			trs := make(chan stamped, 64)
			c, err := New("ws://"+addr+"/", Options{
				BackoffBase: time.Millisecond, Seed: 1,
				OnState: func(tr Transition) { trs <- stamped{tr, time.Now()} },
			})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, c.Close()) })
			next := func(want State) stamped {
				t.Helper()
				select {
				case tr := <-trs:
					require.Equal(t, want, tr.To, "transition to %v (err %v)", tr.To, tr.Err)
					return tr
				case <-time.After(10 * time.Second):
					t.Fatalf("no transition to %v", want)
				}
				return stamped{}
			}
			c.Start()
			next(StateConnecting)
			backoff := next(StateBackoff)
			re, ok := errors.AsType[*RefusedError](backoff.Err)
			require.True(t, ok, "refusal reported as *RefusedError: %v", backoff.Err)
			require.Equal(t, 503, re.Status)
			require.Equal(t, time.Second, re.RetryAfter)
			require.ErrorIs(t, backoff.Err, ws.StatusError(503))
			require.GreaterOrEqual(t, backoff.Delay, time.Second, "Retry-After plus jitter")
			again := next(StateConnecting)
			// The timer that ends Backoff never fires early, so this holds
			// on any machine, however loaded.
			require.GreaterOrEqual(t, again.at.Sub(backoff.at), time.Second)
			require.NotZero(t, s.Stats().RefusedMaxConns)

			// Once the server sees the holder close, an attempt gets in;
			// until then every attempt is refused the same way.
			holder.Close()
			for {
				var tr stamped
				select {
				case tr = <-trs:
				case <-time.After(10 * time.Second):
					t.Fatal("not Open 10 s after the server had room")
				}
				if tr.To == StateOpen {
					break
				}
				if tr.To == StateBackoff {
					require.IsType(t, &RefusedError{}, tr.Err)
					continue
				}
				require.Equal(t, StateConnecting, tr.To)
			}
			require.Equal(t, StateOpen, c.State())
		})
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"Retry-After: 1\r\n", time.Second},
		{"Retry-After: 120\r\n", 2 * time.Minute},
		{"Retry-After: 0\r\n", 0},
		{"Retry-After: " + now.Add(90*time.Second).Format(http.TimeFormat) + "\r\n", 90 * time.Second},
		{"Retry-After: " + now.Add(-time.Hour).Format(http.TimeFormat) + "\r\n", 0}, // in the past
		{"Retry-After: soon\r\n", 0},
		{"Retry-After: -3\r\n", 0},
		{"", 0},
	} {
		resp := "HTTP/1.1 503 Service Unavailable\r\n" + tc.header + "Content-Length: 0\r\n\r\n"
		require.Equal(t, tc.want, retryAfter(strings.NewReader(resp), now), "%q", tc.header)
	}
	require.Zero(t, retryAfter(strings.NewReader("not http"), now))
}
