package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rtlab/rtlab/internal/nodejs"
	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/wsconn/load"
	"github.com/rtlab/rtlab/wsconn/server"
)

// serverNodeWS is Node's ws library as a server child (node/wsserver.js),
// server=nodews in the root suite.
const serverNodeWS = "nodews"

// wsServerNames are the servers the WebSocket experiments run here:
// rtlab's designs and Node's ws library. The suite's gorilla and nbio
// servers are test-only peers, in the root benchmarks (go test -bench
// 'BenchmarkWS(IdleConns|Echo|EchoRate|Lifecycle)').
func wsServerNames() []string { return append(names(server.Designs()), serverNodeWS) }

// wsServerChild returns the server child named name: a design of
// wsconn/server, or nodews run by the node on PATH from the clone's node/;
// serving wss:// if tls (load.ServerChild.WithTLS: TLS 1.3, an ECDSA P-256
// certificate made at its start).
func wsServerChild(ctx context.Context, name string, tls bool) (load.ServerChild, error) {
	var srv load.ServerChild
	var err error
	if name != serverNodeWS {
		srv, err = load.DesignChild(lookup(server.Designs(), name))
	} else {
		n, root, nerr := findNode(ctx)
		if nerr != nil {
			return load.ServerChild{}, fmt.Errorf("server %s: %w", name, nerr)
		}
		srv, err = load.CommandServerChild(serverNodeWS, filepath.Join(root, "node"), n.Path, "--expose-gc", "wsserver.js")
	}
	if err == nil && tls {
		srv = srv.WithTLS()
	}
	return srv, err
}

// tlsFlag defines -tls, the suite's last level tls=off|on: ws:// or
// wss://.
func tlsFlag(fs *flag.FlagSet) *[]string {
	return enumList(fs, "tls", []string{"off", "on"}, "ws:// (off) or wss:// (on), the tls= level")
}

// nodeHere reports whether node and the clone's node/ are found, without
// installing anything (findNode does that when a Node server starts).
func nodeHere() error {
	if _, err := nodejs.Find(); err != nil {
		return err
	}
	wd, _ := os.Getwd()
	_, err := nodejs.Root(wd)
	return err
}

// defaultServers is every server of wsServerNames, nodews only where node
// and the clone's node/ are found.
func defaultServers() []string {
	all := wsServerNames()
	if nodeHere() != nil {
		return all[:len(all)-1]
	}
	return all
}

// serverFlag defines -server. Servers named on the command line must run;
// by default every design runs, and nodews where node is found.
func serverFlag(fs *flag.FlagSet) func() []string {
	v := enumList(fs, "server", wsServerNames(), "servers (nodews is Node's ws library, node/wsserver.js; left out of the default when node is not found)")
	return func() []string {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "server" })
		if set {
			return *v
		}
		return defaultServers()
	}
}

// measureIdle runs load.Idle for the server named name, as
// BenchmarkWSIdleConns does.
func measureIdle(ctx context.Context, name string, tls bool, conns int) (load.IdleResult, error) {
	srv, err := wsServerChild(ctx, name, tls)
	if err != nil {
		return load.IdleResult{}, err
	}
	return load.Idle(ctx, load.IdleConfig{Server: srv, Conns: conns})
}

// lifecycle traces the server named name through the life of conns
// connections (load.Lifecycle); lost or corrupted echoes are an error.
func lifecycle(ctx context.Context, name string, tls bool, cfg load.LifecycleConfig) (load.LifecycleResult, error) {
	srv, err := wsServerChild(ctx, name, tls)
	if err != nil {
		return load.LifecycleResult{}, err
	}
	cfg.Server = srv
	r, err := load.Lifecycle(ctx, cfg)
	if err == nil {
		err = r.Load.Err()
	}
	return r, err
}

// withLoad starts the server named name in a child process (wss:// if
// tls), opens cfg's connections against it from child processes
// (load.OpenChild), hands both to f, then closes the load and returns its
// result. A lost or corrupted echo is an error, as it fails the suite's
// benchmarks.
func withLoad(ctx context.Context, name string, tls bool, cfg load.Config, f func(*load.ServerProc, *load.ChildSession) error) (load.Result, error) {
	srv, err := wsServerChild(ctx, name, tls)
	if err != nil {
		return load.Result{}, err
	}
	p, err := srv.Start(ctx)
	if err != nil {
		return load.Result{}, err
	}
	defer p.Close()
	cfg.Addr, cfg.TLS = p.Addr(), p.ClientTLS()
	lc, err := load.OpenChild(ctx, cfg)
	if err != nil {
		return load.Result{}, err
	}
	defer lc.Close()
	if err := f(p, lc); err != nil {
		return load.Result{}, err
	}
	res, err := lc.Close()
	if err == nil {
		err = res.Err()
	}
	return res, err
}

