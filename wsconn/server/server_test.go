package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var designs = Designs()

// serveLoopback serves h on a loopback port; the test shuts it down (or,
// if it fails first, its cleanup does). served receives what Serve
// returned.
func serveLoopback(t testing.TB, d Design, h wsconn.Handler, o Options) (s *Server, addr string, served <-chan error) {
	t.Helper()
	s, err := New(d, h, o)
	require.NoError(t, err)
	addr, served = wstest.Go(t, s)
	return s, addr, served
}

// startServer serves h on a loopback port and shuts the server down (and
// checks that Serve returned ErrServerClosed and nothing is left open or
// running) when the test ends.
func startServer(t testing.TB, d Design, h wsconn.Handler, o Options) (*Server, string) {
	t.Helper()
	s, err := New(d, h, o)
	require.NoError(t, err)
	t.Cleanup(func() {
		st := s.Stats()
		require.Zero(t, st.Open, "open connections after Shutdown")
		require.Zero(t, st.Goroutines, "server goroutines after Shutdown")
		require.Zero(t, st.QueuedBytes, "queued bytes after Shutdown")
	})
	return s, wstest.Start(t, s, ErrServerClosed)
}

func TestNewOptions(t *testing.T) {
	_, err := New("threads", wsconn.EchoHandler{}, Options{})
	require.ErrorContains(t, err, `wsconn/server: design "threads"`)
	_, err = New(DesignGoroutine, nil, Options{})
	require.ErrorContains(t, err, "wsconn/server: handler is nil")
	_, err = New(DesignGoroutine, wsconn.EchoHandler{}, Options{ReadTimeout: -time.Second})
	require.ErrorContains(t, err, "wsconn/server: Options.ReadTimeout -1s must be >= 0")
	_, err = New(DesignReactor, wsconn.EchoHandler{}, Options{WriteQueueBytes: -1})
	require.ErrorContains(t, err, "wsconn/server: Options.WriteQueueBytes -1 must be >= 0")
	s, err := New(DesignReactor, wsconn.EchoHandler{}, Options{PingInterval: time.Second})
	require.NoError(t, err)
	require.Equal(t, time.Second, s.Options().PongTimeout)
	require.Equal(t, DefaultHandshakeTimeout, s.Options().HandshakeTimeout)
	if runtime.GOOS == "linux" {
		require.Equal(t, DesignReactor, s.Design())
	} else {
		require.Equal(t, DesignGoroutine, s.Design())
	}
}

func TestServerEcho(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{})
			nc, br := wstest.Dial(t, addr)
			echoSizes(t, nc, br, []int{0, 1, 125, 126, 4000, 65535, 65536, 300000})
			st := s.Stats()
			require.EqualValues(t, 8, st.MessagesIn)
			require.EqualValues(t, 1, st.Open)
			require.NoError(t, wsutil.WriteClientMessage(nc, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
			f, err := wstest.ReadFrameWithin(nc, br, 5*time.Second)
			require.NoError(t, err)
			require.Equal(t, ws.OpClose, f.Header.OpCode)
			wstest.WaitFor(t, 5*time.Second, "connection closed", func() bool { return s.Stats().Open == 0 })
			require.EqualValues(t, 1, s.Stats().PeerCloses[ws.StatusNormalClosure])
		})
	}
}

// echoSizes sends a binary message of each size on nc and checks its echo.
func echoSizes(t *testing.T, nc net.Conn, br *bufio.Reader, sizes []int) {
	t.Helper()
	for i, n := range sizes {
		msg := bytes.Repeat([]byte{byte('a' + i)}, n)
		require.NoError(t, wsutil.WriteClientMessage(nc, ws.OpBinary, msg))
		got, op, err := wsutil.ReadServerData(readWriter{br, nc})
		require.NoError(t, err)
		require.Equal(t, ws.OpBinary, op)
		require.True(t, bytes.Equal(msg, got), "size %d", n)
	}
}

