package rtlab

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	nbtls "github.com/lesismal/llib/std/crypto/tls"
	nblog "github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn/load"
	"github.com/rtlab/rtlab/wsconn/server"
)

// The servers of the memory-per-connection benchmarks, each run in a child
// process of this test binary while its clients run in another, so that the
// server's RSS, read from outside through /proc, holds nothing of theirs:
// rtlab's designs, then the peers a reader would pick instead,
// gorilla/websocket (a goroutine per connection), lesismal/nbio (an epoll
// reactor) and Node's ws library (node/wsserver.js, run by the node on
// PATH as an external command; skipped, saying why, without node).
var wsLoadServers = func() []wsLoadServer {
	var s []wsLoadServer
	for _, d := range server.Designs() {
		c, err := load.DesignChild(d)
		if err != nil {
			panic(err)
		}
		s = append(s, wsLoadServer{name: d.String(), child: c})
	}
	nodews, err := load.CommandServerChild("nodews", "node", "node", "--expose-gc", "wsserver.js")
	if err != nil {
		panic(err)
	}
	return append(s,
		wsLoadServer{name: "gorilla", child: load.RegisterServerChild("gorilla", serveGorillaEcho)},
		wsLoadServer{name: "nbio", child: load.RegisterServerChild("nbio", serveNbioEcho),
			tlsSkip: "nbio v1.6.8's TLS (llib) fails here under load: a handshake answered with a TLS internal_error alert, or a connection reset, in 2 of 3 runs of 9000 idle connections, and an echo lost in about 1 of 3 floods of 1000; no other server did. -wsload.flakytls runs these rows"},
		wsLoadServer{name: "nodews", child: nodews, needs: func(tb testing.TB) { nodeBin(tb) }},
	)
}()

type wsLoadServer struct {
	name  string
	child load.ServerChild
	// needs, if set, skips tb saying why when the server cannot run here
	// (nodews without node), and prepares what it needs (npm ci).
	needs func(testing.TB)
	// tlsSkip, if set, is why the server's tls=on rows are skipped unless
	// -wsload.flakytls: its TLS loses connections or echoes here, which
	// fails a row.
	tlsSkip string
}

var wsFlakyTLS = flag.Bool("wsload.flakytls", false, "run the tls=on rows of servers whose TLS fails here under load (nbio), which are skipped otherwise")

// skipFlakyTLS skips b, saying why, when srv serves TLS that fails here
// under load (tlsSkip), unless -wsload.flakytls.
func (s wsLoadServer) skipFlakyTLS(b *testing.B, srv load.ServerChild) {
	if srv.ServesTLS() && s.tlsSkip != "" && !*wsFlakyTLS {
		b.Skip(s.tlsSkip)
	}
}

// run is b.Run("server="+name, f) that skips when the server cannot run.
func (s wsLoadServer) run(b *testing.B, f func(b *testing.B)) {
	b.Run("server="+s.name, func(b *testing.B) {
		if s.needs != nil {
			s.needs(b)
		}
		f(b)
	})
}

// runTLS runs f as the last level of a row, tls=off then tls=on, with the
// server child serving ws:// or wss:// (ServerChild.WithTLS: TLS 1.3, an
// ECDSA P-256 certificate made at run time, that the clients verify).
func (s wsLoadServer) runTLS(b *testing.B, f func(b *testing.B, srv load.ServerChild)) {
	for _, on := range []bool{false, true} {
		b.Run("tls="+onOff(on), func(b *testing.B) {
			srv := s.child
			if on {
				srv = srv.WithTLS()
			}
			s.skipFlakyTLS(b, srv)
			f(b, srv)
		})
	}
}

var wsLifecycleProf = flag.String("wsload.cpuprofile", "", "`dir`ectory to write the Go servers' CPU profiles of BenchmarkWSLifecycle's establish phase to, one per row")

var wsLifecycleCSV = flag.String("wsload.csv", "", "`dir`ectory to write BenchmarkWSLifecycle's memory traces to, one CSV per row")

// serveGorillaEcho is the peer: wstest.GorillaEcho, the gorilla/websocket
// echo server the conformance run also uses, over net/http; for wss://,
// net/http's own TLS (ServeTLS with the certificate in TLSConfig), as
// gorilla's examples serve it.
func serveGorillaEcho(ln net.Listener, tc *tls.Config) (func(context.Context) error, error) {
	srv := &http.Server{Handler: http.HandlerFunc(wstest.GorillaEcho), TLSConfig: tc}
	go func() {
		if tc != nil {
			_ = srv.ServeTLS(ln, "", "")
			return
		}
		_ = srv.Serve(ln)
	}()
	return srv.Shutdown, nil
}

