package gc

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/rtlab/rtlab/internal/sampler"
)

// The Sampler lives in internal/sampler because wsconn/load's lifecycle trace
// uses it too; gc re-exports it, so that a program outside this module can
// sample its own workload, and measures what it costs (BenchmarkGCSampler).

// Sampler records a Series beside a running workload, on its own goroutine:
// a first sample at StartSampler, one per interval, a last one at Stop.
// Each sample reads runtime/metrics (which does not stop the world) and, on
// Linux, /proc/self/statm; the sampling goroutine is locked to its own
// thread so that the thread's CPU time (Series.CPU) is the sampler's cost.
type Sampler = sampler.Sampler

// Series is what a Sampler recorded: its Samples in time order, the CPU
// time of the sampler's thread (CPU) and the wall time inside samples
// (Busy), from which Overhead derives.
type Series = sampler.Series

// Sample is the process's memory and collector state at one instant: time,
// RSS, VSS, heap live, heap goal, stacks, goroutines, GC cycles and the
// longest GC pause since the previous sample.
type Sample = sampler.Sample

// SampleHeader is the header of the CSV a Sampler writes, one column per
// Sample field. It is a copy: changing it does not change what a Sampler
// writes.
var SampleHeader = slices.Clone(sampler.Header)

// StartSampler takes a first sample now and then one every interval until
// Stop, writing each as a CSV row to w (after SampleHeader) unless w is nil.
func StartSampler(interval time.Duration, w io.Writer) (*Sampler, error) {
	s, err := sampler.Start(interval, w)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	return s, nil
}