// TestServerShutdownSendsGoingAway checks close 1001 on Shutdown, for idle
// connections and one whose handler is still running.
func TestServerShutdownSendsGoingAway(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr, served := serveLoopback(t, d, wsconn.EchoHandler{}, Options{})
			const n = 5
			type peer struct {
				nc net.Conn
				br *bufio.Reader
			}
			var peers []peer
			for range n {
				nc, br := wstest.Dial(t, addr)
				peers = append(peers, peer{nc, br})
			}
			wstest.WaitFor(t, 5*time.Second, "all upgraded", func() bool { return s.Stats().Open == n })
			// Shutdown ends when the peers have answered, however long
			// that takes: its context is the test's, never a deadline
			// that could close the connections before their close frame.
			done := make(chan error, 1)
			go func() { done <- s.Shutdown(t.Context()) }()
			for _, p := range peers {
				f, err := wstest.ReadFrameWithin(p.nc, p.br, 5*time.Second)
				require.NoError(t, err)
				require.Equal(t, ws.OpClose, f.Header.OpCode)
				code, _ := ws.ParseCloseFrameData(f.Payload)
				require.Equal(t, ws.StatusGoingAway, code)
				// Answer like a client, then expect EOF (the server closes).
				require.NoError(t, wsutil.WriteClientMessage(p.nc, ws.OpClose, f.Payload))
				_, err = wstest.ReadFrameWithin(p.nc, p.br, 5*time.Second)
				require.ErrorIs(t, err, io.EOF)
			}
			require.NoError(t, <-done)
			require.ErrorIs(t, <-served, ErrServerClosed)
			require.Zero(t, s.Stats().Open)
			require.Zero(t, s.Stats().Goroutines)
		})
	}
}

func TestServerProtocolErrorClosesWithCode(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{Limits: wsconn.Limits{MaxMessage: 1000}})
			cases := []struct {
				name  string
				frame ws.Frame
				mask  bool
				code  ws.StatusCode
			}{
				{"unmasked", ws.NewTextFrame([]byte("hi")), false, ws.StatusProtocolError},
				{"bad-utf8", ws.NewTextFrame([]byte{0xff, 0xfe}), true, ws.StatusInvalidFramePayloadData},
				{"too-big", ws.NewBinaryFrame(make([]byte, 2000)), true, ws.StatusMessageTooBig},
				{"reserved-opcode", ws.NewFrame(ws.OpCode(3), true, nil), true, ws.StatusProtocolError},
			}
			for _, tc := range cases {
				nc, br := wstest.Dial(t, addr)
				f := tc.frame
				if tc.mask {
					f = ws.MaskFrameInPlace(f)
				}
				require.NoError(t, ws.WriteFrame(nc, f), tc.name)
				got, err := wstest.ReadFrameWithin(nc, br, 5*time.Second)
				require.NoError(t, err, tc.name)
				require.Equal(t, ws.OpClose, got.Header.OpCode, tc.name)
				code, _ := ws.ParseCloseFrameData(got.Payload)
				require.Equal(t, tc.code, code, tc.name)
				// The server sent FIN after its close frame.
				_, err = wstest.ReadFrameWithin(nc, br, 5*time.Second)
				require.ErrorIs(t, err, io.EOF, tc.name)
			}
			wstest.WaitFor(t, 5*time.Second, "connections closed", func() bool { return s.Stats().Open == 0 })
			pe := s.Stats().ProtocolErrors
			require.EqualValues(t, 2, pe[ws.StatusProtocolError])
			require.EqualValues(t, 1, pe[ws.StatusInvalidFramePayloadData])
			require.EqualValues(t, 1, pe[ws.StatusMessageTooBig])
		})
	}
}

