package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"runtime"
	"time"

	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/load"
	"github.com/rtlab/rtlab/wsconn/server"
)

func cmdWS(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("ws needs serve or load: rtlab ws serve [flags] | rtlab ws load [flags]")
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, e, args[1:])
	case "load":
		return cmdLoad(ctx, e, args[1:])
	case "-h", "-help", "--help":
		fmt.Fprintln(e.stdout, "usage: rtlab ws serve [flags] | rtlab ws load [flags]")
		return errHelp
	default:
		return usagef("unknown ws command %q: want serve or load", args[0])
	}
}

// cmdServe runs an echo server until interrupted, printing its RSS, open
// connections and goroutines every second.
func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "ws serve", "[flags]", "serve runs a WebSocket echo server and prints its RSS, connections and goroutines every second, until Ctrl-C.")
	design := fs.String("design", string(server.DesignReactor), "server `design`: reactor or goroutine")
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on (:PORT for every interface)")
	every := fs.Duration("every", time.Second, "interval between two status lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("ws serve: unexpected arguments %q", fs.Args())
	}
	var d server.Design
	for _, x := range server.Designs() {
		if string(x) == *design {
			d = x
		}
	}
	if d == "" {
		return usagef("-design %q: want one of %q", *design, server.Designs())
	}
	if *every <= 0 {
		return usagef("-every %v: want a positive duration", *every)
	}
	srv, err := server.New(d, wsconn.EchoHandler{}, server.Options{})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(e.stdout, "serving %s on %s (GOMAXPROCS %d); Ctrl-C stops\n", srv.Design(), ln.Addr(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(e.stdout, "%8s %12s %8s %10s %10s %12s\n", "time", "RSS", "conns", "goroutines", "accepted", "msgs-in")
	start := time.Now()
	t := time.NewTicker(*every)
	defer t.Stop()
	for {
		select {
		case err := <-served:
			return fmt.Errorf("ws serve: %w", err)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := srv.Shutdown(sctx)
			<-served
			fmt.Fprintln(e.stdout, "stopped")
			return err
		case <-t.C:
		}
		st := srv.Stats()
		rss := "?"
		if m, err := procmem.Self(); err == nil {
			rss = scaleBytes(float64(m.RSS))
		}
		fmt.Fprintf(e.stdout, "%7.0fs %12s %8d %10d %10d %12d\n", time.Since(start).Seconds(), rss, st.Open, runtime.NumGoroutine(), st.Accepted, st.MessagesIn)
	}
}

// cmdLoad opens connections against a server, floods them for a duration
// at a message rate, closes them and prints the result as benchfmt.
func cmdLoad(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "ws load", "[flags]", "load opens connections to a WebSocket echo server, sends messages on each for a duration,\nchecks every echo and prints the result as benchfmt; files from several hosts go side by side into benchstat.")
	addr := fs.String("addr", "127.0.0.1:8080", "server `host:port` or ws:// URL")
	conns := fs.Int("conns", 1000, "connections to open (at most what the open-files limit allows, less 256: run more load processes for more)")
	rate := fs.Float64("rate", 0, "connections opened per second; 0 as fast as 64 dialers go")
	duration := fs.Duration("duration", 10*time.Second, "how long to send once every connection is open")
	msgRate := fs.Float64("msg-rate", 1, "messages per second on each connection")
	size := fs.Int("size", 64, fmt.Sprintf("message size in bytes, at least %d", load.MinMsgSize))
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("ws load: unexpected arguments %q", fs.Args())
	case *conns <= 0:
		return usagef("-conns %d: want a positive count", *conns)
	case *rate < 0:
		return usagef("-rate %g: want 0 or more connections per second", *rate)
	case *duration <= 0:
		return usagef("-duration %v: want a positive duration", *duration)
	case *msgRate <= 0:
		return usagef("-msg-rate %g: want a positive rate", *msgRate)
	case *size < load.MinMsgSize:
		return usagef("-size %d: want at least %d bytes", *size, load.MinMsgSize)
	}
	if n, why := procmem.FitFDs(*conns, 1, procmem.OpenFDs(), "connections"); n < *conns {
		return usagef("-conns %d: %s; run more load processes", *conns, why)
	}
	perConn := max(1, int(math.Round(*msgRate*duration.Seconds())))
	cfg := load.Config{Addr: *addr, Conns: *conns, Rate: *rate, MsgSize: *size, MsgRate: *msgRate}
	p := e.startProgress(2)
	p.Step(fmt.Sprintf("opening %d connections to %s", *conns, *addr))
	s, err := load.Open(ctx, cfg)
	if err != nil {
		p.Finish()
		return err
	}
	p.Done()
	p.Step(fmt.Sprintf("%d connections, %d messages each", *conns, perConn))
	ferr := s.Flood(ctx, perConn)
	held := s.Result().Conns // open through the flood; Close closes them
	p.Done()
	p.Finish()
	res := s.Close()
	if ferr != nil {
		return ferr
	}
	row := Row{Name: fmt.Sprintf("WSLoad/conns=%d/size=%d", *conns, *size), Metrics: loadMetrics(res, held)}
	if err := writeBenchfmt(e.stdout, configLines(), []Row{row}, runtime.GOMAXPROCS(0)); err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("ws load: %w", err)
	}
	return nil
}

// loadMetrics are the figures of a load result, in the suite's units;
// conns is the connections held through the flood.
func loadMetrics(r load.Result, conns int) []Metric {
	var errs uint64
	for _, n := range r.Errors {
		errs += n
	}
	return []Metric{
		{ns(r.Echo.Quantile(0.50)), "p50-ns"},
		{ns(r.Echo.Quantile(0.99)), "p99-ns"},
		{ns(r.Echo.Quantile(0.999)), "p999-ns"},
		{r.MsgsPerSec(), "msgs/s"},
		{float64(conns), "conns"},
		{float64(r.Lost), "lost-msgs"},
		{float64(r.Corrupted), "corrupted-msgs"},
		{float64(errs), "errors"},
	}
}

// scaleBytes formats n bytes with a binary prefix.
func scaleBytes(n float64) string {
	for _, u := range []string{"B", "KiB", "MiB", "GiB"} {
		if math.Abs(n) < 1024 || u == "GiB" {
			if u == "B" {
				return fmt.Sprintf("%.0f %s", n, u)
			}
			return fmt.Sprintf("%.1f %s", n, u)
		}
		n /= 1024
	}
	return ""
}
