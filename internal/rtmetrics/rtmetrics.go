// Package rtmetrics takes snapshots of the runtime's own counters through
// runtime/metrics and subtracts them.
//
// It exists so that every experiment reads GC cycles, pauses, heap and CPU
// figures the same way, without stopping the world: runtime/metrics.Read does
// not, unlike runtime.ReadMemStats, so taking a snapshot does not disturb the
// workload being measured.
package rtmetrics

import (
	"fmt"
	"math"
	"runtime/metrics"
	"time"

	"github.com/rtlab/rtlab/internal/quantile"
)

// Names of the runtime/metrics a Snapshot reads.
const (
	GCCycles     = "/gc/cycles/total:gc-cycles"
	GCPauses     = "/sched/pauses/total/gc:seconds"
	HeapLive     = "/gc/heap/live:bytes"
	HeapObjects  = "/gc/heap/objects:objects"
	HeapGoal     = "/gc/heap/goal:bytes"
	HeapAllocs   = "/gc/heap/allocs:bytes"
	HeapAllocObj = "/gc/heap/allocs:objects"
	StackBytes   = "/memory/classes/heap/stacks:bytes"
	ScanStack    = "/gc/scan/stack:bytes"
	ScanHeap     = "/gc/scan/heap:bytes"
	GCCPU        = "/cpu/classes/gc/total:cpu-seconds"
	TotalCPU     = "/cpu/classes/total:cpu-seconds"
	Goroutines   = "/sched/goroutines:goroutines"
	TotalMemory  = "/memory/classes/total:bytes"
	GOGC         = "/gc/gogc:percent"     // -1 (as uint64) when off
	GOMemLimit   = "/gc/gomemlimit:bytes" // math.MaxInt64 when none
)

var names = []string{
	GCCycles, GCPauses, HeapLive, HeapObjects, HeapGoal, HeapAllocs,
	HeapAllocObj, StackBytes, ScanStack, ScanHeap, GCCPU, TotalCPU,
	Goroutines, TotalMemory,
}

// Snapshot is the runtime's counters at one instant. Cumulative fields
// (cycles, pauses, allocations, CPU) only grow; Sub turns two snapshots into
// the figures of the interval between them.
type Snapshot struct {
	Time         time.Time
	GCCycles     uint64
	GCPauses     Histogram // stop-the-world pauses for GC, in seconds
	HeapLive     uint64    // bytes marked live by the last GC
	HeapObjects  uint64    // objects in the heap, live or not yet swept
	HeapGoal     uint64    // heap size at which the next GC starts
	AllocBytes   uint64    // cumulative bytes allocated on the heap
	AllocObjects uint64    // cumulative heap objects allocated
	StackBytes   uint64    // memory used by goroutine stacks
	ScanStack    uint64    // stack bytes the last GC scanned
	ScanHeap     uint64    // heap bytes the last GC could scan (pointerful)
	GCCPUSeconds float64   // cumulative CPU time spent on GC (estimate)
	CPUSeconds   float64   // cumulative CPU time available to the program (estimate)
	Goroutines   uint64
	TotalMemory  uint64 // all memory the runtime has mapped
}

// Read takes a snapshot. It allocates a little and does not stop the world.
func Read() Snapshot {
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	metrics.Read(samples)
	s := Snapshot{Time: time.Now()}
	for _, sm := range samples {
		switch sm.Name {
		case GCCycles:
			s.GCCycles = u64(sm)
		case GCPauses:
			s.GCPauses = histogram(sm)
		case HeapLive:
			s.HeapLive = u64(sm)
		case HeapObjects:
			s.HeapObjects = u64(sm)
		case HeapGoal:
			s.HeapGoal = u64(sm)
		case HeapAllocs:
			s.AllocBytes = u64(sm)
		case HeapAllocObj:
			s.AllocObjects = u64(sm)
		case StackBytes:
			s.StackBytes = u64(sm)
		case ScanStack:
			s.ScanStack = u64(sm)
		case ScanHeap:
			s.ScanHeap = u64(sm)
		case GCCPU:
			s.GCCPUSeconds = f64(sm)
		case TotalCPU:
			s.CPUSeconds = f64(sm)
		case Goroutines:
			s.Goroutines = u64(sm)
		case TotalMemory:
			s.TotalMemory = u64(sm)
		}
	}
	return s
}

// Uint64 reads one uint64 metric by name, for the metrics a Snapshot does
// not carry. It panics on an unknown name or a different kind, which is a
// bug in the caller.
func Uint64(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return u64(s[0])
}

