package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/rtlab/rtlab/internal/testcert"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/internal/conformance"
	"github.com/stretchr/testify/require"
)

// The tests of this file run every design over TLS (wss://).

// newAuthority makes the test's certificates (internal/testcert).
func newAuthority(t *testing.T) *testcert.Authority {
	t.Helper()
	a, err := testcert.New()
	require.NoError(t, err)
	return a
}

// startWSS is startServer over TLS: it returns the server, its address and
// a client configuration that trusts its certificate.
func startWSS(t *testing.T, d Design, h wsconn.Handler, o Options) (*Server, string, *tls.Config) {
	t.Helper()
	a := newAuthority(t)
	o.TLSConfig = a.ServerConfig()
	s, addr := startServer(t, d, h, o)
	return s, addr, a.ClientConfig()
}

func TestWSSOptions(t *testing.T) {
	a := newAuthority(t)
	old := a.ServerConfig()
	old.MaxVersion = tls.VersionTLS12
	_, err := New(DesignGoroutine, wsconn.EchoHandler{}, Options{TLSConfig: old})
	require.ErrorContains(t, err, "Options.TLSConfig.MaxVersion 0x303 is below TLS 1.3")
	_, err = New(DesignGoroutine, wsconn.EchoHandler{}, Options{TLSConfig: &tls.Config{}})
	require.ErrorContains(t, err, "Options.TLSConfig has no certificate")
	given := a.ServerConfig()
	given.MinVersion = tls.VersionTLS12
	s, err := New(DesignGoroutine, wsconn.EchoHandler{}, Options{TLSConfig: given})
	require.NoError(t, err)
	require.Equal(t, uint16(tls.VersionTLS13), s.Options().TLSConfig.MinVersion, "served TLS 1.3 only")
	require.Equal(t, uint16(tls.VersionTLS12), given.MinVersion, "the caller's config is not modified")
}

func TestWSSEcho(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr, cfg := startWSS(t, d, wsconn.EchoHandler{}, Options{})
			nc, br := wstest.DialTLS(t, addr, cfg)
			st := nc.(*tls.Conn).ConnectionState()
			require.Equal(t, uint16(tls.VersionTLS13), st.Version)
			// 16 KiB: a full TLS record of plaintext.
			echoSizes(t, nc, br, []int{0, 1, 125, 126, 4000, 16 << 10, 65536, 300000})
			require.EqualValues(t, 8, s.Stats().MessagesIn)
			require.NoError(t, wsutil.WriteClientMessage(nc, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
			f, err := wstest.ReadFrameWithin(nc, br, 5*time.Second)
			require.NoError(t, err)
			require.Equal(t, ws.OpClose, f.Header.OpCode)
			// Then the server's close_notify: a clean end of the TLS stream.
			_, err = wstest.ReadFrameWithin(nc, br, 5*time.Second)
			require.ErrorIs(t, err, io.EOF)
			wstest.WaitFor(t, 5*time.Second, "connection closed", func() bool { return s.Stats().Open == 0 })
			require.EqualValues(t, 1, s.Stats().PeerCloses[ws.StatusNormalClosure])
		})
	}
}

// TestWSSConformance runs the conformance suite over TLS, as
// TestServerConformance does in the clear; -short skips it.
func TestWSSConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite takes about a minute; -short skips it")
	}
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			_, addr, cfg := startWSS(t, d, wsconn.EchoHandler{}, Options{})
			rs := conformance.Run(addr, conformance.Options{TLS: cfg})
			require.NotEmpty(t, rs, "conformance suite ran no case")
			for _, r := range rs {
				if r.Verdict != conformance.Pass {
					t.Errorf("%s (%s): %s: %s", r.Case, r.Desc, r.Verdict, r.Detail)
				}
			}
			t.Logf("design=%s over TLS: %+v", d, conformance.Summarize(rs))
		})
	}
}

// readToEnd reads what the server sends until it closes the connection,
// failing the test if it has not within 5 s.
func readToEnd(t *testing.T, nc net.Conn) []byte {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(nc)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server did not close the connection")
	return b
}