func TestServerPingAndPongTimeout(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{PingInterval: 50 * time.Millisecond, PongTimeout: time.Second})
			// A peer that answers pings stays open across many intervals: it
			// answers every ping until the test ends, so that it never
			// outlives its own PongTimeout while the test looks at the other.
			good, gbr := wstest.Dial(t, addr)
			var answered atomic.Int32
			answering := make(chan error, 1)
			go func() {
				for {
					f, err := wstest.ReadFrame(gbr)
					if err == nil && f.Header.OpCode == ws.OpPing {
						err = wsutil.WriteClientMessage(good, ws.OpPong, f.Payload)
						answered.Add(1)
					}
					if err != nil {
						answering <- err
						return
					}
				}
			}()
			t.Cleanup(func() {
				good.Close()
				<-answering
			})
			// A peer that never reads or answers is closed.
			bad, _ := wstest.Dial(t, addr)
			wstest.WaitFor(t, 10*time.Second, "five pings answered", func() bool { return answered.Load() >= 5 })
			wstest.WaitFor(t, 5*time.Second, "pong timeout", func() bool { return s.Stats().PongTimeouts == 1 })
			_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := io.Copy(io.Discard, bad)
			require.NoError(t, err, "bad peer sees its connection closed (pings, then EOF)")
			require.EqualValues(t, 1, s.Stats().Open)
			require.GreaterOrEqual(t, s.Stats().PingsSent, uint64(6))
		})
	}
}

func TestServerCutMidFrame(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{ReadTimeout: 200 * time.Millisecond})
			// One peer disconnects half way through a frame, another stalls.
			for _, stall := range []bool{false, true} {
				nc, _ := wstest.Dial(t, addr)
				f := ws.MaskFrameInPlace(ws.NewBinaryFrame(make([]byte, 10000)))
				b, err := ws.CompileFrame(f)
				require.NoError(t, err)
				_, err = nc.Write(b[:5000])
				require.NoError(t, err)
				if !stall {
					nc.Close()
				}
			}
			// Both upgraded, then both closed: the client has its 101 before
			// the server counts the upgrade, so Open alone can read 0 while
			// the second connection is not counted yet.
			wstest.WaitFor(t, 5*time.Second, "both upgraded and closed", func() bool {
				st := s.Stats()
				return st.Upgraded == 2 && st.Open == 0
			})
			require.Zero(t, s.Stats().MessagesIn)
		})
	}
}

// TestHandshakeBadPeers sends what is not a valid upgrade and checks the
// answer and that the connection is closed.
func TestHandshakeBadPeers(t *testing.T) {
	const okHeaders = "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	cases := []struct {
		name    string
		request string
		status  string
		header  string
	}{
		{"not-http", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n", "400", ""},
		{"missing-upgrade", "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", "400", ""},
		{"missing-key", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n", "400", ""},
		{"wrong-version", "GET / HTTP/1.1\r\n" + okHeaders + "Sec-WebSocket-Version: 8\r\n\r\n", "426", "Sec-WebSocket-Version: 13"},
		{"oversized-headers", "GET / HTTP/1.1\r\n" + okHeaders + "X-Big: " + strings.Repeat("a", 20000) + "\r\nSec-WebSocket-Version: 13\r\n\r\n", "431", ""},
		{"post", "POST / HTTP/1.1\r\n" + okHeaders + "Sec-WebSocket-Version: 13\r\n\r\n", "405", ""},
		// Never finished: answered on the request line alone, not at
		// HandshakeTimeout (which would be 408).
		{"not-http-unfinished", "\x16\x03\x01\x02\x00 hello\r\n", "400", ""},
		{"post-unfinished", "POST / HTTP/1.1\r\nHost: x\r\n", "405", ""},
		{"http-1.0-unfinished", "GET / HTTP/1.0\r\nHost: x\r\n", "505", ""},
	}
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{MaxHeaderBytes: 8 << 10})
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					nc, err := net.Dial("tcp", addr)
					require.NoError(t, err)
					defer nc.Close()
					_, _ = io.WriteString(nc, tc.request) // the server may close before reading it all
					_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
					resp, err := io.ReadAll(nc)
					if err != nil && !errors.Is(err, io.EOF) && len(resp) == 0 {
						require.NoError(t, err)
					}
					line, _, _ := strings.Cut(string(resp), "\r\n")
					require.True(t, strings.HasPrefix(line, "HTTP/1.1 "+tc.status), "got %q", line)
					if tc.header != "" {
						require.Contains(t, string(resp), tc.header)
					}
				})
			}
			wstest.WaitFor(t, 5*time.Second, "rejected connections closed", func() bool {
				st := s.Stats()
				return st.HandshakeErrors == uint64(len(cases)) && st.Accepted == uint64(len(cases))
			})
			require.Zero(t, s.Stats().Upgraded)
		})
	}
}

