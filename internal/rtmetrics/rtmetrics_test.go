package rtmetrics

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuantile(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		h    Histogram
		q    float64
		want float64
	}{
		{"empty", Histogram{Counts: []uint64{0, 0}, Buckets: []float64{0, 1, 2}}, 0.5, 0},
		{"single bucket", Histogram{Counts: []uint64{0, 5, 0}, Buckets: []float64{0, 1, 2, 3}}, 0.5, 2},
		{"median of 1..4 buckets", Histogram{Counts: []uint64{1, 1, 1, 1}, Buckets: []float64{0, 1, 2, 3, 4}}, 0.5, 2},
		{"p50 just past half", Histogram{Counts: []uint64{1, 1, 1, 1}, Buckets: []float64{0, 1, 2, 3, 4}}, 0.51, 3},
		{"p99 of 100 with outlier", Histogram{Counts: []uint64{98, 1, 1}, Buckets: []float64{0, 1, 10, 100}}, 0.99, 10},
		{"max", Histogram{Counts: []uint64{98, 1, 1}, Buckets: []float64{0, 1, 10, 100}}, 1, 100},
		{"min", Histogram{Counts: []uint64{0, 3, 1}, Buckets: []float64{0, 1, 10, 100}}, 0, 10},
		{"infinite top bucket uses lower bound", Histogram{Counts: []uint64{1, 1}, Buckets: []float64{0, 5, inf}}, 1, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.h.Quantile(tc.q))
		})
	}
	assert.Panics(t, func() { Histogram{}.Quantile(1.5) })
}

func TestHistogramSub(t *testing.T) {
	b := []float64{0, 1, 2, 3}
	h0 := Histogram{Counts: []uint64{1, 2, 3}, Buckets: b}
	h1 := Histogram{Counts: []uint64{1, 5, 4}, Buckets: b}
	d := h1.Sub(h0)
	assert.Equal(t, []uint64{0, 3, 1}, d.Counts)
	assert.Equal(t, uint64(4), d.Total())
	assert.Equal(t, []uint64{1, 2, 3}, h0.Counts, "Sub must not modify its operands")
	assert.Equal(t, h1.Counts, h1.Sub(Histogram{}).Counts)
	assert.Panics(t, func() { h1.Sub(Histogram{Counts: []uint64{1}, Buckets: []float64{0, 1}}) })
}

var sink []*[64]byte

func TestSnapshotDeltaSeesGC(t *testing.T) {
	// A GC already marking at s0 had its first pause before it: finish it
	// first, so that every cycle counted has both pauses in the delta.
	runtime.GC()
	s0 := Read()
	for range 1000 {
		sink = append(sink, new([64]byte))
	}
	runtime.GC()
	runtime.GC()
	d := Read().Sub(s0)
	sink = nil
	assert.GreaterOrEqual(t, d.GCCycles, uint64(2))
	assert.GreaterOrEqual(t, d.AllocObjects, uint64(1000))
	assert.GreaterOrEqual(t, d.AllocBytes, uint64(64*1000))
	// Each GC cycle stops the world twice (sweep termination, mark termination).
	assert.GreaterOrEqual(t, d.GCPauses.Total(), 2*d.GCCycles)
	assert.Greater(t, d.GCPauses.Max(), 0.0)
	assert.GreaterOrEqual(t, d.GCPauses.Max(), d.GCPauses.Quantile(0.5))
	assert.Positive(t, d.Elapsed)
	assert.NotZero(t, d.End.Goroutines)
	assert.NotZero(t, d.End.StackBytes)
	share := d.GCCPUShare()
	assert.True(t, share >= 0 && share <= 1, "share %v", share)
}

func TestReadOne(t *testing.T) {
	require.NotZero(t, Uint64(Goroutines))
	h := ReadHistogram(GCPauses)
	require.Len(t, h.Buckets, len(h.Counts)+1)
	assert.Panics(t, func() { Uint64(GCPauses) })
}