// TestWSSBadPeers: peers that break TLS. Each is closed and counted, none
// is upgraded, and the server goes on serving a good client.
func TestWSSBadPeers(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			t.Run("malformed-record-in-handshake", func(t *testing.T) {
				s, addr, _ := startWSS(t, d, wsconn.EchoHandler{}, Options{})
				nc, err := net.Dial("tcp", addr)
				require.NoError(t, err)
				defer nc.Close()
				// A handshake record whose message is 0xff, of a length
				// that runs past the record.
				_, err = nc.Write([]byte{0x16, 0x03, 0x01, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff})
				require.NoError(t, err)
				b := readToEnd(t, nc)
				require.NotEmpty(t, b, "a TLS alert before the close")
				require.Equal(t, byte(0x15), b[0], "an alert record: % x", b)
				wstest.WaitFor(t, 5*time.Second, "handshake error counted", func() bool { return s.Stats().HandshakeErrors == 1 })
				require.Zero(t, s.Stats().Upgraded)
			})
			t.Run("malformed-record-after-upgrade", func(t *testing.T) {
				s, addr, cfg := startWSS(t, d, wsconn.EchoHandler{}, Options{})
				raw, err := net.Dial("tcp", addr)
				require.NoError(t, err)
				defer raw.Close()
				tc := tls.Client(raw, withServerName(cfg, "127.0.0.1"))
				_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
				_, _, err = ws.Dialer{}.Upgrade(tc, mustURL("wss://"+addr+"/"))
				require.NoError(t, err)
				wstest.WaitFor(t, 5*time.Second, "upgraded", func() bool { return s.Stats().Open == 1 })
				// Application data the server cannot decrypt: its MAC fails.
				rec := append([]byte{0x17, 0x03, 0x03, 0x00, 0x20}, bytes.Repeat([]byte{0x5a}, 0x20)...)
				_, err = raw.Write(rec)
				require.NoError(t, err)
				readToEnd(t, raw)
				wstest.WaitFor(t, 5*time.Second, "connection closed", func() bool { return s.Stats().Open == 0 })
				require.Zero(t, s.Stats().MessagesIn)
			})
			t.Run("plain-http", func(t *testing.T) {
				s, addr, _ := startWSS(t, d, wsconn.EchoHandler{}, Options{})
				nc, err := net.Dial("tcp", addr)
				require.NoError(t, err)
				defer nc.Close()
				// A ws:// upgrade, then a megabyte more: the server gives up on
				// the first record header and answers once.
				req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
				go func() { _, _ = nc.Write(append([]byte(req), bytes.Repeat([]byte("x"), 1<<20)...)) }()
				resp := string(readToEnd(t, nc))
				line, _, _ := strings.Cut(resp, "\r\n")
				require.Equal(t, "HTTP/1.0 400 Bad Request", line)
				require.Contains(t, resp, "TLS")
				wstest.WaitFor(t, 5*time.Second, "handshake error counted", func() bool { return s.Stats().HandshakeErrors == 1 })
				st := s.Stats()
				require.EqualValues(t, 1, st.Accepted)
				require.Zero(t, st.Upgraded)
				require.Zero(t, st.HandshakeTimeouts)
			})
			for _, stop := range []string{"in-tls-handshake", "after-tls-handshake"} {
				t.Run("stops-"+stop, func(t *testing.T) {
					// HandshakeTimeout bounds the TLS handshake and the
					// opening handshake together: a peer that stops in
					// either is closed then and counted as a timeout.
					const timeout = 300 * time.Millisecond
					s, addr, cfg := startWSS(t, d, wsconn.EchoHandler{}, Options{HandshakeTimeout: timeout})
					nc, err := net.Dial("tcp", addr)
					require.NoError(t, err)
					defer nc.Close()
					conn := nc
					if stop == "in-tls-handshake" {
						// The first bytes of a ClientHello of 512 bytes.
						_, err = nc.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03})
						require.NoError(t, err)
					} else {
						tc := tls.Client(nc, withServerName(cfg, "127.0.0.1"))
						require.NoError(t, tc.Handshake())
						conn = tc // then no upgrade request
					}
					_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
					_, err = io.ReadAll(conn)
					require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server did not close the connection")
					wstest.WaitFor(t, 5*time.Second, "timeout counted", func() bool { return s.Stats().HandshakeTimeouts == 1 })
					require.Zero(t, s.Stats().Upgraded)
				})
			}
			t.Run("tls-1.2-client", func(t *testing.T) {
				s, addr, cfg := startWSS(t, d, wsconn.EchoHandler{}, Options{})
				old := withServerName(cfg, "127.0.0.1")
				old.MinVersion, old.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
				_, err := tls.Dial("tcp", addr, old)
				require.ErrorContains(t, err, "protocol version")
				wstest.WaitFor(t, 5*time.Second, "handshake error counted", func() bool { return s.Stats().HandshakeErrors == 1 })
				// A good client after all of them.
				nc, br := wstest.DialTLS(t, addr, cfg)
				require.NoError(t, wsutil.WriteClientMessage(nc, ws.OpText, []byte("still here")))
				got, _, err := wsutil.ReadServerData(readWriter{br, nc})
				require.NoError(t, err)
				require.Equal(t, "still here", string(got))
			})
		})
	}
}

