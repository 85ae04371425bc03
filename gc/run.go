package gc

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// Stats is what the collector did over an interval, from runtime/metrics
// deltas (plus peak RSS, sampled).
type Stats struct {
	Elapsed  time.Duration
	GCCycles uint64
	// Pauses is the number of GC stop-the-world pauses (two per cycle: sweep
	// termination and mark termination).
	Pauses uint64
	// PauseP50, PauseP99 and PauseMax are quantiles of
	// /sched/pauses/total/gc:seconds over the interval: bucket upper bounds,
	// so upper bounds on the true values by at most one bucket's width.
	PauseP50, PauseP99, PauseMax time.Duration
	// GCCPUShare is GC CPU time over the CPU the process could use
	// (/cpu/classes/gc/total over /cpu/classes/total, which is GOMAXPROCS x
	// wall time), from 0 to 1.
	GCCPUShare float64
	// ScanHeap is the scan work of the last cycle (/gc/scan/heap).
	// Pointer-free objects add nothing; a pointerful small object adds its
	// whole size on the vector scan path and its bytes up to its last
	// pointer on the scalar path (the package doc, "Two scan paths").
	ScanHeap   uint64
	HeapLive   uint64 // bytes marked live by the last cycle
	HeapGoal   uint64 // heap goal at the end
	PeakRSS    uint64 // the kernel's RSS high-water mark over the interval; 0 where unknown (off Linux)
	AllocBytes uint64 // bytes allocated on the heap
	AllocRate  float64
}

// Meter measures an interval: StartMeter, run a workload, Stop. It starts
// no goroutine and reads nothing in between, so it does not disturb the
// workload: the runtime's counters are cumulative and the kernel keeps the
// RSS high-water mark. That mark is process-wide, so two Meters must not
// overlap (the second start resets the first one's peak).
type Meter struct {
	s0   rtmetrics.Snapshot
	peak peakRSS
}

// StartMeter starts measuring.
func StartMeter() *Meter {
	return &Meter{peak: startPeakRSS(), s0: rtmetrics.Read()}
}

// Stop ends the interval and returns its figures.
func (m *Meter) Stop() Stats {
	d := rtmetrics.Read().Sub(m.s0)
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	st := Stats{
		Elapsed:    d.Elapsed,
		GCCycles:   d.GCCycles,
		Pauses:     d.GCPauses.Total(),
		PauseP50:   sec(d.GCPauses.Quantile(0.50)),
		PauseP99:   sec(d.GCPauses.Quantile(0.99)),
		PauseMax:   sec(d.GCPauses.Max()),
		GCCPUShare: d.GCCPUShare(),
		ScanHeap:   d.End.ScanHeap,
		HeapLive:   d.End.HeapLive,
		HeapGoal:   d.End.HeapGoal,
		PeakRSS:    m.peak.read(),
		AllocBytes: d.AllocBytes,
	}
	if d.Elapsed > 0 {
		st.AllocRate = float64(d.AllocBytes) / d.Elapsed.Seconds()
	}
	return st
}

// RunConfig is one run of Run. The zero value churns the zero Shape (32
// MiB of pointer-free units, 256 MiB allocated) under the setting in
// force, on this process's scan path.
type RunConfig struct {
	// Shape is the heap to build and churn; its zero fields mean their
	// defaults (Shape).
	Shape Shape
	// Setting is the GC setting to run under, restored after; the zero
	// Setting means the setting in force (Setting.IsZero).
	Setting Setting
	// Scan is the scan path to run on; "" means CurrentScanPath(). Of the
	// others, AvailableScanPaths lists what this machine can run.
	Scan ScanPath
}

// RunResult is one Run: the heap's shape and real pointer density, and
// what the collector did while the heap churned.
type RunResult struct {
	Shape      Shape   // the shape run, defaults filled in
	Setting    Setting // the setting in force during the run
	LiveBytes  int64   // the live heap by construction
	Pointers   int64   // non-nil pointers in the live heap
	PtrsPerKiB float64 // Pointers per KiB of LiveBytes (ptrs/KiB)
	// Scan is the scan path of the process that ran it (CurrentScanPath
	// there).
	Scan ScanPath
	Stats
}

