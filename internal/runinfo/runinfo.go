// Package runinfo produces the configuration lines that open a results file.
//
// Benchmark output carries its context in "key: value" lines (benchfmt calls
// them configuration), so that a file saved today still says which Go, which
// GC settings and which collector produced it, and benchstat can group or
// separate results by them.
package runinfo

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/rtlab/rtlab/internal/rtmetrics"
	"github.com/rtlab/rtlab/internal/scanpath"
)

// Line is one configuration key and value.
type Line struct{ Key, Value string }

// String is the line as benchfmt reads a configuration line: "key: value".
func (l Line) String() string { return l.Key + ": " + l.Value }

// Lines returns the configuration of this process: runtime, go, gogc,
// gomemlimit, gc (the collector that ran), gcscan (the way it scans spans
// of small objects, vector or scalar, as measured by internal/scanpath)
// and, when set at build time, goexperiment. Values are the effective
// settings, read from the runtime, not the environment.
func Lines() []Line {
	lines := []Line{
		{"runtime", "go"},
		{"go", runtime.Version()},
		{"gogc", GOGC()},
		{"gomemlimit", GOMemLimit()},
	}
	exp := Experiment()
	if exp != "" {
		lines = append(lines, Line{"goexperiment", exp})
	}
	return append(lines, Line{"gc", Collector(exp)}, Line{"gcscan", scanpath.Current()})
}

// GOGC is the effective GC percent, or "off".
func GOGC() string {
	// Read, not set-and-restore through debug.SetGCPercent: that would race
	// with a concurrent change and could start a GC. The runtime reports
	// off as -1 stored in the uint64.
	if p := int64(rtmetrics.Uint64(rtmetrics.GOGC)); p >= 0 {
		return fmt.Sprint(p)
	}
	return "off"
}

// GOMemLimit is the effective soft memory limit in bytes, or "none".
func GOMemLimit() string {
	l := rtmetrics.Uint64(rtmetrics.GOMemLimit)
	if l == math.MaxInt64 {
		return "none"
	}
	return fmt.Sprint(l)
}

// Experiment is the GOEXPERIMENT the binary was built with, or "".
func Experiment() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "GOEXPERIMENT" {
			return s.Value
		}
	}
	return ""
}

// Collector names the garbage collector a binary built with experiment exp
// runs: "greentea" (the default since Go 1.26) or "classic" when
// nogreenteagc is set.
func Collector(exp string) string {
	for _, e := range strings.Split(exp, ",") {
		switch strings.TrimSpace(e) {
		case "nogreenteagc":
			return "classic"
		}
	}
	return "greentea"
}