// defineWSEcho is ws-echo: BenchmarkWSEcho's closed loop, every
// connection with one message in flight.
func defineWSEcho(fs *flag.FlagSet) func() ([]step, error) {
	servers := serverFlag(fs)
	conns := fs.Int("conns", 1000, "connections")
	sizes := intList(fs, "size", []int{64, 4096}, fmt.Sprintf("message sizes in bytes (at least %d)", load.MinMsgSize))
	flood := fs.Int("flood", 20, "messages per connection, each sent when the last echo is back")
	return func() ([]step, error) {
		conns, err := checkLoadFlags(fs, *conns, *sizes)
		if err != nil {
			return nil, err
		}
		if *flood <= 0 {
			return nil, usagef("-flood %d: want a positive count", *flood)
		}
		var s []step
		for _, srv := range servers() {
			for _, n := range *sizes {
				s = append(s, step{name: fmt.Sprintf("server=%s/conns=%d/size=%d", srv, conns, n), run: func(ctx context.Context) ([]Metric, error) {
					res, err := withLoad(ctx, srv, false, load.Config{Conns: conns, MsgSize: n}, func(_ *load.ServerProc, lc *load.ChildSession) error {
						_, err := lc.Flood(*flood)
						return err
					})
					if err != nil {
						return nil, err
					}
					return []Metric{{0, "ns/op"}, {ns(res.Echo.Quantile(0.50)), "p50-ns"}, {ns(res.Echo.Quantile(0.99)), "p99-ns"},
						{ns(res.Echo.Quantile(0.999)), "p999-ns"}, {res.MsgsPerSec(), "msgs/s"}}, nil
				}})
			}
		}
		return s, nil
	}
}

// defineWSEchoRate is ws-echo-rate: BenchmarkWSEchoRate's open loop at a
// fixed total rate, latency from each message's scheduled send.
func defineWSEchoRate(fs *flag.FlagSet) func() ([]step, error) {
	servers := serverFlag(fs)
	tlss := tlsFlag(fs)
	conns := fs.Int("conns", 1000, "connections")
	rate := fs.Int("rate", 10000, "messages per second over all connections")
	d := fs.Duration("duration", 2*time.Second, "how long messages are scheduled")
	return func() ([]step, error) {
		conns, err := checkLoadFlags(fs, *conns, nil)
		if err != nil {
			return nil, err
		}
		if *rate <= 0 {
			return nil, usagef("-rate %d: want a positive rate", *rate)
		}
		if *d <= 0 {
			return nil, usagef("-duration %v: want a positive duration", *d)
		}
		rc := load.RateConfig{Rate: float64(*rate), Duration: *d}
		var s []step
		for _, srv := range servers() {
			for _, tls := range *tlss {
				s = append(s, step{name: fmt.Sprintf("server=%s/conns=%d/rate=%d/tls=%s", srv, conns, *rate, tls), run: func(ctx context.Context) ([]Metric, error) {
					var r load.RateResult
					_, err := withLoad(ctx, srv, tls == "on", load.Config{Conns: conns}, func(_ *load.ServerProc, lc *load.ChildSession) error {
						var err error
						if r, err = lc.EchoRate(rc); err == nil {
							err = r.Err()
						}
						return err
					})
					if err != nil {
						return nil, err
					}
					return []Metric{{0, "ns/op"}, {ns(r.Latency.Quantile(0.50)), "p50-ns"}, {ns(r.Latency.Quantile(0.99)), "p99-ns"},
						{ns(r.Latency.Quantile(0.999)), "p999-ns"}, {ns(r.SendLatency.Quantile(0.99)), "send-p99-ns"}, {r.Achieved(), "achieved-msgs/s"}}, nil
				}})
			}
		}
		return s, nil
	}
}

