package load

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// goroutineChild runs the goroutine design's echo server in a child process.
var goroutineChild = designChildren[server.DesignGoroutine]

// rawEcho serves WebSocket connections (wstest.Upgrade) with fn called for
// each message, for servers that misbehave on purpose.
func rawEcho(t *testing.T, fn func(n int, p []byte) (reply []byte, closeConn bool)) string {
	rs := wstest.Upgrade(t, func(_ int, nc net.Conn, br *bufio.Reader) {
		hdr, buf := make([]byte, ws.MaxHeaderSize), make([]byte, 1<<16)
		for n := 0; ; n++ {
			h, p, err := wsconn.ReadFrame(br, hdr, buf, false)
			if err != nil || h.OpCode == ws.OpClose {
				return
			}
			if h.OpCode == ws.OpPing {
				_ = ws.WriteFrame(nc, ws.NewPongFrame(p))
				continue
			}
			reply, closeConn := fn(n, p)
			if closeConn {
				return
			}
			if reply != nil {
				_ = ws.WriteFrame(nc, ws.NewBinaryFrame(reply))
			}
		}
	})
	return rs.Addr
}

func TestLoadValidate(t *testing.T) {
	ok := Config{Addr: "127.0.0.1:1", Conns: 1}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"addr", func(l *Config) { l.Addr = "" }, "Config.Addr is empty"},
		{"conns", func(l *Config) { l.Conns = 0 }, "Config.Conns 0 must be > 0"},
		{"rate", func(l *Config) { l.Rate = -1 }, "Config.Rate -1"},
		{"msgsize", func(l *Config) { l.MsgSize = 8 }, "Config.MsgSize 8 must be >= 24"},
		{"messages", func(l *Config) { l.Messages = -1 }, "Config.Messages -1"},
		{"msgrate", func(l *Config) { l.MsgRate = -2 }, "Config.MsgRate -2"},
		{"heartbeat", func(l *Config) { l.Heartbeat = -1 }, "Config.Heartbeat"},
		{"perproc", func(l *Config) { l.ConnsPerProc = -1 }, "Config.ConnsPerProc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ok
			tc.mod(&l)
			_, err := Run(context.Background(), l)
			require.ErrorContains(t, err, "wsconn/load: "+tc.want)
			_, err = OpenChild(context.Background(), l)
			require.ErrorContains(t, err, "wsconn/load: "+tc.want)
		})
	}
}

func TestLoadDialFails(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = Open(context.Background(), Config{Addr: addr, Conns: 3, Timeout: 2 * time.Second})
	require.ErrorContains(t, err, "dial=")
}

// TestLoadEcho is the invariant the benchmarks rely on: at 1000 connections
// (fewer where the open-files limit cannot hold both ends of so many:
// wstest.FitConns) every message comes back intact, from each server, and
// when the load and the server are gone, so are their goroutines and
// descriptors.
func TestLoadEcho(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	want := 1000
	if testing.Short() {
		want = 200
	}
	conns := wstest.FitConns(t, want)
	for _, tc := range []struct {
		name  string
		serve ServeFunc
	}{
		{"goroutine", serveDesign(server.DesignGoroutine)},
		{"reactor", serveDesign(server.DesignReactor)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The baseline is taken after Listen: the first network use of
			// a process opens the runtime's poller (two descriptors that
			// stay), which would read as a leak when this test runs first.
			// The listener itself is closed by stop.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			g0, fd0 := runtime.NumGoroutine(), procmem.OpenFDs()
			stop, err := tc.serve(ln, nil)
			if err != nil {
				ln.Close()
			}
			require.NoError(t, err)
			// A failed assertion below must not leave the server running
			// into the next test (Shutdown twice is safe).
			t.Cleanup(func() { _ = stop(context.Background()) })

			res, err := Run(context.Background(), Config{Addr: ln.Addr().String(), Conns: conns, Messages: 5, MsgSize: 100})
			require.NoError(t, err)
			require.NoError(t, res.Err())
			assert.Equal(t, uint64(conns*5), res.Sent)
			assert.Equal(t, res.Sent, res.Received)
			assert.Zero(t, res.Lost)
			assert.Zero(t, res.Corrupted)
			assert.Equal(t, conns, res.Opened)
			assert.Zero(t, res.Conns, "all closed")
			assert.Equal(t, uint64(conns), res.Connect.Count())
			assert.Equal(t, res.Received, res.Echo.Count())
			assert.Positive(t, res.Echo.Quantile(0.99))
			assert.Positive(t, res.MsgsPerSec())

			require.NoError(t, stop(context.Background()))
			waitBaseline(t, g0, fd0)
		})
	}
}