// TestHandshakeSlowloris trickles a valid request one byte at a time, too
// slowly: the server closes at HandshakeTimeout.
func TestHandshakeSlowloris(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			const timeout = 300 * time.Millisecond
			s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{HandshakeTimeout: timeout})
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer nc.Close()
			// Never finished (no blank line): only the timeout can end it.
			req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			for i := 0; i < len(req); i++ {
				if _, err := nc.Write([]byte{req[i]}); err != nil {
					break // closed by the server: what this test expects
				}
				if s.Stats().HandshakeTimeouts > 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := io.ReadAll(nc)
			require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server did not close the connection")
			require.True(t, len(resp) == 0 || strings.HasPrefix(string(resp), "HTTP/1.1 408"), "got %q", resp)
			wstest.WaitFor(t, 5*time.Second, "timeout counted", func() bool { return s.Stats().HandshakeTimeouts == 1 })
			require.Zero(t, s.Stats().Upgraded)
		})
	}
}

// TestSlowConsumer: a peer that sends but never reads. The server's
// writes are bounded two ways, and each ends the connection as a slow
// consumer: by bytes (bound: the reactor's write queue may not pass
// WriteQueueBytes; the test sends 32 KiB messages without end) and by time
// (deadline: four 4 MiB messages, more than the socket buffers take; the
// reactor's queue holds the rest below its bound and the oldest byte ages
// past WriteTimeout; the goroutine design's blocked write passes it). The
// bytes the server held for the peer never pass the bound.
func TestSlowConsumer(t *testing.T) {
	cases := []struct {
		name    string
		designs []Design
		o       Options
		size    int
		count   int // 0: until the connection ends
	}{
		{"bound", []Design{DesignReactor}, Options{WriteQueueBytes: 256 << 10, WriteTimeout: time.Hour}, 32 << 10, 0},
		{"deadline", designs, Options{WriteTimeout: 300 * time.Millisecond}, 4 << 20, 4},
	}
	for _, tc := range cases {
		for _, d := range tc.designs {
			t.Run("limit="+tc.name+"/design="+string(d), func(t *testing.T) {
				s, addr := startServer(t, d, wsconn.EchoHandler{}, tc.o)
				if d == DesignReactor && s.Design() != DesignReactor {
					t.Skip("reactor needs epoll")
				}
				// (No SetReadBuffer: shrinking the receive buffer of an
				// established loopback connection can stall it in the kernel
				// for seconds, which would look like a server bug.)
				nc, _ := wstest.Dial(t, addr)
				frame, err := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewBinaryFrame(make([]byte, tc.size))))
				require.NoError(t, err)
				// Whole frames only (a write cut by a deadline would corrupt
				// the stream), from a goroutine that ends with the socket.
				wrote := make(chan struct{})
				go func() {
					defer close(wrote)
					for i := 0; tc.count == 0 || i < tc.count; i++ {
						if _, err := nc.Write(frame); err != nil {
							return
						}
					}
				}()
				deadline := time.Now().Add(20 * time.Second)
				for s.Stats().SlowConsumers == 0 {
					if time.Now().After(deadline) {
						t.Fatalf("no slow consumer after 20s; stats %+v", s.Stats())
					}
					time.Sleep(5 * time.Millisecond)
				}
				nc.Close()
				<-wrote
				st := s.Stats()
				require.EqualValues(t, 1, st.SlowConsumers)
				bound := int64(s.Options().WriteQueueBytes)
				require.LessOrEqual(t, st.PeakQueuedBytes, bound)
				t.Logf("limit=%s design=%s: closed after %d messages of %d B echoed into a peer that does not read; peak queued %d B (bound %d B)",
					tc.name, d, st.MessagesIn, tc.size, st.PeakQueuedBytes, bound)
				wstest.WaitFor(t, 5*time.Second, "connection closed", func() bool { return s.Stats().Open == 0 })
			})
		}
	}
}

