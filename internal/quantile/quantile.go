// Package quantile holds the one quantile definition rtlab reports by:
// nearest rank, the q-quantile of n values being the one of rank
// ceil(q·n) in increasing order.
//
// It exists so that every experiment reports p50, p99 and max the same way,
// whether it keeps every value (timer delays in sched, look-up times in gc:
// Sorted) or counts them in a histogram (wsconn/load's latency histogram
// walks its buckets to Rank).
package quantile

import (
	"fmt"
	"math"
	"time"
)

// Rank returns the 1-based nearest rank of the q-quantile (0 <= q <= 1) of
// n values: ceil(q·n), at least 1 and at most n. Rank(0, n) is 1 (the
// minimum), Rank(1, n) is n (the maximum); for n == 0 it returns 0. A q
// outside [0, 1] panics.
func Rank(q float64, n uint64) uint64 {
	if q < 0 || q > 1 || math.IsNaN(q) {
		panic(fmt.Sprintf("quantile: q %v outside [0, 1]", q))
	}
	if n == 0 {
		return 0
	}
	return min(max(uint64(math.Ceil(q*float64(n))), 1), n)
}

// Sorted returns the nearest-rank q-quantile (0 <= q <= 1) of ds, which
// must be sorted in increasing order: the smallest value with at least
// ceil(q*len(ds)) values at or below it. Sorted(ds, 0) is the minimum,
// Sorted(ds, 1) the maximum, and an empty ds gives 0.
func Sorted(ds []time.Duration, q float64) time.Duration {
	r := Rank(q, uint64(len(ds)))
	if r == 0 {
		return 0
	}
	return ds[r-1]
}