// waitBaseline waits up to 10s for this process's goroutines and open
// descriptors to come back to g0 and fd0.
func waitBaseline(t *testing.T, g0, fd0 int) {
	t.Helper()
	wstest.WaitFor(t, 10*time.Second, fmt.Sprintf("goroutines back to %d and descriptors to %d", g0, fd0), func() bool {
		return runtime.NumGoroutine() <= g0 && procmem.OpenFDs() <= fd0
	})
}

func TestLoadCountsCorruption(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	addr := rawEcho(t, func(n int, p []byte) ([]byte, bool) {
		if n == 2 {
			p[len(p)-1] ^= 1
		}
		return p, false
	})
	res, err := Run(context.Background(), Config{Addr: addr, Conns: 2, Messages: 4})
	require.NoError(t, err)
	assert.Equal(t, uint64(2), res.Corrupted, "one flipped bit per connection")
	assert.Equal(t, uint64(6), res.Received)
	assert.Error(t, res.Err())
}

func TestLoadCountsLoss(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	addr := rawEcho(t, func(n int, p []byte) ([]byte, bool) {
		if n == 1 {
			return nil, false // swallowed: the client times out
		}
		return p, false
	})
	// Config.Timeout bounds the dial and every echo, and the swallowed
	// message costs it, so it is shortened only for that one: the dial and
	// the first echo may take as long as the test may run (10s, the
	// default, where the test has no deadline).
	var wait time.Duration
	if d, ok := t.Deadline(); ok {
		wait = time.Until(d)
	}
	s, err := Open(t.Context(), Config{Addr: addr, Conns: 1, Timeout: wait})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Flood(t.Context(), 1))
	require.Equal(t, uint64(1), s.Result().Received, "the first echo")
	s.cfg.Timeout = 100 * time.Millisecond
	require.NoError(t, s.Flood(t.Context(), 2))
	res := s.Close()
	assert.Equal(t, uint64(2), res.Sent, "the third message is never sent")
	assert.Equal(t, uint64(1), res.Lost)
	assert.Equal(t, uint64(1), res.Received, "no reconnect: the connection's run ends at the loss")
	assert.Equal(t, uint64(1), res.Errors[ErrKindTimeout])
	assert.ErrorContains(t, res.Err(), "1 lost")
}

func TestLoadReconnects(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	addr := rawEcho(t, func(n int, p []byte) ([]byte, bool) {
		return p, n == 2 // every connection dies at its third message
	})
	res, err := Run(context.Background(), Config{Addr: addr, Conns: 2, Messages: 5, Reconnect: true})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Reconnects)
	assert.Equal(t, 4, res.Opened)
	assert.Equal(t, uint64(10), res.Sent)
	assert.Equal(t, uint64(8), res.Received)
	assert.Equal(t, uint64(2), res.Lost, "the message in flight when each connection died")
	assert.Equal(t, uint64(2), res.Errors[ErrKindReset])
}

func TestLoadHeartbeat(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	addr := rawEcho(t, func(n int, p []byte) ([]byte, bool) { return p, false })
	s, err := Open(context.Background(), Config{Addr: addr, Conns: 3, Heartbeat: 10 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() }) // on failure too; a second Close does nothing more
	require.Eventually(t, func() bool { return s.Result().Pongs >= 6 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, s.Flood(context.Background(), 3))
	res := s.Close()
	assert.GreaterOrEqual(t, res.Pings, res.Pongs)
	assert.Equal(t, uint64(9), res.Received)
	assert.NoError(t, res.Err())
}

func TestLoadChild(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	srv, err := goroutineChild.Start(context.Background())
	require.NoError(t, err)
	defer srv.Close()
	base, err := srv.GC()
	require.NoError(t, err)
	assert.Positive(t, base.RSS)

	lc, err := OpenChild(context.Background(), Config{Addr: srv.Addr(), Conns: 30, ConnsPerProc: 16, MsgSize: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = lc.Close() })
	assert.Len(t, lc.Pids(), 2, "30 connections at 16 per process")
	st, err := srv.Stats()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, st.FDs, base.FDs+30, "the server holds the connections")

	mc, err := srv.MemClasses()
	require.NoError(t, err)
	assert.Positive(t, mc["heap/objects:bytes"])
	assert.Positive(t, mc["total:bytes"])
	prof := filepath.Join(t.TempDir(), "heap.pprof")
	require.NoError(t, srv.WriteHeapProfile(prof))
	fi, err := os.Stat(prof)
	require.NoError(t, err)
	assert.Positive(t, fi.Size())

	res, err := lc.Flood(4)
	require.NoError(t, err)
	assert.Equal(t, uint64(120), res.Received)
	assert.Equal(t, 30, res.Conns)
	res, err = lc.Close()
	require.NoError(t, err)
	require.NoError(t, res.Err())
	assert.Equal(t, uint64(120), res.Echo.Count())
	assert.Zero(t, res.Conns)
	require.Eventually(t, func() bool {
		st, err := srv.Stats()
		return err == nil && st.FDs <= base.FDs
	}, 5*time.Second, 10*time.Millisecond, "server descriptors back to baseline")
	require.NoError(t, srv.Close())
}

