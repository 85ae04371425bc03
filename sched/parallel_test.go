package sched

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every model and split hashes the same chunks: the sums agree.
func TestParallelSameWorkEverywhere(t *testing.T) {
	const bytes = 64 * chunkSize
	var want uint64
	for _, model := range Models() {
		for _, workers := range []int{1, 2, 3, 4, 64} {
			t.Run(fmt.Sprintf("model=%s/workers=%d", model, workers), func(t *testing.T) {
				res, err := Parallel(context.Background(), ParallelConfig{Model: model, Workers: workers, Bytes: bytes})
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

func TestParallelDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes 64 MiB")
	}
	res, err := Parallel(context.Background(), ParallelConfig{})
	require.NoError(t, err)
	assert.Equal(t, ModelGoroutines, res.Model)
	assert.Equal(t, runtime.GOMAXPROCS(0), res.Workers)
	assert.Equal(t, defaultBytes, res.Bytes)
}

func TestParallelString(t *testing.T) {
	r := ParallelResult{Model: ModelEventLoop, Workers: 4, Bytes: 64 << 20, Elapsed: 100 * time.Millisecond}
	assert.Equal(t, "parallel eventloop x4: 64 MiB in 100ms, 671 MB/s", r.String())
	for _, m := range Models() {
		assert.Equal(t, string(m), m.String())
	}
}

func TestParallelErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg ParallelConfig
		msg string
	}{
		{ParallelConfig{Model: "threads", Workers: 1}, `sched: ParallelConfig.Model "threads" must be "goroutines" or "eventloop"`},
		{ParallelConfig{Model: ModelGoroutines, Workers: -1}, "sched: ParallelConfig.Workers -1 must be > 0"},
		{ParallelConfig{Model: ModelEventLoop, Workers: 1, Bytes: 100}, "sched: ParallelConfig.Bytes 100 must be a positive multiple of 16384"},
		{ParallelConfig{Model: ModelGoroutines, Workers: 3, Bytes: 2 * chunkSize}, "sched: ParallelConfig.Workers 3 exceed the 2 chunks of ParallelConfig.Bytes 32768"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			_, err := Parallel(context.Background(), tc.cfg)
			assert.ErrorContains(t, err, tc.msg)
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Parallel(ctx, ParallelConfig{})
	assert.ErrorIs(t, err, context.Canceled)
}
