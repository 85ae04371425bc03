//go:build !linux

package main

import (
	"errors"
	"fmt"
	"runtime"
)

// A perfEvent is a hardware counter, which rtlab reads on Linux only.
type perfEvent struct{ name string }

var (
	perfL1dMisses  = perfEvent{"L1d read misses"}
	perfDTLBMisses = perfEvent{"dTLB read misses"}
	perfTaskClock  = perfEvent{"task clock"}
)

var errPerf = errors.New("unsupported here")

// countEvents: rtlab reads counters through Linux's perf_event_open only.
func countEvents(f func() error, evs ...perfEvent) ([]uint64, error) {
	return nil, fmt.Errorf("%w: perf_event_open is Linux's, this is %s", errPerf, runtime.GOOS)
}
