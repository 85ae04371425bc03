package alloc

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWalkReadsEveryWordOnce(t *testing.T) {
	buf, err := NewStrideBuffer(1 << 16)
	require.NoError(t, err)
	n := uint64(len(buf))
	want := n * (n - 1) / 2 // words hold 0, 1, ..., n-1
	for _, stride := range []int{8, 16, 24, 64, 4096, 1 << 16} {
		t.Run(fmt.Sprintf("stride=%d", stride), func(t *testing.T) {
			got, err := Walk(buf, stride)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestWalkBadInput(t *testing.T) {
	buf, err := NewStrideBuffer(64)
	require.NoError(t, err)
	for _, stride := range []int{0, -8, 12, 72} {
		_, err := Walk(buf, stride)
		assert.EqualError(t, err, fmt.Sprintf("alloc: stride %d must be a positive multiple of 8 no larger than the buffer (64 bytes)", stride))
	}
	_, err = NewStrideBuffer(7)
	assert.EqualError(t, err, "alloc: buffer size 7 must be >= 8 bytes")
}