// serveNbioEcho is the peer lesismal/nbio: its nbhttp engine (epoll, a
// small pool of poller goroutines, no goroutine per connection) with its
// websocket Upgrader, echoing from OnMessage as nbio's examples do. Every
// option is nbio's default except:
//   - Listen hands the engine this child's listener (Addrs is its address),
//     where nbio would open its own;
//   - Upgrader.KeepaliveTime is 0: nbio's default, 120 s, closes a
//     connection that sends nothing for that long, and the idle
//     connections of these benchmarks may wait longer while 18000 open on
//     2 cores (rtlab's servers and Node ws have no such timeout);
//   - logging.Output is stderr: nbio logs to stdout, which is the child's
//     control channel.
//
// For wss://, nbio's own TLS (lesismal/llib's crypto/tls, which its
// engine runs on its pollers), configured as nbio's examples do: the
// address in AddrsTLS instead of Addrs and a TLSConfig with the
// certificate, here TLS 1.3 only like every server of these benchmarks.
func serveNbioEcho(ln net.Listener, tc *tls.Config) (func(context.Context) error, error) {
	nblog.Output = os.Stderr
	u := nbws.NewUpgrader()
	u.KeepaliveTime = 0
	u.OnMessage(func(c *nbws.Conn, mt nbws.MessageType, data []byte) { _ = c.WriteMessage(mt, data) })
	conf := nbhttp.Config{
		Network: "tcp",
		Listen:  func(string, string) (net.Listener, error) { return ln, nil },
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = u.Upgrade(w, r, nil) // a failed upgrade has been answered with an HTTP error
		}),
	}
	if tc != nil {
		conf.AddrsTLS = []string{ln.Addr().String()}
		conf.TLSConfig = &nbtls.Config{MinVersion: nbtls.VersionTLS13}
		for _, c := range tc.Certificates {
			conf.TLSConfig.Certificates = append(conf.TLSConfig.Certificates, nbtls.Certificate{Certificate: c.Certificate, PrivateKey: c.PrivateKey, Leaf: c.Leaf})
		}
	} else {
		conf.Addrs = []string{ln.Addr().String()}
	}
	engine := nbhttp.NewEngine(conf)
	if err := engine.Start(); err != nil {
		return nil, err
	}
	return engine.Shutdown, nil
}

// wsConns is want connections, or as many as the open-files limit lets
// one server process hold where that is fewer (procmem.FitFDs, at per
// descriptors a connection: see wsFit), saying so in b's log; the row's
// name says how many. Where none fit it is want, which wsFit then skips.
func wsConns(b *testing.B, want, per int) int {
	n, why := procmem.FitFDs(want, per, 0, "connections in one server process")
	if n == 0 {
		return want
	}
	if why != "" {
		b.Log(why)
	}
	return n
}

// wsFit skips b, saying why, when this process's open-files limit (which
// the server processes get too) cannot hold conns connections in one
// server process, at per descriptors each: 1, or 2 where the server may
// still hold a dropped connection when its client's next one arrives.
func wsFit(b *testing.B, conns, per int) {
	if n, why := procmem.FitFDs(conns, per, 0, "connections in one server process"); n < conns {
		b.Skip(why)
	}
}

// wsLoad is the load of the server benchmarks: conns connections to addr,
// spread over child processes of as many as the open-files limit lets each
// hold (at most 9000: load.Config.ConnsPerProc), with a bound on a dial or
// an echo that grows with conns, since on 2 shared cores tens of thousands
// of connections take a while to open and answer.
func wsLoad(addr string, conns int) load.Config {
	return load.Config{Addr: addr, Conns: conns, Timeout: max(10*time.Second, time.Duration(conns)*2*time.Millisecond)}
}

// BenchmarkWSIdleConns measures what an idle connection costs a server:
// its RSS growth per connection (B/conn), read from outside the server
// process after one echo on every connection and a forced GC, with the
// clients in another process; heap-B/conn and goroutines/conn are the
// server runtime's own figures over the same interval, stack-B/conn the part
// of B/conn that is goroutine stacks (V8's figures for nodews: its heap
// and the memory its objects hold outside it; no goroutines, no stacks).
// 1000, 9000 and 18000 connections (1000 with -short); a count that the
// open-files limit cannot hold in one server process is skipped, saying
// so, except 1000, which becomes as many as it holds (wsConns). A lost or
// corrupted echo fails the benchmark: 0 of both is the bar.
// The last level, tls=off|on, is ws:// or wss:// (TLS 1.3, ECDSA P-256,
// a full handshake per connection); what TLS costs an idle connection is
// the difference, per server:
//
//	go test -run '^$' -bench 'BenchmarkWSIdleConns/server=(goroutine|reactor|gorilla|nbio|nodews)/conns=9000' -count 3 . | go tool benchstat -col /tls -
func BenchmarkWSIdleConns(b *testing.B) {
	conns := []int{wsConns(b, 1000, 1), 9000, 18000}
	if testing.Short() {
		conns = conns[:1]
	}
	for _, s := range wsLoadServers {
		s.run(b, func(b *testing.B) {
			for _, n := range conns {
				b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
					s.runTLS(b, func(b *testing.B, srv load.ServerChild) { benchIdleConns(b, srv, n) })
				})
			}
		})
	}
}

