package load

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rtlab/rtlab/internal/sampler"
)

// Phases of a lifecycle trace, in the order they run.
const (
	PhaseBaseline  = "baseline"  // the server started, no connection yet (after a GC)
	PhaseEstablish = "establish" // Conns connections opened
	PhaseFlood     = "flood"     // Messages echoed on every connection
	PhaseIdle      = "idle"      // connections open, nothing sent, for Idle
	PhaseClose     = "close"     // every connection closed by its client, server side gone
	PhaseGC        = "gc"        // runtime.GC in the server
	PhaseFree      = "free"      // debug.FreeOSMemory in the server
)

var lifecyclePhases = []string{PhaseBaseline, PhaseEstablish, PhaseFlood, PhaseIdle, PhaseClose, PhaseGC, PhaseFree}

// Phases lists the phases of a lifecycle trace in the order they run.
func Phases() []string { return slices.Clone(lifecyclePhases) }

// LifecycleConfig configures a lifecycle trace (see Lifecycle). The zero
// value of every field means its default.
type LifecycleConfig struct {
	// Config is the load that opens and floods the connections, in child
	// processes (OpenChild): Conns (> 0), Rate, MsgSize and the rest mean
	// what they mean for any load, except Messages, the messages per
	// connection of the flood phase, where 0 means 20, Addr, which must
	// be empty: the trace loads the server it starts, and TLS, filled in
	// against a wss:// server (ServerChild.WithTLS) with its CA (set it
	// only to set TLSConfig.Resume).
	Config
	// Server is the server to trace, started in a child process.
	Server ServerChild
	// Idle is the length of the idle phase; 0 means 1s.
	Idle time.Duration
	// Interval is the sampling interval; 0 means 100ms.
	Interval time.Duration
	// CPUProfile, if set, is a file the server writes a CPU profile of the
	// establish phase to (runtime/pprof; Go servers only): what accepting
	// and handshaking cost, the TLS handshake's crypto among it.
	CPUProfile string
}

// PhaseStats is the server at the end of one phase, and how it moved since
// the end of the previous one (signed bytes; 0 for the baseline).
type PhaseStats struct {
	Phase                            string
	End                              ProcStats
	DRSS, DVSS, DStacks, DGoroutines int64
	// DHeapInUse is the change of the bytes in heap objects (live or not
	// yet collected); DHeapLive, of the bytes the last GC marked live, which
	// only moves when a GC runs.
	DHeapInUse, DHeapLive int64
	Elapsed               time.Duration // length of the phase
	DCPU                  time.Duration // CPU time the server used in the phase
}

// LifecycleSample is one sample of the trace, with the phase it fell in.
type LifecycleSample struct {
	Phase      string
	Elapsed    time.Duration // since the trace started
	RSS, VSS   uint64
	HeapLive   uint64
	HeapGoal   uint64
	Stacks     uint64
	Goroutines uint64
	GCCycles   uint64
	LastPause  time.Duration
}

// LifecycleResult is a lifecycle trace.
type LifecycleResult struct {
	Conns   int
	Phases  []PhaseStats // one per phase, baseline first
	Samples []LifecycleSample
	Load    Result // what the clients saw
}

// String lays the trace out as one line per phase (its deltas) and one
// with the benchmark's figures.
func (r LifecycleResult) String() string {
	var b strings.Builder
	for _, p := range r.Phases {
		fmt.Fprintf(&b, "%-9s ΔRSS %+11d ΔVSS %+11d Δheap %+11d Δstacks %+10d Δgoroutines %+6d\n",
			p.Phase, p.DRSS, p.DVSS, p.DHeapInUse, p.DStacks, p.DGoroutines)
	}
	fmt.Fprintf(&b, "conns=%d establish-B/conn=%.0f flood-B/conn=%.0f close-returned-%%=%.1f free-returned-%%=%.1f",
		r.Conns, r.EstablishPerConn(), r.FloodPerConn(), r.CloseReturned(), r.FreeReturned())
	return b.String()
}

// Phase returns the stats of the named phase, or false if it is not there.
func (r LifecycleResult) Phase(name string) (PhaseStats, bool) {
	for _, p := range r.Phases {
		if p.Phase == name {
			return p, true
		}
	}
	return PhaseStats{}, false
}

func (r LifecycleResult) rss(name string) float64 {
	p, _ := r.Phase(name)
	return float64(p.End.RSS)
}

// EstablishPerConn is the server's RSS growth from the baseline to the end
// of the establish phase, per connection, in bytes.
func (r LifecycleResult) EstablishPerConn() float64 {
	return (r.rss(PhaseEstablish) - r.rss(PhaseBaseline)) / float64(max(r.Conns, 1))
}