// String is one line: the shape, path and setting, then the collector's
// cycles, pauses, CPU share and scan work.
func (r RunResult) String() string {
	return fmt.Sprintf("%v/scan=%v %v: %d cycles in %v, pause p50 %v p99 %v, GC CPU %.1f%%, scan %d B/cycle, %.1f ptrs/KiB, peak RSS %d B",
		r.Shape, r.Scan, r.Setting, r.GCCycles, r.Elapsed.Round(time.Microsecond), r.PauseP50, r.PauseP99,
		100*r.GCCPUShare, r.ScanHeap, r.PtrsPerKiB, r.PeakRSS)
}

// Run builds the heap of cfg.Shape, collects once so every run starts from
// the same state, then churns Shape.Alloc bytes through it under
// cfg.Setting and reports runtime/metrics deltas over the churn.
//
// The current scan path runs in this process; ScanPathScalar on a vector
// machine runs in a child process started with GODEBUG=cpu.avx512bw=off
// (under the setting Run would have used here), which must report the
// scalar path. A path this machine cannot run is an error. ctx is checked
// as the heap churns and ends a child.
func Run(ctx context.Context, cfg RunConfig) (RunResult, error) {
	s, err := cfg.check()
	if err != nil {
		return RunResult{}, err
	}
	cur := CurrentScanPath()
	p := cfg.Scan
	if p == "" {
		p = cur
	}
	switch {
	case p != ScanPathVector && p != ScanPathScalar:
		return RunResult{}, fmt.Errorf("gc: RunConfig.Scan %q unknown: want %q or %q", p, ScanPathVector, ScanPathScalar)
	case p == cur:
		return runHere(ctx, s, cfg.Setting)
	case p == ScanPathScalar:
		set := cfg.Setting
		if set.IsZero() {
			set = Current()
		}
		return runScalar(ctx, RunConfig{Shape: s, Setting: set})
	}
	return RunResult{}, fmt.Errorf("gc: RunConfig.Scan %s is not available on this machine (it runs %s)", p, cur)
}

// check returns cfg's shape with its defaults, or the first error in
// cfg's shape or setting.
func (cfg RunConfig) check() (Shape, error) {
	s, err := cfg.Shape.withDefaults("RunConfig.Shape")
	if err != nil {
		return s, err
	}
	return s, cfg.Setting.validate("RunConfig.Setting")
}

// runStep is the churn between two looks at Run's ctx: whole units, and
// enough of them that the look costs nothing.
const runStep = 1 << 20

// runHere is Run in this process, for a checked shape, under set (in
// force for the run if it is not zero).
func runHere(ctx context.Context, s Shape, set Setting) (RunResult, error) {
	if err := ctx.Err(); err != nil {
		return RunResult{}, fmt.Errorf("gc: Run: %w", err)
	}
	if set.IsZero() {
		set = Current()
	} else {
		defer set.Apply()()
	}
	h := newHeap(s)
	defer h.Release()
	scan := CurrentScanPath() // probed once, before the meter starts
	runtime.GC()
	m := StartMeter()
	// Churn in steps so that a cancelled ctx ends a long run. Every step but
	// the last is whole units, so the units churned are those of one call.
	for n := s.Alloc; n > 0; n -= runStep {
		if err := ctx.Err(); err != nil {
			return RunResult{}, fmt.Errorf("gc: Run: %w", err)
		}
		h.Churn(min(n, runStep))
	}
	st := m.Stop()
	return RunResult{
		Shape:      s,
		Setting:    set,
		LiveBytes:  h.LiveBytes(),
		Pointers:   h.Pointers(),
		PtrsPerKiB: h.PtrsPerKiB(),
		Scan:       scan,
		Stats:      st,
	}, nil
}

// Off is the GOGC value that turns the proportional collector off (as
// GOGC=off does); with a MemoryLimit, the GC then runs only near the limit.
const Off = -1

// NoLimit is the MemoryLimit that means none (the runtime's default).
const NoLimit = math.MaxInt64