func benchIdleConns(b *testing.B, srv load.ServerChild, conns int) {
	wsFit(b, conns, 1)
	var sum load.IdleResult
	var runs int
	for b.Loop() {
		r, err := load.Idle(context.Background(), load.IdleConfig{Server: srv, Conns: conns, Load: wsLoad("", conns)})
		if err != nil {
			b.Fatal(err)
		}
		sum.RSS += r.RSS
		sum.Heap += r.Heap
		sum.Stacks += r.Stacks
		sum.Goroutines += r.Goroutines
		runs++
	}
	n := float64(runs)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(sum.RSS/n, "B/conn")
	b.ReportMetric(sum.Heap/n, "heap-B/conn")
	b.ReportMetric(sum.Stacks/n, "stack-B/conn")
	b.ReportMetric(sum.Goroutines/n, "goroutines/conn")
}

// BenchmarkWSEcho measures echo latency and throughput at 1000 connections
// (as many as the open-files limit lets a server process hold where that
// is fewer: wsConns), all sending at once, one message in flight each (a
// closed loop: latency from the actual send, see BenchmarkWSEchoRate for
// the honest figure), server and clients in separate processes, for every
// server. A lost or corrupted message fails the benchmark.
func BenchmarkWSEcho(b *testing.B) {
	perFlood := 20
	if testing.Short() {
		perFlood = 5
	}
	conns := wsConns(b, 1000, 1)
	for _, s := range wsLoadServers {
		s.run(b, func(b *testing.B) {
			b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
				for _, size := range []int{64, 4096} {
					b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
						benchEcho(b, s.child, conns, size, perFlood)
					})
				}
			})
		})
	}
}

// openLoad starts srv in a child process and opens conns connections to
// it from load children (over TLS if srv serves it), with size-byte
// messages (0: the default); both end when b does.
func openLoad(b *testing.B, srv load.ServerChild, conns, size int) *load.ChildSession {
	wsFit(b, conns, 1)
	ctx := context.Background()
	p, err := srv.Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	cfg := wsLoad(p.Addr(), conns)
	cfg.MsgSize = size
	cfg.TLS = p.ClientTLS()
	lc, err := load.OpenChild(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = lc.Close() })
	return lc
}

func benchEcho(b *testing.B, srv load.ServerChild, conns, size, perFlood int) {
	lc := openLoad(b, srv, conns, size)
	for b.Loop() {
		if _, err := lc.Flood(perFlood); err != nil {
			b.Fatal(err)
		}
	}
	res, err := lc.Close()
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(res.Echo.Quantile(0.50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(res.Echo.Quantile(0.99).Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(res.Echo.Quantile(0.999).Nanoseconds()), "p999-ns")
	b.ReportMetric(res.MsgsPerSec(), "msgs/s")
}

// BenchmarkWSEchoRate is the echo at a fixed rate (open loop): rate
// messages per second in all over 1000 connections (fewer where the
// open-files limit is lower: wsConns), each connection
// sending on its own schedule whether or not its earlier echoes are back,
// for 2 s per iteration (1000 connections at 2000/s for 0.5 s with
// -short). p50-ns, p99-ns and p999-ns are measured from each message's
// scheduled send time, so a server that stalls cannot hide the stall by
// slowing its clients down (coordinated omission); send-p99-ns is the p99
// from the actual send, for contrast; achieved-msgs/s is the echo rate the
// server sustained, below the target when it cannot keep up. A lost or
// corrupted message fails the benchmark. The last level, tls=off|on, is
// ws:// or wss:// (every message one TLS record each way).
func BenchmarkWSEchoRate(b *testing.B) {
	rate, d := 10000, 2*time.Second
	if testing.Short() {
		rate, d = 2000, 500*time.Millisecond
	}
	conns := wsConns(b, 1000, 1)
	for _, s := range wsLoadServers {
		s.run(b, func(b *testing.B) {
			b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
				b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
					s.runTLS(b, func(b *testing.B, srv load.ServerChild) {
						benchEchoRate(b, srv, conns, load.RateConfig{Rate: float64(rate), Duration: d})
					})
				})
			})
		})
	}
}

