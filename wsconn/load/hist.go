package load

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/rtlab/rtlab/internal/quantile"
)

// A latency histogram keeps counts in log-linear buckets instead of every
// value: exact below 64 ns, then 32 buckets per power of two, so a quantile
// is within about 3% of the true value and the histogram takes the same
// 15 KiB whether it holds ten values or ten billion.
const (
	histExact   = 64 // values below this have a bucket each
	histSubBits = 5  // 1<<histSubBits buckets per power of two above it
	histSub     = 1 << histSubBits
	histBuckets = histExact + (64-6)*histSub
)

// LatencyHist counts durations in log-linear buckets (relative error at most
// 1/32). Record is safe for concurrent use and does not allocate; the zero
// value is empty and ready to use. It encodes to JSON sparsely, so a child
// process can send its histogram to the parent, which merges them with Add.
type LatencyHist struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

func histIndex(v uint64) int {
	if v < histExact {
		return int(v)
	}
	exp := bits.Len64(v) - 1 // >= 6
	sub := (v >> (exp - histSubBits)) & (histSub - 1)
	return histExact + (exp-6)*histSub + int(sub)
}

// histValue is the middle of bucket i, the value a quantile in it reports.
func histValue(i int) uint64 {
	if i < histExact {
		return uint64(i)
	}
	exp := (i-histExact)/histSub + 6
	sub := uint64((i - histExact) % histSub)
	lo := (1 << exp) | sub<<(exp-histSubBits)
	return lo + (1<<(exp-histSubBits))/2
}

// Record adds one duration; negative durations count as 0.
func (h *LatencyHist) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count is the number of durations recorded.
func (h *LatencyHist) Count() uint64 { return h.n.Load() }

// Max is the largest duration recorded, exactly.
func (h *LatencyHist) Max() time.Duration { return time.Duration(h.max.Load()) }

// Mean is the average duration, or 0 for an empty histogram.
func (h *LatencyHist) Mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile returns the q-quantile (0 <= q <= 1; 0.99 for p99) by nearest
// rank, ceil(q·n) as internal/quantile defines it, within the bucket
// precision and never above Max. It is 0 for an empty histogram.
func (h *LatencyHist) Quantile(q float64) time.Duration {
	rank := quantile.Rank(q, h.n.Load())
	if rank == 0 {
		return 0
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max.Load()))
		}
	}
	return h.Max()
}

// Add merges the counts of o into h.
func (h *LatencyHist) Add(o *LatencyHist) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	h.sum.Add(o.sum.Load())
	for m := o.max.Load(); ; {
		cur := h.max.Load()
		if m <= cur || h.max.CompareAndSwap(cur, m) {
			break
		}
	}
}

// histJSON is the wire form: bucket index and count pairs of the non-empty
// buckets only.
type histJSON struct {
	N       uint64      `json:"n"`
	Sum     uint64      `json:"sum"`
	Max     uint64      `json:"max"`
	Buckets [][2]uint64 `json:"buckets"`
}

// MarshalJSON encodes the non-empty buckets.
func (h *LatencyHist) MarshalJSON() ([]byte, error) {
	j := histJSON{N: h.n.Load(), Sum: h.sum.Load(), Max: h.max.Load(), Buckets: [][2]uint64{}}
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			j.Buckets = append(j.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON replaces h's counts with the encoded ones.
func (h *LatencyHist) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("wsconn/load: latency histogram: %w", err)
	}
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	for _, bc := range j.Buckets {
		if bc[0] >= histBuckets {
			return fmt.Errorf("wsconn/load: latency histogram: bucket %d out of range", bc[0])
		}
		h.counts[bc[0]].Store(bc[1])
	}
	h.n.Store(j.N)
	h.sum.Store(j.Sum)
	h.max.Store(j.Max)
	return nil
}
