package wsconn_test

import (
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	coderws "github.com/coder/websocket"
	gorillaws "github.com/gorilla/websocket"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/internal/conformance"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var (
	conformanceAll    = flag.Bool("conformance.all", false, "print every case of the conformance table, not only those some server does not pass")
	conformanceServer = flag.String("conformance.server", "", "run the conformance suite against this server only (rtlab, gorilla, coder)")
)

// echoServer is a loopback echo server for the conformance suite.
type echoServer struct {
	addr string
	stop func()
}

// startFramePathServer is the smallest server on the frame path: an accept
// loop, Handshake, ServeConn with EchoHandler, CloseGracefully.
func startFramePathServer(t *testing.T) echoServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
				}()
				if _, err := wsconn.Handshake(c, 5*time.Second, 0); err != nil {
					c.Close()
					return
				}
				err := wsconn.ServeConn(c, wsconn.EchoHandler{}, wsconn.Limits{})
				var ce *wsconn.CloseError
				if errors.As(err, &ce) {
					_ = wsconn.CloseGracefully(c, time.Second)
					return
				}
				c.Close()
			}()
		}
	}()
	return echoServer{addr: ln.Addr().String(), stop: func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}}
}

// startHTTPEchoServer serves handler over net/http on loopback and waits for
// hijacked connections' handlers at stop.
func startHTTPEchoServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) echoServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		handler(w, r)
	})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return echoServer{addr: ln.Addr().String(), stop: func() {
		_ = srv.Close()
		<-done
		wg.Wait()
	}}
}

// gorillaEcho is the echo loop of gorilla's own examples: ReadMessage,
// WriteMessage, with a 32 MiB read limit.
func gorillaEcho(w http.ResponseWriter, r *http.Request) {
	u := gorillaws.Upgrader{}
	c, err := u.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetReadLimit(32 << 20)
	for {
		mt, p, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(mt, p); err != nil {
			return
		}
	}
}

// coderEcho is coder/websocket's Read/Write echo loop, with a 32 MiB read
// limit and compression off (the suite negotiates no extension).
func coderEcho(w http.ResponseWriter, r *http.Request) {
	c, err := coderws.Accept(w, r, &coderws.AcceptOptions{CompressionMode: coderws.CompressionDisabled})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(32 << 20)
	ctx := context.Background()
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, p); err != nil {
			return
		}
	}
}

// TestConformance runs the Autobahn-style suite against the frame path
// server and, as reference points, gorilla/websocket and coder/websocket
// echo servers, and logs the case table (go test -v -run TestConformance
// ./wsconn/; -conformance.all for every row). The frame path must pass
// every case; the peers' verdicts are findings, not test failures.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite takes about a minute; -short skips it")
	}
	t.Cleanup(func() { goleak.VerifyNone(t) })
	servers := []struct {
		name  string
		start func(t *testing.T) echoServer
	}{
		{"rtlab", startFramePathServer},
		{"gorilla", func(t *testing.T) echoServer { return startHTTPEchoServer(t, gorillaEcho) }},
		{"coder", func(t *testing.T) echoServer { return startHTTPEchoServer(t, coderEcho) }},
	}
	var (
		names   []string
		results [][]conformance.Result
	)
	for _, s := range servers {
		if *conformanceServer != "" && s.name != *conformanceServer {
			continue
		}
		srv := s.start(t)
		start := time.Now()
		rs := conformance.Run(srv.addr, conformance.Options{})
		srv.stop()
		t.Logf("%s: suite ran in %v", s.name, time.Since(start).Round(time.Millisecond))
		names = append(names, s.name)
		results = append(results, rs)
	}
	require.NotEmpty(t, names, "-conformance.server %q names no server; want rtlab, gorilla or coder", *conformanceServer)
	var b strings.Builder
	require.NoError(t, conformance.WriteTable(&b, names, results, *conformanceAll))
	t.Log("\n" + b.String())
	for _, r := range results[0] {
		if names[0] == "rtlab" && r.Verdict != conformance.Pass {
			t.Errorf("rtlab %s (%s): %s: %s", r.Case, r.Desc, r.Verdict, r.Detail)
		}
	}
}
