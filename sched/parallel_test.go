package sched

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every model and split hashes the same chunks: the sums agree.
func TestParallelSameWorkEverywhere(t *testing.T) {
	const bytes = 64 * chunkSize
	var want uint64
	for _, model := range []Model{Goroutines, EventLoop} {
		for _, workers := range []int{1, 2, 3, 4, 64} {
			t.Run(fmt.Sprintf("model=%s/workers=%d", model, workers), func(t *testing.T) {
				res, err := Parallel(ParallelConfig{Model: model, Workers: workers, Bytes: bytes})
				require.NoError(t, err)
				assert.Equal(t, model, res.Model)
				assert.Equal(t, workers, res.Workers)
				assert.Equal(t, bytes, res.Bytes)
				assert.Positive(t, res.Elapsed)
				if want == 0 {
					want = res.Sum
				}
				assert.Equal(t, want, res.Sum)
			})
		}
	}
	assert.NotZero(t, want)
}

func TestParallelDefaultBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 64 MiB")
	}
	res, err := Parallel(ParallelConfig{Model: Goroutines, Workers: 2})
	require.NoError(t, err)
	assert.Equal(t, defaultBytes, res.Bytes)
}

func TestParallelErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg ParallelConfig
		msg string
	}{
		{ParallelConfig{Model: "threads", Workers: 1}, `sched: model "threads" must be "goroutines" or "eventloop"`},
		{ParallelConfig{Model: Goroutines}, "sched: workers 0 must be > 0"},
		{ParallelConfig{Model: EventLoop, Workers: 1, Bytes: 100}, "sched: bytes 100 must be a positive multiple of 16384"},
		{ParallelConfig{Model: Goroutines, Workers: 3, Bytes: 2 * chunkSize}, "sched: workers 3 exceed the 2 chunks"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			_, err := Parallel(tc.cfg)
			assert.ErrorContains(t, err, tc.msg)
		})
	}
}
