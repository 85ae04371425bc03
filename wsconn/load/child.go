package load

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/internal/rtmetrics"
	"github.com/rtlab/rtlab/internal/sampler"
	"github.com/rtlab/rtlab/internal/testcert"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/server"
)

// startCtl starts f with the ctx's deadline (or an hour) as its timeout
// and env added to its environment, and waits for its ready answer, decoded
// into ready.
func startCtl(ctx context.Context, f child.Func, arg string, env []string, ready any) (*child.Ctl, error) {
	timeout := time.Hour
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	return f.StartCtl(ctx, child.Options{Arg: arg, Env: env, Timeout: timeout}, ready)
}

var loadChild = child.Register("wsconn.load", func(arg string) int {
	var l Config
	if err := json.Unmarshal([]byte(arg), &l); err != nil {
		fmt.Fprintln(os.Stderr, "wsconn/load: child: bad argument:", err)
		return 2
	}
	ctx := context.Background()
	s, err := Open(ctx, l)
	var ready any
	if err == nil {
		ready = s.Result()
	}
	child.Serve(os.Stdin, os.Stdout, ready, err, func(cmd, arg string) (any, bool, error) {
		switch cmd {
		case "flood":
			n, err := strconv.Atoi(arg)
			if err != nil {
				return nil, false, fmt.Errorf("wsconn/load: child: flood %q: %w", arg, err)
			}
			err = s.Flood(ctx, n)
			return s.Result(), false, err
		case "result":
			return s.Result(), false, nil
		case "redial":
			r, err := s.Redial(ctx)
			return r, false, err
		case "rate":
			return s.rateCommand(ctx, arg)
		case "close":
			return s.Close(), true, nil
		}
		return nil, false, fmt.Errorf("wsconn/load: child: unknown command %q", cmd)
	})
	if s != nil {
		s.Close()
	}
	if err != nil {
		return 1
	}
	return 0
})

// ChildSession is a load running in child processes of this binary (see
// OpenChild), so that neither the clients' memory nor their descriptors
// count against the process that measures the server.
type ChildSession struct {
	procs []*child.Ctl

	closeOnce sync.Once
	closeRes  Result
	closeErr  error
}

