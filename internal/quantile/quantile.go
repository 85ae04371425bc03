// Package quantile computes nearest-rank quantiles of measured durations.
//
// It exists so that every experiment that records individual latencies
// (timer delays in sched, look-up times in gc) reports p50, p99 and max by
// the same definition. Experiments that record too many values to keep use
// a histogram instead (rtmetrics.Histogram, wsconn's latency histogram).
package quantile

import (
	"fmt"
	"math"
	"time"
)

// Sorted returns the nearest-rank q-quantile (0 <= q <= 1) of ds, which
// must be sorted in increasing order: the smallest value with at least
// ceil(q*len(ds)) values at or below it. Sorted(ds, 0) is the minimum,
// Sorted(ds, 1) the maximum, and an empty ds gives 0.
func Sorted(ds []time.Duration, q float64) time.Duration {
	if q < 0 || q > 1 || math.IsNaN(q) {
		panic(fmt.Sprintf("quantile: q %v outside [0, 1]", q))
	}
	if len(ds) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