// Setting is the collector's two dials, as debug.SetGCPercent and
// debug.SetMemoryLimit (or the GOGC and GOMEMLIMIT variables) set them.
//
// The zero Setting is not a setting of its own (a MemoryLimit of 0 is not
// valid): it means the setting in force, whatever it is. RunConfig reads
// it so, Apply leaves the dials alone, and IsZero tells it apart. To ask
// for GOGC=0, give a MemoryLimit too (NoLimit for none).
type Setting struct {
	GOGC        int   // percent heap growth before the next cycle; Off turns it off
	MemoryLimit int64 // soft limit on the runtime's total memory in bytes; NoLimit for none
}

// Current returns the setting in force.
// It reads runtime/metrics rather than setting and restoring, which could
// race with another change or start a GC.
func Current() Setting {
	p := int(int64(rtmetrics.Uint64(rtmetrics.GOGC)))
	if p < 0 {
		p = Off
	}
	return Setting{GOGC: p, MemoryLimit: int64(rtmetrics.Uint64(rtmetrics.GOMemLimit))}
}

// IsZero reports whether s is the zero Setting, which means the setting
// in force.
func (s Setting) IsZero() bool { return s == Setting{} }

// String is "gogc=<percent or off>/gomemlimit=<bytes or none>", in the
// key=value form of benchmark names; for the zero Setting it is
// "gogc=current/gomemlimit=current".
func (s Setting) String() string {
	if s.IsZero() {
		return "gogc=current/gomemlimit=current"
	}
	g := "off"
	if s.GOGC >= 0 {
		g = fmt.Sprint(s.GOGC)
	}
	l := "none"
	if s.MemoryLimit != NoLimit {
		l = fmt.Sprint(s.MemoryLimit)
	}
	return "gogc=" + g + "/gomemlimit=" + l
}

// validate checks s, naming it field ("Setting", "RunConfig.Setting") in
// errors. The zero Setting is valid.
func (s Setting) validate(field string) error {
	switch {
	case s.IsZero():
		return nil
	case s.GOGC < Off:
		return fmt.Errorf("gc: %s.GOGC %d must be >= 0, or Off", field, s.GOGC)
	case s.MemoryLimit <= 0:
		return fmt.Errorf("gc: %s.MemoryLimit %d must be > 0 bytes, or NoLimit", field, s.MemoryLimit)
	}
	return nil
}

// Apply puts s in force for the whole process and returns a function that
// restores the setting Apply found. The zero Setting changes nothing (its
// restore does nothing either). Apply panics on an invalid setting (GOGC
// below Off, MemoryLimit not positive); Run returns an error instead. Not
// safe to overlap with another Apply: settings are process-wide.
func (s Setting) Apply() (restore func()) {
	if err := s.validate("Setting"); err != nil {
		panic(err)
	}
	if s.IsZero() {
		return func() {}
	}
	// Set the limit first: turning GOGC off before a limit is in place would
	// leave a window with no collector trigger at all.
	oldLimit := debug.SetMemoryLimit(s.MemoryLimit)
	oldGOGC := debug.SetGCPercent(s.GOGC)
	return func() {
		debug.SetGCPercent(oldGOGC)
		debug.SetMemoryLimit(oldLimit)
	}
}

// NamedSetting is a Setting with the value of the gogc= benchmark key it is
// reported under.
type NamedSetting struct {
	Name string
	Setting
}

// Settings lists the settings BenchmarkGCSetting compares for a live heap
// of live bytes: GOGC 50, 100 and 200 with no limit, and GOGC off with a
// memory limit of 4 x live + 16 MiB (a new slice each call).
func Settings(live int64) []NamedSetting {
	return []NamedSetting{
		{"50", Setting{GOGC: 50, MemoryLimit: NoLimit}},
		{"100", Setting{GOGC: 100, MemoryLimit: NoLimit}},
		{"200", Setting{GOGC: 200, MemoryLimit: NoLimit}},
		{"off", Setting{GOGC: Off, MemoryLimit: 4*live + 16<<20}},
	}
}
