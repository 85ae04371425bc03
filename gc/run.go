package gc

import (
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

// Report is one Run: the heap's shape and real pointer density, and what
// the collector did while the heap churned.
type Report struct {
	Shape      Shape
	Setting    Setting // the setting in force during the run
	LiveBytes  int64   // the live heap by construction
	Pointers   int64   // non-nil pointers in the live heap
	PtrsPerKiB float64 // Pointers per KiB of LiveBytes
	// Scan is the scan path of the process that ran it (CurrentScanPath).
	Scan ScanPath
	Stats
}

// Run builds the heap of shape s, collects once so every run starts from
// the same state, then churns Shape.Alloc bytes through it and reports, with
// the GC settings in force when it is called.
func Run(s Shape) (Report, error) {
	return run(s, Current())
}

// RunWith is Run under GC setting set, restoring the previous setting after.
func RunWith(s Shape, set Setting) (Report, error) {
	if err := set.validate(); err != nil {
		return Report{}, err
	}
	if err := s.validate(); err != nil {
		return Report{}, err
	}
	restore := set.Apply()
	defer restore()
	return run(s, set)
}

func run(s Shape, set Setting) (Report, error) {
	h, err := NewHeap(s)
	if err != nil {
		return Report{}, err
	}
	defer h.Release()
	scan := CurrentScanPath() // probed once, before the meter starts
	runtime.GC()
	m := StartMeter()
	h.Churn(s.alloc())
	st := m.Stop()
	return Report{
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

// String is "gogc=<percent or off>/gomemlimit=<bytes or none>", in the
// key=value form of benchmark names.
func (s Setting) String() string {
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

func (s Setting) validate() error {
	if s.GOGC < Off {
		return fmt.Errorf("gc: Setting.GOGC %d must be >= 0, or Off", s.GOGC)
	}
	if s.MemoryLimit <= 0 {
		return fmt.Errorf("gc: Setting.MemoryLimit %d must be > 0 bytes, or NoLimit", s.MemoryLimit)
	}
	return nil
}

// Apply puts s in force for the whole process and returns a function that
// restores the setting Apply found. It panics on an invalid setting (GOGC
// below Off, MemoryLimit not positive); RunWith returns an error instead.
// Not safe to overlap with another Apply: settings are process-wide.
func (s Setting) Apply() (restore func()) {
	if err := s.validate(); err != nil {
		panic(err)
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