func TestServerChildErrors(t *testing.T) {
	_, err := DesignChild("threads")
	require.ErrorContains(t, err, `wsconn/load: unknown design "threads"`)
	_, err = ServerChild{}.Start(context.Background())
	require.ErrorContains(t, err, "wsconn/load: ServerChild is zero")
	srv, err := goroutineChild.Start(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	err = srv.ctl.Call("bogus", nil)
	require.ErrorContains(t, err, `unknown command "bogus"`)
	require.NoError(t, srv.Close())
	require.Error(t, srv.ctl.Call("stats", nil), "a closed server answers nothing")
}

func TestLatencyHist(t *testing.T) {
	var h LatencyHist
	assert.Zero(t, h.Quantile(0.5))
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]time.Duration, 100000)
	for i := range vals {
		// Log-uniform from 1 ns to about 1 s.
		vals[i] = time.Duration(math.Exp(r.Float64() * 20.7))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		assert.InEpsilon(t, float64(exact)+1, float64(got)+1, 1.0/32+0.01, "q=%v exact %v got %v", q, exact, got)
	}
	assert.Equal(t, vals[len(vals)-1], h.Max())
	assert.Equal(t, uint64(len(vals)), h.Count())

	b, err := json.Marshal(&h)
	require.NoError(t, err)
	var h2 LatencyHist
	require.NoError(t, json.Unmarshal(b, &h2))
	assert.Equal(t, h.Quantile(0.99), h2.Quantile(0.99))
	h2.Add(&h)
	assert.Equal(t, 2*h.Count(), h2.Count())
	assert.Equal(t, h.Quantile(0.5), h2.Quantile(0.5), "merging a copy keeps the quantiles")
	assert.Equal(t, h.Mean(), h2.Mean())
	require.ErrorContains(t, json.Unmarshal([]byte(`{"buckets":[[99999,1]]}`), &h2), "out of range")
}

func TestLatencyHistBuckets(t *testing.T) {
	// Every value falls in a bucket whose reported value is within 1/32.
	for v := uint64(0); v < 1<<20; v = v*9/8 + 1 {
		i := histIndex(v)
		require.Less(t, i, histBuckets)
		mid := histValue(i)
		assert.InDelta(t, float64(v), float64(mid), float64(v)/32+1, "v=%d", v)
	}
	assert.Less(t, histIndex(math.MaxUint64), histBuckets)
}

// A load against a server in this process: 100 connections, 10 messages
// each, every echo checked.
func ExampleRun() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv, err := server.New(server.DesignReactor, wsconn.EchoHandler{}, server.Options{})
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	res, err := Run(context.Background(), Config{Addr: ln.Addr().String(), Conns: 100, Messages: 10, MsgSize: 256})
	if err != nil {
		panic(err)
	}
	fmt.Println("sent", res.Sent, "received", res.Received, "lost", res.Lost, "corrupted", res.Corrupted)
	fmt.Println("p99 measured:", res.Echo.Quantile(0.99) > 0, "errors:", res.Err())
	// Output:
	// sent 1000 received 1000 lost 0 corrupted 0
	// p99 measured: true errors: <nil>
}

// TestServerChildGOMAXPROCS: a server child runs with the GOMAXPROCS of
// the process that starts it (go test -cpu sets it there, not in the
// environment), so a benchmark measures its server at the -cpu it names.
func TestServerChildGOMAXPROCS(t *testing.T) {
	srv, err := DesignChild(server.DesignReactor)
	require.NoError(t, err)
	want := runtime.GOMAXPROCS(0) + 3
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(want))
	p, err := srv.Start(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	st, err := p.Stats()
	require.NoError(t, err)
	require.Equal(t, want, st.GOMAXPROCS)
}