// defineWSIdleConns is ws-idleconns: BenchmarkWSIdleConns, load.Idle.
func defineWSIdleConns(fs *flag.FlagSet) func() ([]step, error) {
	servers := serverFlag(fs)
	tlss := tlsFlag(fs)
	counts := intList(fs, "conns", []int{1000, 9000}, "connection counts")
	return func() ([]step, error) {
		conns, err := fitConns(fs, *counts)
		if err != nil {
			return nil, err
		}
		var s []step
		for _, srv := range servers() {
			for _, n := range conns {
				for _, tls := range *tlss {
					s = append(s, step{name: fmt.Sprintf("server=%s/conns=%d/tls=%s", srv, n, tls), run: func(ctx context.Context) ([]Metric, error) {
						r, err := measureIdle(ctx, srv, tls == "on", n)
						if err != nil {
							return nil, err
						}
						return []Metric{{0, "ns/op"}, {r.RSS, "B/conn"}, {r.Heap, "heap-B/conn"}, {r.Stacks, "stack-B/conn"}, {r.Goroutines, "goroutines/conn"}}, nil
					}})
				}
			}
		}
		return s, nil
	}
}

// defineWSLifecycle is ws-lifecycle: BenchmarkWSLifecycle, load.Lifecycle.
func defineWSLifecycle(fs *flag.FlagSet) func() ([]step, error) {
	servers := serverFlag(fs)
	tlss := tlsFlag(fs)
	conns := fs.Int("conns", 9000, "connections")
	csvDir := fs.String("csv", "", "`dir`ectory to write each trace to, as the suite's -wsload.csv names them: lifecycle-<server>[-tls]-<conns>.csv")
	return func() ([]step, error) {
		conns, err := checkLoadFlags(fs, *conns, nil)
		if err != nil {
			return nil, err
		}
		var s []step
		for _, srv := range servers() {
			for _, tls := range *tlss {
				s = append(s, step{name: fmt.Sprintf("server=%s/conns=%d/tls=%s", srv, conns, tls), run: func(ctx context.Context) ([]Metric, error) {
					r, err := lifecycle(ctx, srv, tls == "on", load.LifecycleConfig{Config: load.Config{Conns: conns}})
					if err != nil {
						return nil, err
					}
					if *csvDir != "" {
						name := srv
						if tls == "on" {
							name += "-tls"
						}
						if err := writeLifecycleCSV(filepath.Join(*csvDir, fmt.Sprintf("lifecycle-%s-%d.csv", name, conns)), r); err != nil {
							return nil, err
						}
						// The machine, for rtlab plot lifecycle -csv's caption.
						var src plotSource
						src.nodeServer(servers())
						if err := os.WriteFile(filepath.Join(*csvDir, lifecycleMachine), []byte(src.caption()+"\n"), 0o644); err != nil {
							return nil, err
						}
					}
					return []Metric{{0, "ns/op"}, {r.EstablishPerConn(), "establish-B/conn"}, {r.FloodPerConn(), "flood-B/conn"},
						{float64(r.EstablishCPUPerConn().Nanoseconds()) / 1e3, "establish-cpu-us/conn"}, {r.EstablishRate(), "establish-conns/s"},
						{r.CloseReturned(), "close-returned-%"}, {r.FreeReturned(), "free-returned-%"}}, nil
				}})
			}
		}
		return s, nil
	}
}

// defineWSReconnect is ws-reconnect: BenchmarkWSReconnect, load.Reconnect.
func defineWSReconnect(fs *flag.FlagSet) func() ([]step, error) {
	servers := serverFlag(fs)
	modes := enumList(fs, "tls", []string{"off", "full", "resumed"}, "ws:// (off), wss:// with a full handshake per client (full) or resuming each client's first session (resumed)")
	conns := fs.Int("conns", 1000, "clients that drop and redial at once")
	return func() ([]step, error) {
		conns, err := checkLoadFlags(fs, *conns, nil)
		if err != nil {
			return nil, err
		}
		var s []step
		for _, srv := range servers() {
			for _, mode := range *modes {
				s = append(s, step{name: fmt.Sprintf("server=%s/conns=%d/tls=%s", srv, conns, mode), run: func(ctx context.Context) ([]Metric, error) {
					child, err := wsServerChild(ctx, srv, mode != "off")
					if err != nil {
						return nil, err
					}
					cfg := load.ReconnectConfig{Server: child, Conns: conns}
					if mode == "resumed" {
						cfg.Load.TLS = &load.TLSConfig{Resume: true}
					}
					r, err := load.Reconnect(ctx, cfg)
					if err != nil {
						return nil, err
					}
					return []Metric{{0, "ns/op"}, {r.PerSec(), "conns/s"}, {float64(r.CPUPerConn().Nanoseconds()) / 1e3, "server-cpu-us/conn"},
						{100 * float64(r.Resumed) / float64(r.Conns), "resumed-%"},
						{ns(r.Connect.Quantile(0.5)), "connect-p50-ns"}, {ns(r.Connect.Quantile(0.99)), "connect-p99-ns"}}, nil
				}})
			}
		}
		return s, nil
	}
}