// TestWSSShutdown: Shutdown sends close 1001 over TLS; peers that never
// answer are cut when Shutdown's context ends, with nothing left running.
func TestWSSShutdown(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			a := newAuthority(t)
			s, addr, served := serveLoopback(t, d, wsconn.EchoHandler{}, Options{TLSConfig: a.ServerConfig(), CloseTimeout: time.Hour})
			var peers []net.Conn
			var readers []*bufio.Reader
			for range 5 {
				nc, br := wstest.DialTLS(t, addr, a.ClientConfig())
				peers, readers = append(peers, nc), append(readers, br)
			}
			wstest.WaitFor(t, 5*time.Second, "all upgraded", func() bool { return s.Stats().Open == 5 })
			// The context ends only once every peer has read its close
			// frame: goAway leaves the frame's write to each connection,
			// and a context that ended first would close the connections
			// without it.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			shut := make(chan error, 1)
			go func() { shut <- s.Shutdown(ctx) }()
			for i, nc := range peers {
				f, err := wstest.ReadFrameWithin(nc, readers[i], 5*time.Second)
				require.NoError(t, err)
				require.Equal(t, ws.OpClose, f.Header.OpCode)
				code, _ := ws.ParseCloseFrameData(f.Payload)
				require.Equal(t, ws.StatusGoingAway, code)
			}
			// Nobody answers; CloseTimeout is an hour: the context ends it.
			cancel()
			require.ErrorIs(t, <-shut, context.Canceled)
			require.ErrorIs(t, <-served, ErrServerClosed)
			st := s.Stats()
			require.Zero(t, st.Open)
			require.Zero(t, st.Goroutines)
		})
	}
}

// TestWSSMaxConns: a client past MaxConns is refused with 503 over TLS,
// after its TLS handshake, so a wss:// client reads the refusal.
func TestWSSMaxConns(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr, cfg := startWSS(t, d, wsconn.EchoHandler{}, Options{MaxConns: 1})
			wstest.DialTLS(t, addr, cfg)
			wstest.WaitFor(t, 5*time.Second, "first upgraded", func() bool { return s.Stats().Open == 1 })
			var status int
			dl := ws.Dialer{TLSConfig: cfg, Timeout: dialTimeout, OnStatusError: func(st int, _ []byte, _ io.Reader) { status = st }}
			_, _, _, err := dl.Dial(context.Background(), "wss://"+addr+"/")
			require.ErrorIs(t, err, ws.StatusError(http.StatusServiceUnavailable))
			require.Equal(t, http.StatusServiceUnavailable, status)
			require.EqualValues(t, 1, s.Stats().RefusedMaxConns)
		})
	}
}

func withServerName(cfg *tls.Config, name string) *tls.Config {
	c := cfg.Clone()
	c.ServerName = name
	return c
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
