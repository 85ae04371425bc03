package gc

import (
	"context"
	"fmt"
	"time"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/rtlab/rtlab/internal/scanpath"
)

// ScanPath is the way the collector scans a span of small objects. Which
// one runs depends on the CPU, on GODEBUG and on the heap: see the package
// doc, "Two scan paths".
type ScanPath string

// The scan paths, as the scan= key of BenchmarkGCShape and the gcscan
// configuration line name them.
const (
	// ScanVector is Green Tea's packed AVX-512 scan of a whole span, taken
	// on amd64 CPUs with AVX512VL, BW, DQ, VBMI, BITALG and GFNI for spans
	// with at least an eighth of their objects marked at once.
	ScanVector ScanPath = scanpath.Vector
	// ScanScalar is the object-by-object scan: every other CPU, every
	// sparse span, and the classic collector.
	ScanScalar ScanPath = scanpath.Scalar
)

// ScanPaths lists every ScanPath, vector first (a new slice each call).
func ScanPaths() []ScanPath { return []ScanPath{ScanVector, ScanScalar} }

// String is "vector" or "scalar".
func (p ScanPath) String() string { return string(p) }

// CurrentScanPath is the path this process takes for dense spans, measured
// once by building a small heap and reading how the collector counted it
// (internal/scanpath.Probe).
func CurrentScanPath() ScanPath { return ScanPath(scanpath.Current()) }

// AvailableScanPaths lists the paths RunScan can run on this machine: the
// current one and, where that is vector, scalar too (in a child process
// with GODEBUG=cpu.avx512bw=off). A machine on the scalar path cannot run
// the vector one.
func AvailableScanPaths() []ScanPath {
	if CurrentScanPath() == ScanVector {
		return []ScanPath{ScanVector, ScanScalar}
	}
	return []ScanPath{ScanScalar}
}

// scalarOff is the GODEBUG setting that turns the vector path off: the
// packed scan needs AVX512BW.
const scalarOff = "cpu.avx512bw=off"

type scanRun struct {
	Shape   Shape
	Setting Setting
}

var scalarChild = child.RegisterJSON("gc.run.scalar", func(c scanRun) (Report, error) {
	return RunWith(c.Shape, c.Setting)
})

// RunScan is Run on scan path p under the GC setting in force. The current
// path runs in this process; ScanScalar on a vector machine runs in a child
// process started with GODEBUG=cpu.avx512bw=off, which must report the
// scalar path. A path this machine cannot run is an error.
func RunScan(ctx context.Context, s Shape, p ScanPath) (Report, error) {
	if err := s.validate(); err != nil {
		return Report{}, err
	}
	cur := CurrentScanPath()
	switch {
	case p == cur:
		return Run(s)
	case p == ScanScalar && cur == ScanVector:
		rep, err := scalarChild.Run(ctx, scanRun{Shape: s, Setting: Current()},
			child.Options{Env: []string{child.GODEBUG(scalarOff)}, Timeout: 30 * time.Minute})
		if err != nil {
			return Report{}, fmt.Errorf("gc: scan path %s: %w", p, err)
		}
		if rep.Scan != ScanScalar {
			return Report{}, fmt.Errorf("gc: a child with GODEBUG=%s reported the %s scan path, not scalar", scalarOff, rep.Scan)
		}
		return rep, nil
	case p != ScanVector && p != ScanScalar:
		return Report{}, fmt.Errorf("gc: scan path %q unknown: want %q or %q", p, ScanVector, ScanScalar)
	}
	return Report{}, fmt.Errorf("gc: scan path %s is not available on this machine (it runs %s)", p, cur)
}
