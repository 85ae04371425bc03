package channels

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThroughput(t *testing.T) {
	for _, capacity := range []int{0, 1, 64} {
		for _, batch := range []int{1, 7, 64} {
			for _, msgs := range []int{1, 63, 1000} {
				t.Run(fmt.Sprintf("cap=%d/batch=%d/msgs=%d", capacity, batch, msgs), func(t *testing.T) {
					r, err := Throughput(capacity, batch, msgs)
					require.NoError(t, err)
					assert.Equal(t, msgs, r.Msgs, "every message arrives")
					assert.Equal(t, msgs*(msgs-1)/2, r.Sum, "each value exactly once, none overwritten")
					assert.Positive(t, r.MsgsPerSec())
				})
			}
		}
	}
}

func TestContended(t *testing.T) {
	for _, impl := range ContendedImpls() {
		for _, producers := range []int{1, runtime.GOMAXPROCS(0), 7} {
			t.Run(fmt.Sprintf("impl=%s/producers=%d", impl, producers), func(t *testing.T) {
				r, err := Contended(impl, producers, 10_001)
				require.NoError(t, err)
				assert.Equal(t, 10_001, r.Msgs, "every message arrives")
				assert.Equal(t, producers, r.Producers)
				assert.Positive(t, r.PerMsg())
			})
		}
	}
}

func TestThroughputBadInput(t *testing.T) {
	_, err := Throughput(-1, 1, 1)
	assert.ErrorContains(t, err, "channels: capacity -1 must be >= 0")
	_, err = Throughput(0, 0, 1)
	assert.ErrorContains(t, err, "channels: batch 0 must be > 0")
	_, err = Throughput(0, 1, 0)
	assert.ErrorContains(t, err, "channels: msgs 0 must be > 0")
	_, err = Contended("carrier-pigeon", 1, 1)
	assert.ErrorContains(t, err, `channels: contended impl "carrier-pigeon"`)
	_, err = Contended(ContendedChan, 0, 1)
	assert.ErrorContains(t, err, "channels: producers 0 must be > 0")
	_, err = Contended(ContendedChan, 1, 0)
	assert.ErrorContains(t, err, "channels: msgs 0 must be > 0")
}