func benchEchoRate(b *testing.B, srv load.ServerChild, conns int, rc load.RateConfig) {
	lc := openLoad(b, srv, conns, 0)
	var sum load.RateResult
	for b.Loop() {
		r, err := lc.EchoRate(rc)
		if err == nil {
			err = r.Err()
		}
		if err != nil {
			b.Fatal(err)
		}
		if sum.Latency == nil {
			sum = r
			continue
		}
		sum.Latency.Add(r.Latency)
		sum.SendLatency.Add(r.SendLatency)
		sum.Received += r.Received
		sum.Elapsed += r.Elapsed
	}
	if _, err := lc.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(sum.Latency.Quantile(0.50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(sum.Latency.Quantile(0.99).Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(sum.Latency.Quantile(0.999).Nanoseconds()), "p999-ns")
	b.ReportMetric(float64(sum.SendLatency.Quantile(0.99).Nanoseconds()), "send-p99-ns")
	b.ReportMetric(sum.Achieved(), "achieved-msgs/s")
}

// BenchmarkWSLifecycle traces a server's memory through establish (9000
// connections, skipped where the open-files limit cannot hold them in one
// server process; 1000 with -short, or as many as it holds: wsConns) → flood
// (20 messages each) → idle → close → GC → FreeOSMemory: establish-B/conn is
// the RSS growth of establishing, flood-B/conn that of the flood alone,
// close-returned-% the share of the growth given back to the OS after close
// and a GC, free-returned-% after debug.FreeOSMemory; establish-cpu-us/conn
// is the server's CPU time per connection while establishing (accept, TLS
// and opening handshakes; /proc's 10 ms ticks over the phase),
// establish-conns/s the connections opened per second (the phase includes
// starting the load's processes).
// -wsload.cpuprofile=dir writes a CPU profile of each Go server's
// establish phase (establish-<server>[-tls]-<conns>.pprof): where a
// handshake's time goes, crypto among it. -wsload.csv=dir writes each trace as CSV
// (lifecycle-<server>-<conns>.csv, lifecycle-<server>-tls-<conns>.csv for
// tls=on). The last level, tls=off|on, is ws:// or wss://, so that
// -col /tls shows what TLS adds in each phase.
func BenchmarkWSLifecycle(b *testing.B) {
	conns := 9000
	if testing.Short() {
		conns = wsConns(b, 1000, 1)
	}
	for _, s := range wsLoadServers {
		s.run(b, func(b *testing.B) {
			b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
				s.runTLS(b, func(b *testing.B, srv load.ServerChild) {
					benchLifecycle(b, s.name, srv, conns)
				})
			})
		})
	}
}

func benchLifecycle(b *testing.B, name string, srv load.ServerChild, conns int) {
	wsFit(b, conns, 1)
	if srv.ServesTLS() {
		name += "-tls"
	}
	var est, flood, closed, freed, estCPU, estRate float64
	var runs int
	cfg := load.LifecycleConfig{Config: wsLoad("", conns), Server: srv}
	if *wsLifecycleProf != "" && !srv.External() {
		cfg.CPUProfile = filepath.Join(*wsLifecycleProf, fmt.Sprintf("establish-%s-%d.pprof", name, conns))
	}
	for b.Loop() {
		r, err := load.Lifecycle(context.Background(), cfg)
		if err == nil {
			err = r.Load.Err()
		}
		if err != nil {
			b.Fatal(err)
		}
		est += r.EstablishPerConn()
		flood += r.FloodPerConn()
		closed += r.CloseReturned()
		freed += r.FreeReturned()
		estCPU += float64(r.EstablishCPUPerConn().Nanoseconds()) / 1e3
		estRate += r.EstablishRate()
		runs++
		if testing.Verbose() {
			for _, p := range r.Phases {
				b.Logf("%-9s ΔRSS %+11d ΔVSS %+11d Δheap %+11d Δstacks %+10d Δgoroutines %+6d",
					p.Phase, p.DRSS, p.DVSS, p.DHeapInUse, p.DStacks, p.DGoroutines)
			}
		}
		if *wsLifecycleCSV != "" {
			path := filepath.Join(*wsLifecycleCSV, fmt.Sprintf("lifecycle-%s-%d.csv", name, conns))
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			err = r.WriteCSV(f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	n := float64(runs)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(est/n, "establish-B/conn")
	b.ReportMetric(flood/n, "flood-B/conn")
	b.ReportMetric(estCPU/n, "establish-cpu-us/conn")
	b.ReportMetric(estRate/n, "establish-conns/s")
	b.ReportMetric(closed/n, "close-returned-%")
	b.ReportMetric(freed/n, "free-returned-%")
}