// TestServerThousandConnsBaseline opens 1000 connections (fewer where the
// open-files limit cannot hold both ends of so many: wstest.FitConns),
// echoes one message on each, shuts the server down, and checks that
// goroutines and open descriptors return to what they were before.
func TestServerThousandConnsBaseline(t *testing.T) {
	want := 1000
	if testing.Short() {
		want = 200
	}
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			runtime.GC()
			g0, fd0 := runtime.NumGoroutine(), procmem.OpenFDs()
			n := wstest.FitConns(t, want)
			s, addr, served := serveLoopback(t, d, wsconn.EchoHandler{}, Options{})
			conns := make([]net.Conn, 0, n)
			brs := make([]*bufio.Reader, 0, n)
			t.Cleanup(func() {
				for _, nc := range conns {
					nc.Close()
				}
			})
			for range n {
				nc, br, _, err := ws.Dial(context.Background(), "ws://"+addr+"/")
				require.NoError(t, err)
				if br == nil {
					br = bufio.NewReader(nc)
				}
				conns = append(conns, nc)
				brs = append(brs, br)
			}
			for i, nc := range conns {
				msg := fmt.Appendf(nil, "hello %d", i)
				require.NoError(t, wsutil.WriteClientMessage(nc, ws.OpText, msg))
				got, _, err := wsutil.ReadServerData(readWriter{brs[i], nc})
				require.NoError(t, err)
				require.Equal(t, msg, got)
			}
			st := s.Stats()
			gMid, fdMid := runtime.NumGoroutine(), procmem.OpenFDs()
			require.EqualValues(t, n, st.Open)
			shut := make(chan error, 1)
			go func() { shut <- s.Shutdown(t.Context()) }() // ends when the clients have closed
			// The clients answer close 1001 and close.
			for i, nc := range conns {
				_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
				f, err := wstest.ReadFrame(brs[i])
				if err == nil && f.Header.OpCode == ws.OpClose {
					_ = wsutil.WriteClientMessage(nc, ws.OpClose, f.Payload)
				}
				nc.Close()
			}
			require.NoError(t, <-shut)
			require.ErrorIs(t, <-served, ErrServerClosed)
			wstest.WaitFor(t, 5*time.Second, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= g0 })
			g1, fd1 := runtime.NumGoroutine(), procmem.OpenFDs()
			t.Logf("design=%s conns=%d: goroutines before=%d open=%d (server %d, peak %d) after=%d; fds before=%d open=%d after=%d",
				d, n, g0, gMid, st.Goroutines, st.PeakGoroutines, g1, fd0, fdMid, fd1)
			require.LessOrEqual(t, g1, g0)
			if fd0 >= 0 {
				require.LessOrEqual(t, fd1, fd0)
			}
			if d == DesignReactor && s.Design() == DesignReactor {
				// Its worker pool and its loop, sized by GOMAXPROCS, not
				// by the connections.
				pool := int64(s.Options().Workers + 1)
				require.Less(t, st.Goroutines-pool, int64(n/10), "reactor goroutines beyond its pool of %d with %d idle connections", pool, n)
			} else {
				require.GreaterOrEqual(t, st.Goroutines, int64(n))
			}
		})
	}
}

