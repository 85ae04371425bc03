// Package sampler records a process's memory and collector state as a time
// series: RSS and VSS from /proc/self/statm, heap live and goal, stacks,
// goroutines, GC cycles and the longest GC pause, one sample per interval,
// optionally written as CSV while it runs. It also measures its own cost:
// the CPU time of the OS thread it samples on (Series.CPU, Overhead).
//
// It lives in internal/ because two experiments use it: gc studies what
// sampling costs and how the heap moves under a workload, and wsconn traces
// a server's memory through the lifecycle of its connections. Experiment
// packages never import each other, so what they share sits here.
package sampler

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// Sample is the process's memory and collector state at one instant.
type Sample struct {
	Time       time.Time
	RSS        uint64 // resident set size; 0 where /proc is unavailable
	VSS        uint64 // virtual size; 0 where /proc is unavailable
	HeapLive   uint64 // bytes marked live by the last GC
	HeapGoal   uint64 // heap size at which the next GC starts
	Stacks     uint64 // bytes of goroutine stacks
	Goroutines uint64
	GCCycles   uint64 // completed GC cycles since the process started
	// LastPause is the longest GC stop-the-world pause since the previous
	// sample (an upper bound, from the runtime's pause histogram), or 0 when
	// there was none. The first sample has no previous one: 0.
	LastPause time.Duration
}

// Header is the CSV header a Sampler writes, one column per Sample
// field; elapsed_s is seconds since the sampler started.
var Header = []string{
	"elapsed_s", "rss_bytes", "vss_bytes", "heap_live_bytes", "heap_goal_bytes",
	"stack_bytes", "goroutines", "gc_cycles", "last_pause_ns",
}

// Series is what a Sampler recorded.
type Series struct {
	Interval time.Duration
	Samples  []Sample // in time order; the first taken at start, the last at Stop
	// Busy is the wall time the sampler spent taking and writing the
	// samples after the first (the ones inside Elapsed). It also counts any
	// time its thread waited for a CPU mid-sample, so on a loaded machine it
	// overstates the cost.
	Busy time.Duration
	// CPU is the CPU time (user + system) of the sampler's own OS thread
	// from the first sample to Stop: the samples after the first plus the
	// timer wakeups between them. 0 where it cannot be read (off Linux).
	CPU time.Duration
}

// Elapsed is the time from the first sample to the last.
func (s Series) Elapsed() time.Duration {
	if len(s.Samples) < 2 {
		return 0
	}
	return s.Samples[len(s.Samples)-1].Time.Sub(s.Samples[0].Time)
}

// Overhead is the sampler's share of the CPU the process could use over the
// series: CPU / (Elapsed x GOMAXPROCS), from 0 to 1, with Busy standing in
// for CPU where CPU is 0. The denominator is the one the runtime uses for
// GC CPU (/cpu/classes/total), so the two compare directly.
func (s Series) Overhead() float64 {
	e := s.Elapsed()
	if e <= 0 {
		return 0
	}
	used := s.CPU
	if used == 0 {
		used = s.Busy
	}
	return used.Seconds() / (e.Seconds() * float64(runtime.GOMAXPROCS(0)))
}

// PeakRSS is the largest RSS in the series.
func (s Series) PeakRSS() uint64 {
	var m uint64
	for _, x := range s.Samples {
		m = max(m, x.RSS)
	}
	return m
}

// Sampler records a Series beside a running workload, on its own goroutine.
// Start it with Start; Stop it exactly when the workload ends.
type Sampler struct {
	interval time.Duration
	w        *csv.Writer
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once

	// Owned by the sampling goroutine until done is closed.
	start   time.Time
	series  Series
	pauses  rtmetrics.Histogram
	errs    []error
	memErr  bool
	dropCSV bool
}

