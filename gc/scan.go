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
	// ScanPathVector is Green Tea's packed AVX-512 scan of a whole span,
	// taken on amd64 CPUs with AVX512VL, BW, DQ, VBMI, BITALG and GFNI for
	// spans with at least an eighth of their objects marked at once.
	ScanPathVector ScanPath = scanpath.Vector
	// ScanPathScalar is the object-by-object scan: every other CPU, every
	// sparse span, and the classic collector.
	ScanPathScalar ScanPath = scanpath.Scalar
)

// ScanPaths lists every ScanPath, vector first (a new slice each call).
func ScanPaths() []ScanPath { return []ScanPath{ScanPathVector, ScanPathScalar} }

// String is "vector" or "scalar".
func (p ScanPath) String() string { return string(p) }

// CurrentScanPath is the path this process takes for dense spans, measured
// once by building a small heap and reading how the collector counted it
// (internal/scanpath.Probe).
func CurrentScanPath() ScanPath { return ScanPath(scanpath.Current()) }

// AvailableScanPaths lists the paths Run can run on this machine: the
// current one and, where that is vector, scalar too (in a child process
// with GODEBUG=cpu.avx512bw=off). A machine on the scalar path cannot run
// the vector one.
func AvailableScanPaths() []ScanPath {
	if CurrentScanPath() == ScanPathVector {
		return []ScanPath{ScanPathVector, ScanPathScalar}
	}
	return []ScanPath{ScanPathScalar}
}

// scalarOff is the GODEBUG setting that turns the vector path off: the
// packed scan needs AVX512BW.
const scalarOff = "cpu.avx512bw=off"

// scalarChild runs a RunConfig in a child process, on the child's own
// scan path (cfg.Scan is ignored).
var scalarChild = child.RegisterJSON("gc.run.scalar", func(cfg RunConfig) (RunResult, error) {
	s, err := cfg.check()
	if err != nil {
		return RunResult{}, err
	}
	return runHere(context.Background(), s, cfg.Setting)
})

// runScalar runs cfg in a child with the vector path turned off, and
// checks that the child took the scalar path.
func runScalar(ctx context.Context, cfg RunConfig) (RunResult, error) {
	rep, err := scalarChild.Run(ctx, cfg,
		child.Options{Env: []string{child.GODEBUG(scalarOff)}, Timeout: 30 * time.Minute})
	if err != nil {
		return RunResult{}, fmt.Errorf("gc: scan path %s: %w", ScanPathScalar, err)
	}
	if rep.Scan != ScanPathScalar {
		return RunResult{}, fmt.Errorf("gc: a child with GODEBUG=%s reported the %s scan path, not scalar", scalarOff, rep.Scan)
	}
	return rep, nil
}
