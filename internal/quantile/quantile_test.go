package quantile

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSorted(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	tests := []struct {
		name string
		ds   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", []time.Duration{7}, 0.99, 7},
		{"min", hundred, 0, 1},
		{"p50 of 1..100", hundred, 0.5, 50},
		{"p99 of 1..100", hundred, 0.99, 99},
		{"max", hundred, 1, 100},
		{"p50 of four", []time.Duration{1, 2, 3, 4}, 0.5, 2},
		{"just past half of four", []time.Duration{1, 2, 3, 4}, 0.51, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Sorted(tc.ds, tc.q))
		})
	}
	assert.Panics(t, func() { Sorted(hundred, 1.1) })
}

func TestRank(t *testing.T) {
	tests := []struct {
		q    float64
		n    uint64
		want uint64
	}{
		{0.5, 0, 0},
		{0, 10, 1},
		{1, 10, 10},
		{0.5, 10, 5},
		{0.51, 10, 6},
		{0.99, 1000, 990},
		{0.999, 1000, 999},
		{0.99, 5000, 4950},
		{0.999, 5000, 4995},
		{0.5, 3, 2},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, Rank(tc.q, tc.n), "Rank(%v, %d)", tc.q, tc.n)
	}
	assert.Panics(t, func() { Rank(-0.1, 10) })
}