// Start takes a first sample now and then one every interval until
// Stop. If w is not nil, it writes Header and then one CSV row per
// sample to w as it goes (flushed each row, so a run cut short keeps what
// it had). A sample reads runtime/metrics (which does not stop the world)
// and, on Linux, /proc/self/statm.
func Start(interval time.Duration, w io.Writer) (*Sampler, error) {
	if interval <= 0 {
		return nil, fmt.Errorf("sampler: interval %v must be > 0", interval)
	}
	s := &Sampler{
		interval: interval,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		series:   Series{Interval: interval},
	}
	if w != nil {
		s.w = csv.NewWriter(w)
		s.w.Write(Header)
		s.w.Flush()
		if err := s.w.Error(); err != nil {
			return nil, fmt.Errorf("sampler: writing CSV header: %w", err)
		}
	}
	s.start = time.Now()
	s.take() // the first sample, before Start returns
	go s.run()
	return s, nil
}

func (s *Sampler) run() {
	defer close(s.done)
	// Own a thread so its CPU time is the sampler's alone. When the
	// goroutine waits for the ticker, the thread sleeps and costs nothing.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0, ok := threadCPU()
	defer func() {
		if cpu1, ok1 := threadCPU(); ok && ok1 {
			s.series.CPU = cpu1 - cpu0
		}
	}()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			s.take() // the last sample, at Stop
			return
		case <-t.C:
			s.take()
		}
	}
}

// take records one sample and writes its row.
func (s *Sampler) take() {
	t0 := time.Now()
	m := rtmetrics.Read()
	x := Sample{
		Time:       m.Time,
		HeapLive:   m.HeapLive,
		HeapGoal:   m.HeapGoal,
		Stacks:     m.StackBytes,
		Goroutines: m.Goroutines,
		GCCycles:   m.GCCycles,
	}
	// The first sample only sets the baseline: a pause between Start and
	// its metrics read would otherwise count as one before the run.
	if len(s.series.Samples) > 0 {
		if d := m.GCPauses.Sub(s.pauses); d.Total() > 0 {
			x.LastPause = time.Duration(d.Max() * float64(time.Second))
		}
	}
	s.pauses = m.GCPauses
	if rss, vss, err := readStatm(); err == nil {
		x.RSS, x.VSS = rss, vss
	} else if !s.memErr { // report once, not once per sample
		s.memErr = true
		s.errs = append(s.errs, fmt.Errorf("sampler: reading RSS: %w", err))
	}
	s.series.Samples = append(s.series.Samples, x)
	if s.w != nil && !s.dropCSV {
		s.w.Write(Row(x, x.Time.Sub(s.start)))
		s.w.Flush()
		if err := s.w.Error(); err != nil {
			s.dropCSV = true // one write error is enough; keep sampling
			s.errs = append(s.errs, fmt.Errorf("sampler: writing CSV: %w", err))
		}
	}
	if len(s.series.Samples) > 1 {
		s.series.Busy += time.Since(t0)
	}
}

// Row is x as a CSV row under Header, elapsed being its time since the
// series began; a caller that adds its own columns (a phase) reuses it.
func Row(x Sample, elapsed time.Duration) []string {
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	return []string{
		strconv.FormatFloat(elapsed.Seconds(), 'f', 6, 64),
		u(x.RSS), u(x.VSS), u(x.HeapLive), u(x.HeapGoal), u(x.Stacks),
		u(x.Goroutines), u(x.GCCycles), strconv.FormatInt(int64(x.LastPause), 10),
	}
}

// Stop takes a last sample, ends the sampler's goroutine and returns the
// series. The error joins what went wrong while sampling (RSS unreadable,
// a CSV write failing); the series is complete even then, with RSS and VSS
// 0 if they could not be read. Calling Stop again returns the same.
func (s *Sampler) Stop() (Series, error) {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return s.series, errors.Join(s.errs...)
}

// pageSize converts /proc/self/statm's pages to bytes.
var pageSize = uint64(os.Getpagesize())

// readStatm returns the RSS and VSS of this process from /proc/self/statm.
// internal/procmem reads /proc/self/status and smaps_rollup, which gives PSS
// too but costs some 200us a call (the kernel walks every mapping for the
// rollup): too much to pay every 10ms. statm is one line and costs a few us.
func readStatm() (rss, vss uint64, err error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("/proc/self/statm: %d fields, want at least 2", len(f))
	}
	size, err1 := strconv.ParseUint(f[0], 10, 64)
	res, err2 := strconv.ParseUint(f[1], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("/proc/self/statm: %w", err)
	}
	return res * pageSize, size * pageSize, nil
}