// TestReactorGoroutinesFlat grows idle connections to 400 (fewer where the
// open-files limit cannot hold both ends of so many: wstest.FitConns) and
// checks that the reactor's goroutine count does not grow with them.
func TestReactorGoroutinesFlat(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reactor needs epoll")
	}
	top := wstest.FitConns(t, 400)
	s, addr := startServer(t, DesignReactor, wsconn.EchoHandler{}, Options{})
	var counts []int64
	for _, target := range []int{min(10, top), min(100, top), top} {
		for s.Stats().Open < int64(target) {
			nc, _ := wstest.Dial(t, addr)
			_ = nc
		}
		wstest.WaitFor(t, 5*time.Second, "handshake goroutines gone", func() bool {
			return s.Stats().Goroutines == int64(s.Options().Workers+1)
		})
		counts = append(counts, s.Stats().Goroutines)
		t.Logf("idle conns=%d: server goroutines=%d, process goroutines=%d", target, s.Stats().Goroutines, runtime.NumGoroutine())
	}
	require.Equal(t, counts[0], counts[len(counts)-1])
}

// TestReactorLateReader: a client sends messages without reading, then
// reads every echo. The reactor never stops reading while its writes wait:
// it queues what the socket does not take (more than the loopback socket
// buffers hold) and flushes it when the socket becomes writable; every byte
// must arrive in order and the queue must be empty afterwards. (The
// goroutine design stops reading while a write blocks, so this client would
// block too; TestSlowConsumer covers that design.)
func TestReactorLateReader(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reactor needs epoll")
	}
	s, addr := startServer(t, DesignReactor, wsconn.EchoHandler{}, Options{})
	nc, br := wstest.Dial(t, addr)
	const n, size = 64, 256 << 10 // 16 MiB: more than loopback socket buffers hold
	var sent [][]byte
	for i := range n {
		msg := bytes.Repeat([]byte{byte(i)}, size)
		msg[0], msg[size-1] = 0xAA, byte(i)
		sent = append(sent, msg)
		require.NoError(t, wsutil.WriteClientMessage(nc, ws.OpBinary, msg))
	}
	wstest.WaitFor(t, 10*time.Second, "all messages read by the server", func() bool { return s.Stats().MessagesIn == n })
	for i := range n {
		f, err := wstest.ReadFrameWithin(nc, br, 10*time.Second)
		require.NoError(t, err)
		require.True(t, bytes.Equal(sent[i], f.Payload), "echo %d", i)
	}
	// The counter drops just after the write that carried the last bytes.
	wstest.WaitFor(t, 5*time.Second, "queue empty", func() bool { return s.Stats().QueuedBytes == 0 })
	st := s.Stats()
	require.Greater(t, st.PeakQueuedBytes, int64(0), "the reactor queued what the socket did not take")
	t.Logf("peak queued %d B of %d B echoed", st.PeakQueuedBytes, n*size)
}

// TestServerShutdownContextExpires: peers that never answer the close
// frame and never close; CloseTimeout is long, so Shutdown's context ends
// first: the connections are closed at once and Shutdown returns its error
// with nothing left running.
func TestServerShutdownContextExpires(t *testing.T) {
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr, served := serveLoopback(t, d, wsconn.EchoHandler{}, Options{CloseTimeout: time.Hour})
			for range 20 {
				wstest.Dial(t, addr)
			}
			// One more that never finishes its handshake.
			raw, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer raw.Close()
			_, err = io.WriteString(raw, "GET / HTTP/1.1\r\n")
			require.NoError(t, err)
			wstest.WaitFor(t, 5*time.Second, "all accepted", func() bool { return s.Stats().Open == 20 && s.Stats().Accepted == 21 })
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			require.ErrorIs(t, s.Shutdown(ctx), context.DeadlineExceeded)
			require.ErrorIs(t, <-served, ErrServerClosed)
			st := s.Stats()
			require.Zero(t, st.Open)
			require.Zero(t, st.Goroutines)
		})
	}
}

// TestSrvConnSizeClass keeps the per-connection struct, all an idle reactor
// connection holds on the heap besides its table slot, within the 128-byte
// size class.
func TestSrvConnSizeClass(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(srvConn{}), uintptr(128))
}

