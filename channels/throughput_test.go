package channels

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThroughput(t *testing.T) {
	for _, capacity := range []int{0, 1, 64} {
		for _, batch := range []int{1, 7, 64} {
			for _, msgs := range []int{1, 63, 1000} {
				t.Run(fmt.Sprintf("cap=%d/batch=%d/msgs=%d", capacity, batch, msgs), func(t *testing.T) {
					r, err := Throughput(context.Background(), ThroughputConfig{Cap: capacity, Batch: batch, Msgs: msgs})
					require.NoError(t, err)
					assert.Equal(t, capacity, r.Cap)
					assert.Equal(t, batch, r.Batch)
					assert.Equal(t, msgs, r.Msgs, "every message arrives")
					assert.Equal(t, msgs*(msgs-1)/2, r.Sum, "each value exactly once, none overwritten")
					assert.Positive(t, r.MsgsPerSec())
					assert.Equal(t, r.Elapsed/time.Duration(msgs), r.PerMsg())
				})
			}
		}
	}
}

func TestContended(t *testing.T) {
	for _, impl := range ContendedImpls() {
		for _, producers := range []int{1, runtime.GOMAXPROCS(0), 7} {
			t.Run(fmt.Sprintf("impl=%s/producers=%d", impl, producers), func(t *testing.T) {
				r, err := Contended(context.Background(), ContendedConfig{Impl: impl, Producers: producers, Msgs: 10_001})
				require.NoError(t, err)
				assert.Equal(t, 10_001, r.Msgs, "every message arrives")
				assert.Equal(t, producers, r.Producers)
				assert.Positive(t, r.PerMsg())
			})
		}
	}
}

func TestThroughputBadInput(t *testing.T) {
	ctx := context.Background()
	_, err := Throughput(ctx, ThroughputConfig{Cap: -1})
	assert.EqualError(t, err, "channels: ThroughputConfig.Cap -1 must be >= 0")
	_, err = Throughput(ctx, ThroughputConfig{Batch: -1})
	assert.EqualError(t, err, "channels: ThroughputConfig.Batch -1 must be > 0")
	_, err = Throughput(ctx, ThroughputConfig{Msgs: -1})
	assert.EqualError(t, err, "channels: ThroughputConfig.Msgs -1 must be > 0")
	_, err = Contended(ctx, ContendedConfig{Impl: "carrier-pigeon"})
	assert.ErrorContains(t, err, `channels: ContendedConfig.Impl "carrier-pigeon"`)
	_, err = Contended(ctx, ContendedConfig{Producers: -1})
	assert.EqualError(t, err, "channels: ContendedConfig.Producers -1 must be > 0")
	_, err = Contended(ctx, ContendedConfig{Msgs: -1})
	assert.EqualError(t, err, "channels: ContendedConfig.Msgs -1 must be > 0")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = Throughput(cancelled, ThroughputConfig{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = Contended(cancelled, ContendedConfig{})
	assert.ErrorIs(t, err, context.Canceled)
}

// The zero configs run: unbuffered, one int per send; GOMAXPROCS
// producers into a channel; 65536 messages each.
func TestThroughputDefaults(t *testing.T) {
	r, err := Throughput(context.Background(), ThroughputConfig{})
	require.NoError(t, err)
	assert.Equal(t, ThroughputResult{Cap: 0, Batch: 1, Msgs: defaultMsgs, Sum: defaultMsgs * (defaultMsgs - 1) / 2, Elapsed: r.Elapsed}, r)
	c, err := Contended(context.Background(), ContendedConfig{})
	require.NoError(t, err)
	assert.Equal(t, ContendedChan, c.Impl)
	assert.Equal(t, runtime.GOMAXPROCS(0), c.Producers)
	assert.Equal(t, defaultMsgs, c.Msgs)
}

func TestThroughputString(t *testing.T) {
	r := ThroughputResult{Cap: 64, Batch: 64, Msgs: 1000, Elapsed: time.Millisecond}
	assert.Equal(t, "throughput cap=64 batch=64: 1000 msgs in 1ms, 1000000 msgs/s", r.String())
	c := ContendedResult{Impl: ContendedMutex, Producers: 2, Msgs: 1000, Elapsed: 100 * time.Microsecond}
	assert.Equal(t, "contended mutex, 2 producers: 1000 msgs in 100µs, 100ns per msg", c.String())
	for _, impl := range ContendedImpls() {
		assert.Equal(t, string(impl), impl.String())
	}
}