// checkLoadFlags checks -conns and -size of a load and returns the
// connections to open (fitConns).
func checkLoadFlags(fs *flag.FlagSet, conns int, sizes []int) (int, error) {
	if conns <= 0 {
		return 0, usagef("-conns %d: want a positive count", conns)
	}
	for _, n := range sizes {
		if n < load.MinMsgSize {
			return 0, usagef("-size %d: want at least %d bytes", n, load.MinMsgSize)
		}
	}
	fit, err := fitConns(fs, []int{conns})
	if err != nil {
		return 0, err
	}
	return fit[0], nil
}

// fitConns checks connection counts against the open-files limit of the
// server's process, which holds a descriptor for each (the clients are
// spread over processes of their own). A count given with -conns that does
// not fit is refused, naming the flag and the limit; a default that does
// not fit becomes as many as fit, as in the suite's benchmarks, and the
// step's name says how many.
func fitConns(fs *flag.FlagSet, counts []int) ([]int, error) {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "conns" })
	var out []int
	for _, n := range counts {
		fit, why := procmem.FitFDs(n, 1, 0, "connections")
		switch {
		case fit == n:
		case given:
			return nil, usagef("-conns %d: in the server's process, %s", n, why)
		case fit == 0:
			return nil, errors.New(why)
		default:
			n = fit
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// checkBenchtime checks a -benchtime as go test reads it: a positive
// duration or a positive count followed by x.
func checkBenchtime(bt string) error {
	if n, ok := strings.CutSuffix(bt, "x"); ok {
		if c, err := strconv.Atoi(n); err == nil && c > 0 {
			return nil
		}
	} else if d, err := time.ParseDuration(bt); err == nil && d > 0 {
		return nil
	}
	return usagef("-benchtime %q: want a positive duration (1s, 300ms) or a count (1000x)", bt)
}

// implName is what -impl accepts: the value of an impl= key.
var implName = regexp.MustCompile(`^[a-z0-9-]+$`)

// defineSuiteFrames is ws-frame-read and ws-frame-write: the suite's own
// rows (see suite.go), every impl the root benchmark has unless -impl
// picks some.
func defineSuiteFrames(bench string) func(fs *flag.FlagSet) func() ([]step, error) {
	return func(fs *flag.FlagSet) func() ([]step, error) {
		impls := fs.String("impl", "all", "impls: all or a comma-separated list of the root benchmark's (rtlab, gorilla, coder, wsutil, naive, ...)")
		sizes := intList(fs, "size", []int{16, 1024, 65536}, "payload sizes in bytes")
		benchtime := fs.String("benchtime", "1s", "go test's -benchtime for each row: a duration or Nx")
		return func() ([]step, error) {
			if err := checkBenchtime(*benchtime); err != nil {
				return nil, err
			}
			implRE := "."
			if *impls != "all" {
				var alts []string
				for _, im := range strings.Split(*impls, ",") {
					if !implName.MatchString(im) {
						return nil, usagef("-impl %q: %q is not an impl name (lower-case letters, digits and -)", *impls, im)
					}
					alts = append(alts, regexp.QuoteMeta(im))
				}
				implRE = "^impl=(" + strings.Join(alts, "|") + ")$"
			}
			re := fmt.Sprintf("^Benchmark%s$/%s/^size=(%s)$", bench, implRE, strings.ReplaceAll(joinInts(*sizes), ",", "|"))
			return []step{{name: "impl=" + *impls, rows: func(ctx context.Context) ([]Row, error) {
				s, err := buildSuite(ctx)
				if err != nil {
					return nil, err
				}
				defer s.close()
				r, err := s.bench(ctx, re, *benchtime, false)
				if errors.Is(err, errNoMatch) {
					return nil, usagef("-impl %s -size %s: no row of the root suite's Benchmark%s matched (rtlab run %s without -impl shows them all)", *impls, joinInts(*sizes), bench, strings.TrimPrefix(fs.Name(), "run "))
				}
				if err != nil {
					return nil, err
				}
				return rowsOf(r), nil
			}}}, nil
		}
	}
}