// stallPeer connects and sends the start of a unit the server cannot finish
// (kind picks where it stops), then sends nothing more.
func stallPeer(t *testing.T, addr string, kind int) net.Conn {
	t.Helper()
	nc, _ := wstest.Dial(t, addr)
	var b []byte
	switch kind % 3 {
	case 0: // half a frame
		f, err := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewBinaryFrame(make([]byte, 10000))))
		require.NoError(t, err)
		b = f[:5000]
	case 1: // one byte of a header
		b = []byte{0x82}
	default: // a whole first fragment of a message that never ends
		f, err := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewFrame(ws.OpText, false, []byte("first"))))
		require.NoError(t, err)
		b = f
	}
	_, err := nc.Write(b)
	require.NoError(t, err)
	return nc
}

// TestServerStalledPeers: more peers than reactor workers each send the
// start of a frame or message and stop. No worker waits for them, so a
// healthy client is served while they are all still open; the sweep then
// closes them at ReadTimeout.
func TestServerStalledPeers(t *testing.T) {
	const stalled, echoes = 6, 20
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			t.Run("healthy-served", func(t *testing.T) {
				s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{Workers: 2, ReadTimeout: 30 * time.Second})
				for i := range stalled {
					stallPeer(t, addr, i)
				}
				wstest.WaitFor(t, 10*time.Second, "stalled peers upgraded", func() bool { return s.Stats().Upgraded == stalled })
				nc, br := wstest.Dial(t, addr)
				for i := range echoes {
					msg := []byte(fmt.Sprintf("echo %d", i))
					require.NoError(t, wsutil.WriteClientMessage(nc, ws.OpText, msg))
					f, err := wstest.ReadFrameWithin(nc, br, 20*time.Second)
					require.NoError(t, err, "echo %d while %d peers stall", i, stalled)
					require.Equal(t, msg, f.Payload)
				}
				st := s.Stats()
				require.EqualValues(t, stalled+1, st.Open, "every stalled peer still open: served before their ReadTimeout")
				require.EqualValues(t, echoes, st.MessagesIn)
			})
			t.Run("stalled-closed-at-read-timeout", func(t *testing.T) {
				s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{Workers: 2, ReadTimeout: 200 * time.Millisecond})
				var peers []net.Conn
				for i := range stalled {
					peers = append(peers, stallPeer(t, addr, i))
				}
				wstest.WaitFor(t, 10*time.Second, "stalled peers closed", func() bool {
					st := s.Stats()
					return st.Upgraded == stalled && st.Open == 0
				})
				for i, nc := range peers {
					_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
					_, err := io.Copy(io.Discard, nc)
					if err != nil {
						require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "peer %d still open", i)
					}
				}
				require.Zero(t, s.Stats().MessagesIn)
				s.mu.Lock()
				left := s.appendConns(nil)
				s.mu.Unlock()
				require.Empty(t, left, "connections still held")
			})
		})
	}
}

// TestReactorInputBound: a peer that holds a message open and sends pings
// between its fragments without end cannot make the reactor buffer
// without bound: past twice MaxMessage plus inSlack it is failed with 1009.
func TestReactorInputBound(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reactor needs epoll")
	}
	s, addr := startServer(t, DesignReactor, wsconn.EchoHandler{}, Options{Limits: wsconn.Limits{MaxMessage: 1 << 10}})
	nc, br := wstest.Dial(t, addr)
	first, err := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewFrame(ws.OpBinary, false, []byte("open"))))
	require.NoError(t, err)
	ping, err := ws.CompileFrame(ws.MaskFrameInPlace(ws.NewPingFrame(bytes.Repeat([]byte{'p'}, 125))))
	require.NoError(t, err)
	var b []byte
	b = append(b, first...)
	for len(b) < 2*(2<<10+64<<10) { // twice the bound (inSlack is 64 KiB)
		b = append(b, ping...)
	}
	go func() { _, _ = nc.Write(b) }() // the server may close before taking it all
	f, err := wstest.ReadFrameWithin(nc, br, 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, ws.OpClose, f.Header.OpCode)
	code, _ := ws.ParseCloseFrameData(f.Payload)
	require.Equal(t, ws.StatusMessageTooBig, code)
	wstest.WaitFor(t, 5*time.Second, "connection closed", func() bool { return s.Stats().Open == 0 })
}