// ReadHistogram reads one histogram metric by name (see Uint64).
func ReadHistogram(name string) Histogram {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return histogram(s[0])
}

func u64(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		panic(fmt.Sprintf("rtmetrics: %s is %v, not uint64 (unsupported by this Go?)", s.Name, s.Value.Kind()))
	}
	return s.Value.Uint64()
}

func f64(s metrics.Sample) float64 {
	if s.Value.Kind() != metrics.KindFloat64 {
		panic(fmt.Sprintf("rtmetrics: %s is %v, not float64 (unsupported by this Go?)", s.Name, s.Value.Kind()))
	}
	return s.Value.Float64()
}

func histogram(s metrics.Sample) Histogram {
	if s.Value.Kind() != metrics.KindFloat64Histogram {
		panic(fmt.Sprintf("rtmetrics: %s is %v, not a histogram (unsupported by this Go?)", s.Name, s.Value.Kind()))
	}
	h := s.Value.Float64Histogram()
	// The runtime may reuse its buffers; copy so snapshots stay independent.
	return Histogram{
		Counts:  append([]uint64(nil), h.Counts...),
		Buckets: append([]float64(nil), h.Buckets...),
	}
}

// Delta is what happened between two snapshots.
type Delta struct {
	Elapsed      time.Duration
	GCCycles     uint64
	GCPauses     Histogram // pauses that happened in the interval
	AllocBytes   uint64
	AllocObjects uint64
	GCCPUSeconds float64
	CPUSeconds   float64
	// End is the later snapshot, for the point-in-time figures (heap live,
	// goal, stacks, goroutines).
	End Snapshot
}

// Sub returns the interval from earlier s0 to later s.
func (s Snapshot) Sub(s0 Snapshot) Delta {
	return Delta{
		Elapsed:      s.Time.Sub(s0.Time),
		GCCycles:     s.GCCycles - s0.GCCycles,
		GCPauses:     s.GCPauses.Sub(s0.GCPauses),
		AllocBytes:   s.AllocBytes - s0.AllocBytes,
		AllocObjects: s.AllocObjects - s0.AllocObjects,
		GCCPUSeconds: s.GCCPUSeconds - s0.GCCPUSeconds,
		CPUSeconds:   s.CPUSeconds - s0.CPUSeconds,
		End:          s,
	}
}

// GCCPUShare is the fraction of the interval's CPU time spent on GC, from 0
// to 1, or 0 when no CPU time was accounted. The runtime updates its CPU
// estimates at each GC, so a short interval without a GC reads as 0.
func (d Delta) GCCPUShare() float64 {
	if d.CPUSeconds <= 0 {
		return 0
	}
	return d.GCCPUSeconds / d.CPUSeconds
}

// Histogram is a runtime/metrics Float64Histogram: Counts[i] values fell in
// [Buckets[i], Buckets[i+1]). Buckets has one more element than Counts; its
// ends may be infinite.
type Histogram struct {
	Counts  []uint64
	Buckets []float64
}

// Sub returns h minus an earlier h0 of the same metric. A zero h0 (no counts)
// returns a copy of h. It panics if the bucket layouts differ.
func (h Histogram) Sub(h0 Histogram) Histogram {
	out := Histogram{Counts: append([]uint64(nil), h.Counts...), Buckets: h.Buckets}
	if len(h0.Counts) == 0 {
		return out
	}
	if len(h0.Counts) != len(h.Counts) {
		panic("rtmetrics: subtracting histograms with different buckets")
	}
	for i, c := range h0.Counts {
		out.Counts[i] -= c
	}
	return out
}

// Total is the number of values in h.
func (h Histogram) Total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile returns the q-quantile (0 <= q <= 1) of h: the upper boundary of
// the first bucket by which at least ceil(q*Total) values have been counted
// (quantile.Rank).
// Reporting the upper boundary makes the figure an upper bound, off by at
// most one bucket's width; where that boundary is +Inf, the lower one is
// used. An empty histogram has quantile 0. Quantile(1) is the maximum.
func (h Histogram) Quantile(q float64) float64 {
	rank := quantile.Rank(q, h.Total()) // panics for q outside [0, 1]
	if rank == 0 {
		return 0
	}
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			return h.bound(i)
		}
	}
	return h.bound(len(h.Counts) - 1) // unreachable: seen == total >= rank
}

// Max is the upper boundary of the highest non-empty bucket (see Quantile).
func (h Histogram) Max() float64 { return h.Quantile(1) }

func (h Histogram) bound(i int) float64 {
	if hi := h.Buckets[i+1]; !math.IsInf(hi, 0) {
		return hi
	}
	return h.Buckets[i]
}