// EstablishCPUPerConn is the CPU time the server used in the establish
// phase, per connection: accepting, the opening handshake (and the TLS
// handshake for wss), registering the connection.
func (r LifecycleResult) EstablishCPUPerConn() time.Duration {
	p, _ := r.Phase(PhaseEstablish)
	return p.DCPU / time.Duration(max(r.Conns, 1))
}

// EstablishRate is the connections opened per second in the establish
// phase: Conns over the phase's length, which includes starting the load's
// child processes, so a floor on what the server can take.
func (r LifecycleResult) EstablishRate() float64 {
	p, _ := r.Phase(PhaseEstablish)
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(r.Conns) / p.Elapsed.Seconds()
}

// FloodPerConn is the server's RSS growth during the flood phase alone, per
// connection: what carrying traffic added to what the connections held.
func (r LifecycleResult) FloodPerConn() float64 {
	return (r.rss(PhaseFlood) - r.rss(PhaseEstablish)) / float64(max(r.Conns, 1))
}

// CloseReturned is the percentage of the RSS the connections added (end of
// idle minus baseline) that the server gave back to the OS once they were
// closed and a GC ran; FreeReturned is the same after debug.FreeOSMemory.
// The runtime returns freed pages gradually (the background scavenger), so
// CloseReturned shows the default behaviour and FreeReturned the floor.
func (r LifecycleResult) CloseReturned() float64 { return r.returned(PhaseGC) }

// FreeReturned: see CloseReturned.
func (r LifecycleResult) FreeReturned() float64 { return r.returned(PhaseFree) }

func (r LifecycleResult) returned(after string) float64 {
	grown := r.rss(PhaseIdle) - r.rss(PhaseBaseline)
	if grown <= 0 {
		return 0
	}
	return 100 * (r.rss(PhaseIdle) - r.rss(after)) / grown
}

// CSVHeader is the header of LifecycleResult.WriteCSV: the phase, then the
// columns of the sampler (elapsed_s, rss_bytes, vss_bytes, heap_live_bytes,
// heap_goal_bytes, stack_bytes, goroutines, gc_cycles, last_pause_ns).
var CSVHeader = append([]string{"phase"}, sampler.Header...)

// WriteCSV writes the samples as CSV under CSVHeader, for a chart of memory
// against time coloured by phase.
func (r LifecycleResult) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader)
	for _, s := range r.Samples {
		x := sampler.Sample{
			RSS: s.RSS, VSS: s.VSS, HeapLive: s.HeapLive, HeapGoal: s.HeapGoal,
			Stacks: s.Stacks, Goroutines: s.Goroutines, GCCycles: s.GCCycles, LastPause: s.LastPause,
		}
		_ = cw.Write(append([]string{s.Phase}, sampler.Row(x, s.Elapsed)...))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("wsconn/load: lifecycle CSV: %w", err)
	}
	return nil
}

func (lc LifecycleConfig) withDefaults() LifecycleConfig {
	if lc.Messages == 0 {
		lc.Messages = 20
	}
	lc.Config = lc.Config.withDefaults()
	if lc.Idle == 0 {
		lc.Idle = time.Second
	}
	if lc.Interval == 0 {
		lc.Interval = 100 * time.Millisecond
	}
	return lc
}

func (lc LifecycleConfig) validate() error {
	switch {
	case lc.Server.zero():
		return errors.New("wsconn/load: LifecycleConfig.Server is zero; obtain one from RegisterServerChild or DesignChild")
	case lc.Addr != "":
		return fmt.Errorf("wsconn/load: LifecycleConfig.Addr %q must be empty: the trace loads the server it starts", lc.Addr)
	case lc.Idle < 0:
		return fmt.Errorf("wsconn/load: LifecycleConfig.Idle %v must be >= 0", lc.Idle)
	case lc.Interval < 0:
		return fmt.Errorf("wsconn/load: LifecycleConfig.Interval %v must be >= 0", lc.Interval)
	}
	return lc.validateLoad()
}