// OpenChild starts the load l in child processes of the running binary,
// one per ConnsPerProc connections, and returns once all their connections
// are open. The children exit when Close is called, when ctx is done, or
// when this process dies.
func OpenChild(ctx context.Context, l Config) (*ChildSession, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	l = l.withDefaults()
	n := (l.Conns + l.ConnsPerProc - 1) / l.ConnsPerProc
	lc := &ChildSession{procs: make([]*child.Ctl, n)}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		part := l
		part.Conns = l.Conns / n
		if i < l.Conns%n {
			part.Conns++
		}
		part.Rate = l.Rate / float64(n)
		arg, err := json.Marshal(part)
		if err != nil {
			return nil, fmt.Errorf("wsconn/load: %w", err)
		}
		wg.Go(func() {
			lc.procs[i], errs[i] = startCtl(ctx, loadChild, string(arg), nil, nil)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, p := range lc.procs {
			if p != nil {
				p.Kill()
			}
		}
		return nil, err
	}
	return lc, nil
}

// Pids are the child processes' IDs.
func (lc *ChildSession) Pids() []int {
	var pids []int
	for _, p := range lc.procs {
		pids = append(pids, p.Pid())
	}
	return pids
}

// all sends cmd to every child at once and merges their results.
func (lc *ChildSession) all(cmd string) (Result, error) {
	res := make([]Result, len(lc.procs))
	errs := make([]error, len(lc.procs))
	var wg sync.WaitGroup
	for i, p := range lc.procs {
		wg.Go(func() { errs[i] = p.Call(cmd, &res[i]) })
	}
	wg.Wait()
	var sum Result
	for _, r := range res {
		if r.Connect != nil {
			sum.add(r)
		}
	}
	return sum, errors.Join(errs...)
}

// Flood sends perConn messages on every connection of every child (see
// Session.Flood) and returns the cumulative result of the load.
func (lc *ChildSession) Flood(perConn int) (Result, error) {
	return lc.all("flood " + strconv.Itoa(perConn))
}

// Result is what the load has seen so far, over all children.
func (lc *ChildSession) Result() (Result, error) { return lc.all("result") }

// Close closes every connection, ends the children and returns the final
// result. Calling it again returns the same result and error.
func (lc *ChildSession) Close() (Result, error) {
	lc.closeOnce.Do(func() {
		res, err := lc.all("close")
		errs := []error{err}
		for _, p := range lc.procs {
			errs = append(errs, p.End())
		}
		lc.closeRes, lc.closeErr = res, errors.Join(errs...)
	})
	return lc.closeRes, lc.closeErr
}

// ServeFunc starts an echo server on ln, serving in the background, and
// returns a function that shuts it down. tlsConfig is nil for ws://; for
// wss:// it is a TLS 1.3-only configuration with the server's certificate
// (ECDSA P-256, made by the child at start by internal/testcert), which
// the server serves with its own TLS support (for a server with a TLS of
// its own, such as nbio's, the certificate is tlsConfig.Certificates[0]).
type ServeFunc func(ln net.Listener, tlsConfig *tls.Config) (stop func(context.Context) error, err error)

// ServerChild is an echo server that runs in a child process of this
// binary, so that its memory can be read from outside, with procmem, while
// its clients live in other processes.
type ServerChild struct {
	name string
	f    child.Func
	cmd  *child.Command // an external program instead (CommandServerChild)
	tls  bool           // serve wss:// (WithTLS)
}

// WithTLS returns the server child serving wss:// instead of ws://: TLS
// 1.3 with an ECDSA P-256 certificate made at its start (internal/testcert)
// for 127.0.0.1, ::1 and localhost, which clients verify against the CA
// that ServerProc.ClientTLS gives them. A Go child makes its own
// certificate and reports its CA (public) in its ready answer, so its key
// never leaves it; an external program (CommandServerChild) is handed its
// certificate and key by this process in memory, in the environment
// variables RTLAB_TLS_CERT and RTLAB_TLS_KEY (PEM), never in a file.
func (s ServerChild) WithTLS() ServerChild {
	s.tls = true
	return s
}

// External reports whether the server is an external program
// (CommandServerChild) rather than Go code of this binary: it answers the
// control protocol but has no Go runtime to profile.
func (s ServerChild) External() bool { return s.cmd != nil }

// ServesTLS reports whether the child serves wss:// (WithTLS).
func (s ServerChild) ServesTLS() bool { return s.tls }

// RegisterServerChild makes serve runnable in a child process under name.
// Like child.Register, it must be called from a package-level variable
// initialiser, once per name in a binary: the child process is this binary
// started again, and it finds serve during its own initialisation.
func RegisterServerChild(name string, serve ServeFunc) ServerChild {
	return ServerChild{name: name, f: child.Register("wsconn.server."+name, func(arg string) int {
		return serverChildMain(arg, serve)
	})}
}

// Name is the name the server was registered under.
func (s ServerChild) Name() string { return s.name }

// ProcStats is a server process's memory: the kernel's view, read from
// outside the process, and the Go runtime's, reported by the process.
type ProcStats struct {
	RSS, VSS   uint64 // from /proc/<pid>/status, read by the parent
	HeapLive   uint64 // bytes marked live by the last GC
	HeapInUse  uint64 // bytes in heap objects now, live or not yet collected
	HeapGoal   uint64
	Stacks     uint64 // goroutine stack bytes
	Goroutines uint64
	GCCycles   uint64
	FDs        int // open file descriptors, -1 if unknown
	GOMAXPROCS int // the server runtime's, the parent's when it started it
	// CPU is the CPU time the server process has used so far, user and
	// system, read by the parent from /proc/<pid>/stat (10 ms ticks).
	CPU time.Duration
}

func selfStats() ProcStats {
	m := rtmetrics.Read()
	return ProcStats{
		HeapLive: m.HeapLive, HeapGoal: m.HeapGoal, Stacks: m.StackBytes,
		HeapInUse:  rtmetrics.Uint64("/memory/classes/heap/objects:bytes"),
		Goroutines: m.Goroutines, GCCycles: m.GCCycles, FDs: procmem.OpenFDs(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
}

// phaseMark is the moment a lifecycle phase began, in the server child.
type phaseMark struct {
	Name string
	Time time.Time
}

type samplesReply struct {
	Series sampler.Series
	Phases []phaseMark
}

// serverArg is the argument of a Go server child, as JSON.
type serverArg struct {
	TLS bool `json:",omitempty"` // serve wss:// with a certificate the child makes
}

// serverReady is a server child's ready answer: the address it listens on
// and, for wss://, the PEM certificate of the CA that signed its
// certificate (public). An external program may answer the address alone,
// as a JSON string.
type serverReady struct {
	Addr  string
	CAPEM string `json:",omitempty"`
}

// UnmarshalJSON takes the object or the bare address string.
func (r *serverReady) UnmarshalJSON(b []byte) error {
	var addr string
	if json.Unmarshal(b, &addr) == nil {
		*r = serverReady{Addr: addr}
		return nil
	}
	type plain serverReady
	return json.Unmarshal(b, (*plain)(r))
}

func serverChildMain(arg string, serve ServeFunc) int {
	var sa serverArg
	err := json.Unmarshal([]byte(cmp.Or(arg, "{}")), &sa)
	var (
		ln    net.Listener
		stop  func(context.Context) error
		ready serverReady
		tc    *tls.Config
	)
	if err == nil && sa.TLS {
		var a *testcert.Authority
		if a, err = testcert.New(); err == nil {
			tc, ready.CAPEM = a.ServerConfig(), string(a.CAPEM())
		}
	}
	if err == nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err == nil {
		if stop, err = serve(ln, tc); err != nil {
			_ = ln.Close()
		}
	}
	if err == nil {
		ready.Addr = ln.Addr().String()
	}
	var (
		smp     *sampler.Sampler
		phases  []phaseMark
		cpuProf *os.File
	)
	child.Serve(os.Stdin, os.Stdout, ready, err, func(cmd, arg string) (any, bool, error) {
		switch cmd {
		case "stats":
		case "gc":
			runtime.GC()
		case "free":
			debug.FreeOSMemory()
		case "sample":
			d, err := time.ParseDuration(arg)
			if err != nil {
				return nil, false, err
			}
			if smp != nil {
				_, _ = smp.Stop() // a new trace replaces the old one
			}
			if smp, err = sampler.Start(d, nil); err != nil {
				return nil, false, err
			}
			phases = nil
		case "phase":
			phases = append(phases, phaseMark{Name: arg, Time: time.Now()})
		case "samples":
			if smp == nil {
				return nil, false, errors.New("wsconn/load: server child: not sampling")
			}
			ser, err := smp.Stop()
			smp = nil
			return samplesReply{Series: ser, Phases: phases}, false, err
		case "memclasses":
			return memClasses(), false, nil
		case "cpuprofile":
			// With a path, start a CPU profile written there; without,
			// stop the one running.
			if arg == "" {
				if cpuProf == nil {
					return nil, false, errors.New("wsconn/load: server child: no CPU profile running")
				}
				pprof.StopCPUProfile()
				err := cpuProf.Close()
				cpuProf = nil
				return nil, false, err
			}
			if cpuProf != nil {
				return nil, false, errors.New("wsconn/load: server child: a CPU profile is already running")
			}
			f, err := os.Create(arg)
			if err != nil {
				return nil, false, err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return nil, false, errors.Join(err, f.Close())
			}
			cpuProf = f
		case "heapprofile":
			f, err := os.Create(arg)
			if err != nil {
				return nil, false, err
			}
			runtime.GC()
			err = pprof.Lookup("heap").WriteTo(f, 0)
			return nil, false, errors.Join(err, f.Close())
		case "quit":
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := stop(ctx)
			stop = nil
			return nil, true, err
		default:
			return nil, false, fmt.Errorf("wsconn/load: server child: unknown command %q", cmd)
		}
		return selfStats(), false, nil
	})
	if smp != nil {
		_, _ = smp.Stop()
	}
	if cpuProf != nil {
		pprof.StopCPUProfile()
		_ = cpuProf.Close()
	}
	if stop != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = stop(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// memClasses reads every /memory/classes/ metric of runtime/metrics: where
// the runtime's mapped memory is, byte for byte (heap objects, free and
// released heap, stacks, metadata, ...).
func memClasses() map[string]uint64 {
	var samples []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") && d.Kind == metrics.KindUint64 {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(samples)
	m := make(map[string]uint64, len(samples))
	for _, s := range samples {
		m[strings.TrimPrefix(s.Name, "/memory/classes/")] = s.Value.Uint64()
	}
	return m
}

// ServerProc is a ServerChild running.
type ServerProc struct {
	ctl   *child.Ctl
	name  string
	ready serverReady
}

// Start runs the server in a child process listening on 127.0.0.1 at a
// free port, and returns once it accepts connections. The child runs with
// this process's GOMAXPROCS (which go test -cpu sets), so that a benchmark
// measures its server at the -cpu it names. The child is killed when ctx
// is done; Close ends it normally.
func (s ServerChild) Start(ctx context.Context) (*ServerProc, error) {
	if s.zero() {
		return nil, errors.New("wsconn/load: ServerChild is zero; obtain one from RegisterServerChild")
	}
	p := &ServerProc{name: s.name}
	var err error
	if p.ctl, err = s.start(ctx, &p.ready); err != nil {
		if strings.Contains(err.Error(), server.ErrReactorTLS.Error()) {
			// Said by the child: make it errors.Is-able here.
			err = fmt.Errorf("%w (the child said: %v)", server.ErrReactorTLS, err)
		}
		return nil, fmt.Errorf("wsconn/load: server %s: %w", s.name, err)
	}
	if s.tls && p.ready.CAPEM == "" {
		p.ctl.Kill()
		return nil, fmt.Errorf("wsconn/load: server %s was asked for wss:// but gave no CA certificate", s.name)
	}
	return p, nil
}

// Addr is the address the server listens on.
func (p *ServerProc) Addr() string { return p.ready.Addr }

// ClientTLS is the TLS of a load against the server (Config.TLS): nil for
// a ws:// server, else the CA its certificate chains to, as public PEM.
func (p *ServerProc) ClientTLS() *TLSConfig {
	if p.ready.CAPEM == "" {
		return nil
	}
	return &TLSConfig{CAPEM: p.ready.CAPEM}
}

// loadTLS is the Config.TLS of a load against the server: want's (its
// Resume) with the server's CA, or nil against a ws:// server, for which
// a want is an error (field names it).
func (p *ServerProc) loadTLS(want *TLSConfig, field string) (*TLSConfig, error) {
	t := p.ClientTLS()
	switch {
	case t == nil && want != nil:
		return nil, fmt.Errorf("wsconn/load: %s is set but server %s serves ws://; use ServerChild.WithTLS", field, p.name)
	case t != nil && want != nil:
		want := *want
		want.CAPEM = t.CAPEM
		return &want, nil
	}
	return t, nil
}

// Pid is the server process's ID.
func (p *ServerProc) Pid() int { return p.ctl.Pid() }

func (p *ServerProc) stats(cmd string) (ProcStats, error) {
	var st ProcStats
	if err := p.ctl.Call(cmd, &st); err != nil {
		return st, err
	}
	m, err := procmem.Read(p.Pid())
	st.RSS, st.VSS, st.CPU = m.RSS, m.VSS, m.CPU
	return st, err
}

// Stats reads the server's memory now.
func (p *ServerProc) Stats() (ProcStats, error) { return p.stats("stats") }

// GC runs a garbage collection in the server, then reads its memory.
func (p *ServerProc) GC() (ProcStats, error) { return p.stats("gc") }

// FreeOSMemory runs debug.FreeOSMemory in the server (a GC that also returns
// every free page to the OS at once), then reads its memory.
func (p *ServerProc) FreeOSMemory() (ProcStats, error) { return p.stats("free") }

// MemClasses returns the server runtime's /memory/classes/ metrics, keyed
// by the name after that prefix ("heap/objects:bytes", "os-stacks:bytes"),
// to see where its RSS goes.
func (p *ServerProc) MemClasses() (map[string]uint64, error) {
	var m map[string]uint64
	err := p.ctl.Call("memclasses", &m)
	return m, err
}

// WriteHeapProfile makes the server run a GC and write its heap profile
// (pprof format, for go tool pprof) to the file path.
func (p *ServerProc) WriteHeapProfile(path string) error {
	return p.ctl.Call("heapprofile "+path, nil)
}

// StartCPUProfile starts a CPU profile of the server (runtime/pprof),
// written to the file path once StopCPUProfile is called; Go servers only.
func (p *ServerProc) StartCPUProfile(path string) error {
	return p.ctl.Call("cpuprofile "+path, nil)
}

// StopCPUProfile ends the server's CPU profile and closes its file.
func (p *ServerProc) StopCPUProfile() error { return p.ctl.Call("cpuprofile", nil) }

// Close shuts the server down and waits for its process to exit.
func (p *ServerProc) Close() error {
	err := p.ctl.Call("quit", nil)
	return errors.Join(err, p.ctl.End())
}

// Echo servers of rtlab's own designs, runnable as children of any binary
// that imports this package.
var designChildren = func() map[server.Design]ServerChild {
	m := map[server.Design]ServerChild{}
	for _, d := range server.Designs() {
		m[d] = RegisterServerChild(d.String(), serveDesign(d))
	}
	return m
}()

// serveDesign is an EchoHandler server of design d with default Options
// (no server pings: a load's idle connections do not read until their next
// flood, so they would answer late), and Options.TLSConfig for wss://.
// What Serve refuses at once (ErrReactorTLS) is found before serving, with
// a throwaway server on a listener already closed, so that the child
// reports it instead of accepting connections it will not serve; the stop
// function returns any other error of Serve.
func serveDesign(d server.Design) ServeFunc {
	return func(ln net.Listener, tc *tls.Config) (func(context.Context) error, error) {
		o := server.Options{TLSConfig: tc}
		probe, err := server.New(d, wsconn.EchoHandler{}, o)
		if err != nil {
			return nil, err
		}
		if err := serveClosed(probe); errors.Is(err, server.ErrReactorTLS) {
			return nil, err
		}
		s, err := server.New(d, wsconn.EchoHandler{}, o)
		if err != nil {
			return nil, err
		}
		served := make(chan error, 1)
		go func() { served <- s.Serve(ln) }()
		var serr error // Serve's, once it returned
		var once sync.Once
		return func(ctx context.Context) error {
			err := s.Shutdown(ctx)
			once.Do(func() { serr = <-served })
			if !errors.Is(serr, server.ErrServerClosed) {
				err = errors.Join(err, serr)
			}
			return err
		}, nil
	}
}

// serveClosed runs s.Serve on a loopback listener already closed: it
// returns at once, with what s refuses before using a listener, or with
// the closed listener's error.
func serveClosed(s *server.Server) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ln.Close()
	return s.Serve(ln)
}

// DesignChild returns the ServerChild that runs an echo server of design d
// (EchoHandler, default Options) in a child process.
func DesignChild(d server.Design) (ServerChild, error) {
	s, ok := designChildren[d]
	if !ok {
		return ServerChild{}, fmt.Errorf("wsconn/load: unknown design %q; want one of %q", d, server.Designs())
	}
	return s, nil
}
