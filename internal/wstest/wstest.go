// Package wstest holds the test helpers of wsconn and its subpackages and
// of the root WebSocket benchmarks: loopback servers that stop when the
// test ends, raw WebSocket peers that misbehave on purpose, frame encoders
// and decoders, and the gorilla/websocket and coder/websocket echo servers
// the peers' measurements and the conformance run use.
//
// It imports nothing of wsconn, so that wsconn's own tests can use it, and
// it is internal to rtlab: only tests import it (gorilla and coder are
// test-only dependencies).
package wstest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// Listener is a loopback accept loop that hands every connection to a
// function on a goroutine of its own. Close stops it; the test's cleanup
// calls Close too, so nothing it started outlives the test.
type Listener struct {
	// Addr is the "127.0.0.1:port" it listens on.
	Addr string

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
	once  sync.Once
	stop  func()
}

// Accept listens on a loopback port and calls serve(i, nc) for the i-th
// connection accepted (from 0), each on its own goroutine.
func Accept(t testing.TB, serve func(i int, nc net.Conn)) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Listener{Addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]bool{}}
	l.stop = func() {
		ln.Close()
		l.mu.Lock()
		for nc := range l.conns {
			nc.Close()
		}
		l.mu.Unlock()
		l.wg.Wait()
	}
	l.wg.Go(func() {
		for i := 0; ; i++ {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.conns[nc] = true
			l.mu.Unlock()
			l.wg.Go(func() {
				defer func() {
					l.mu.Lock()
					delete(l.conns, nc)
					l.mu.Unlock()
				}()
				serve(i, nc)
			})
		}
	})
	t.Cleanup(l.Close)
	return l
}

// URL is the ws:// URL of the listener.
func (l *Listener) URL() string { return "ws://" + l.Addr + "/" }

// Close closes the listener and every connection still open, and waits
// for every serve call to return. Calling it again does nothing.
func (l *Listener) Close() { l.once.Do(l.stop) }

// wait closes the listener and waits for the serve calls to return by
// themselves, their connections left open.
func (l *Listener) wait() {
	l.once.Do(func() {
		l.ln.Close()
		l.wg.Wait()
	})
}

// Upgrade is Accept for raw WebSocket servers: each connection is upgraded
// with gobwas (ws.Upgrade) and handed to serve with a reader over it, then
// closed when serve returns. Tests use it to play servers that misbehave
// in ways the real ones do not.
func Upgrade(t testing.TB, serve func(i int, nc net.Conn, br *bufio.Reader)) *Listener {
	return Accept(t, func(i int, nc net.Conn) {
		defer nc.Close()
		if _, err := ws.Upgrade(nc); err != nil {
			return
		}
		serve(i, nc, bufio.NewReader(nc))
	})
}

// HoldOpen reads client frames and discards them until the connection
// ends: a raw server (Upgrade) that never answers anything, pings included.
func HoldOpen(_ int, _ net.Conn, br *bufio.Reader) {
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, br, h.Length); err != nil {
			return
		}
	}
}

// TCPPeer dials a loopback TCP connection whose other end is handed to
// serve; done closes the connection and waits for serve to return (calling
// it again does nothing more). serve sees everything written before done.
func TCPPeer(t testing.TB, serve func(net.Conn)) (c net.Conn, done func()) {
	t.Helper()
	l := Accept(t, func(_ int, nc net.Conn) {
		defer nc.Close()
		serve(nc)
	})
	c, err := net.Dial("tcp", l.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	done = func() {
		once.Do(func() {
			c.Close()
			l.wait()
		})
	}
	t.Cleanup(done)
	return c, done
}

// HTTP serves h over net/http on a loopback port. Close shuts the server
// down and waits for the handlers of hijacked connections too.
func HTTP(t testing.TB, h http.HandlerFunc) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Listener{Addr: ln.Addr().String(), ln: ln}
	var handlers sync.WaitGroup
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		h(w, r)
	})}
	l.wg.Go(func() { _ = srv.Serve(ln) })
	l.stop = func() {
		_ = srv.Close()
		l.wg.Wait()
		handlers.Wait()
	}
	t.Cleanup(l.Close)
	return l
}

// Server is what Start runs: wsconn/server's Server.
type Server interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// Go runs s.Serve on a loopback port; served receives what Serve returns.
// The test shuts s down itself; if it does not (it failed first), its
// cleanup does, within 10 s.
func Go(t testing.TB, s Server) (addr string, served <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() { ch <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return ln.Addr().String(), ch
}

// Start runs s.Serve on a loopback port and, when the test ends, shuts it
// down within 10 s and checks that Shutdown succeeded and Serve returned
// closed (the server's ErrServerClosed).
func Start(t testing.TB, s Server, closed error) string {
	t.Helper()
	addr, served := Go(t, s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, closed) {
			t.Errorf("Serve returned %v, want %v", err, closed)
		}
	})
	return addr
}

// SilentServer is a WebSocket server that upgrades every connection, then
// reads it to its end and answers nothing, pings and close frames
// included: the peer a liveness check or a conformance case must catch.
// stop closes the listener and every connection and waits for its
// goroutines.
func SilentServer() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := ws.Upgrade(c); err == nil {
					_, _ = io.Copy(io.Discard, c)
				}
			}()
		}
	}()
	return ln.Addr().String(), func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}, nil
}