// Lifecycle traces a server's memory through the life of its connections:
// establish Conns → flood (Messages per connection) → idle → close all →
// GC → FreeOSMemory. The server runs in a child process (cfg.Server),
// sampled every Interval from inside (heap, stacks, goroutines) and
// measured at each phase's end from outside (RSS, VSS through /proc); the
// clients run in other child processes (OpenChild).
//
// The error is for a trace that could not run (a server or client child
// failing, connections not opening, the server not letting go of closed
// connections); lost or corrupted messages are in the result's Load.
func Lifecycle(ctx context.Context, cfg LifecycleConfig) (LifecycleResult, error) {
	if err := cfg.validate(); err != nil {
		return LifecycleResult{}, err
	}
	lc := cfg.withDefaults()
	res := LifecycleResult{Conns: lc.Conns}
	srv, err := lc.Server.Start(ctx)
	if err != nil {
		return res, err
	}
	defer srv.ctl.Kill() // after Close, a no-op
	if err := srv.ctl.Call("sample "+lc.Interval.String(), nil); err != nil {
		return res, err
	}
	last := time.Now()
	// end records the end of phase name and starts the next one.
	end := func(name string, st ProcStats) error {
		p := PhaseStats{Phase: name, End: st, Elapsed: time.Since(last)}
		if n := len(res.Phases); n > 0 {
			prev := res.Phases[n-1].End
			p.DRSS = int64(st.RSS) - int64(prev.RSS)
			p.DVSS = int64(st.VSS) - int64(prev.VSS)
			p.DHeapLive = int64(st.HeapLive) - int64(prev.HeapLive)
			p.DHeapInUse = int64(st.HeapInUse) - int64(prev.HeapInUse)
			p.DStacks = int64(st.Stacks) - int64(prev.Stacks)
			p.DGoroutines = int64(st.Goroutines) - int64(prev.Goroutines)
			p.DCPU = st.CPU - prev.CPU
		}
		res.Phases = append(res.Phases, p)
		last = time.Now()
		if i := len(res.Phases); i < len(lifecyclePhases) {
			return srv.ctl.Call("phase "+lifecyclePhases[i], nil)
		}
		return nil
	}
	settle := func() { time.Sleep(3 * lc.Interval) } // a few samples in each state
	if _, err := srv.GC(); err != nil {
		return res, err
	}
	settle()
	base, err := srv.Stats()
	if err != nil {
		return res, err
	}
	if err := end(PhaseBaseline, base); err != nil {
		return res, err
	}

	load := lc.Config
	load.Addr = srv.Addr()
	if load.TLS, err = srv.loadTLS(lc.TLS, "LifecycleConfig.TLS"); err != nil {
		return res, err
	}
	if lc.CPUProfile != "" {
		if err := srv.StartCPUProfile(lc.CPUProfile); err != nil {
			return res, fmt.Errorf("wsconn/load: lifecycle CPU profile: %w", err)
		}
	}
	clients, err := OpenChild(ctx, load)
	if err == nil && lc.CPUProfile != "" {
		err = srv.StopCPUProfile()
	}
	if err != nil {
		return res, err
	}
	defer clients.Close() // after Close, a no-op
	step := func(name string, f func() (ProcStats, error)) error {
		if err != nil {
			return err
		}
		var st ProcStats
		if st, err = f(); err != nil {
			return fmt.Errorf("wsconn/load: lifecycle %s: %w", name, err)
		}
		return end(name, st)
	}
	err = step(PhaseEstablish, srv.Stats)
	err = step(PhaseFlood, func() (ProcStats, error) {
		if _, err := clients.Flood(lc.Messages); err != nil {
			return ProcStats{}, err
		}
		return srv.Stats()
	})
	err = step(PhaseIdle, func() (ProcStats, error) {
		time.Sleep(lc.Idle)
		return srv.Stats()
	})
	err = step(PhaseClose, func() (ProcStats, error) {
		if res.Load, err = clients.Close(); err != nil {
			return ProcStats{}, err
		}
		return waitServerFDs(srv, base.FDs, 30*time.Second)
	})
	err = step(PhaseGC, func() (ProcStats, error) {
		if _, err := srv.GC(); err != nil {
			return ProcStats{}, err
		}
		settle()
		return srv.Stats()
	})
	err = step(PhaseFree, func() (ProcStats, error) {
		if _, err := srv.FreeOSMemory(); err != nil {
			return ProcStats{}, err
		}
		settle()
		return srv.Stats()
	})
	if err != nil {
		return res, err
	}

	var got samplesReply
	if err := srv.ctl.Call("samples", &got); err != nil {
		return res, err
	}
	for _, x := range got.Series.Samples {
		phase := PhaseBaseline
		for _, m := range got.Phases {
			if !x.Time.Before(m.Time) {
				phase = m.Name
			}
		}
		res.Samples = append(res.Samples, LifecycleSample{
			Phase: phase, Elapsed: x.Time.Sub(got.Series.Samples[0].Time),
			RSS: x.RSS, VSS: x.VSS, HeapLive: x.HeapLive, HeapGoal: x.HeapGoal,
			Stacks: x.Stacks, Goroutines: x.Goroutines, GCCycles: x.GCCycles, LastPause: x.LastPause,
		})
	}
	return res, srv.Close()
}

// waitServerFDs waits until the server holds no more descriptors than fd0
// (its closed connections are gone) and returns its stats then.
func waitServerFDs(srv *ServerProc, fd0 int, timeout time.Duration) (ProcStats, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := srv.Stats()
		if err != nil || st.FDs <= fd0 {
			return st, err
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("wsconn/load: server still holds %d descriptors (%d before the connections) %v after they were closed", st.FDs, fd0, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