// A lifecycle trace of the reactor server with 500 connections, server and
// clients in child processes; the figures depend on the machine.
func ExampleLifecycle() {
	srv, err := DesignChild(server.DesignReactor)
	if err != nil {
		panic(err)
	}
	r, err := Lifecycle(context.Background(), LifecycleConfig{Config: Config{Conns: 500}, Server: srv, Idle: 200 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	for _, p := range r.Phases {
		fmt.Printf("%-9s RSS %+8d B  heap %+8d B  stacks %+7d B\n", p.Phase, p.DRSS, p.DHeapInUse, p.DStacks)
	}
	fmt.Printf("%.0f B/conn established, %.0f%% returned after close and GC\n", r.EstablishPerConn(), r.CloseReturned())
	_ = r.WriteCSV(os.Stdout) // phase, elapsed_s, rss_bytes, ...
}

// TestLoadServerBadFrames: a server that sends a frame no server may send
// (here a ping longer than a control frame may be) is a protocol error of
// that connection, counted, not a crash of the load.
func TestLoadServerBadFrames(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	for _, tc := range []struct {
		name string
		h    ws.Header
	}{
		{"long ping", ws.Header{Fin: true, OpCode: ws.OpPing, Length: 200}},
		{"masked", ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Length: 64}},
		{"rsv", ws.Header{Fin: true, OpCode: ws.OpBinary, Rsv: 4, Length: 64}},
		{"reserved opcode", ws.Header{Fin: true, OpCode: 5, Length: 64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := wstest.Upgrade(t, func(_ int, nc net.Conn, br *bufio.Reader) {
				if _, err := ws.ReadHeader(br); err != nil {
					return
				}
				if ws.WriteHeader(nc, tc.h) != nil {
					return
				}
				_, _ = nc.Write(make([]byte, tc.h.Length))
				wstest.HoldOpen(0, nc, br)
			})
			res, err := Run(context.Background(), Config{Addr: rs.URL(), Conns: 1, Messages: 1})
			require.NoError(t, err)
			assert.Equal(t, map[string]uint64{ErrKindProtocol: 1}, res.Errors)
			assert.Equal(t, uint64(1), res.Lost)
		})
	}
}

// TestLoadOpenAbortNotCounted: when one connection fails to open, Open
// abandons the dials still in flight; they are not failures of their own
// and are not counted as timeouts.
func TestLoadOpenAbortNotCounted(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	var (
		mu    sync.Mutex
		first = true
	)
	l := wstest.Accept(t, func(_ int, c net.Conn) {
		mu.Lock()
		fail := first
		first = false
		mu.Unlock()
		if fail {
			c.Close() // the first handshake fails at once
			return
		}
		_, _ = io.Copy(io.Discard, c) // the others never get an answer
	})
	_, err := Open(context.Background(), Config{Addr: l.Addr, Conns: 5, Timeout: time.Minute})
	require.ErrorContains(t, err, "0 refused (503, server at its limit), 1 failed (handshake=1)")
	require.NotContains(t, err.Error(), "timeout=")
}

// TestLoadRefused: a server at MaxConns answers 503; the load counts that
// as refused, apart from failures, so an overload run reads as such.
func TestLoadRefused(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s, err := server.New(server.DesignReactor, wsconn.EchoHandler{}, server.Options{MaxConns: 2})
	require.NoError(t, err)
	addr := wstest.Start(t, s, server.ErrServerClosed)
	// One dialer: the first two connections are served, the third refused.
	_, err = Open(context.Background(), Config{Addr: addr, Conns: 3, Dialers: 1})
	require.ErrorContains(t, err, "1 refused (503, server at its limit), 0 failed; ")
	require.EqualValues(t, 1, s.Stats().RefusedMaxConns)

	r := Result{Errors: map[string]uint64{ErrKindRefused: 50, ErrKindReset: 2, ErrKindTimeout: 1}, Sent: 7}
	require.EqualValues(t, 50, r.Refused())
	require.EqualValues(t, 3, r.Failed())
	require.EqualError(t, r.Err(), "wsconn/load: 50 refused (503, server at its limit), 3 failed (reset=2 timeout=1); 0 lost, 0 corrupted of 7 sent")
	require.Contains(t, r.String(), "refused=50")
}
