package alloc

import (
	"context"
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

func TestStride(t *testing.T) {
	r, err := Stride(t.Context(), StrideConfig{Bytes: 1<<16 + 5, Stride: 64, Walks: 3})
	require.NoError(t, err)
	assert.Equal(t, 1<<16, r.Bytes, "whole words")
	assert.Equal(t, 64, r.Stride)
	assert.Equal(t, 3, r.Walks)
	assert.Equal(t, 1<<13, r.Accesses, "one read per word per walk")
	assert.Positive(t, r.NsPerAccess())

	cfg, err := StrideConfig{}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, StrideConfig{Bytes: 512 << 20, Stride: 8, Walks: 1}, cfg)

	for _, tc := range []struct {
		cfg  StrideConfig
		want string
	}{
		{StrideConfig{Bytes: 4}, "alloc: StrideConfig.Bytes 4 must be >= 8"},
		{StrideConfig{Bytes: 64, Stride: 12}, "alloc: StrideConfig.Stride 12 must be a positive multiple of 8 no larger than Bytes (64)"},
		{StrideConfig{Bytes: 64, Stride: 72}, "alloc: StrideConfig.Stride 72 must be a positive multiple of 8 no larger than Bytes (64)"},
		{StrideConfig{Bytes: 64, Walks: -1}, "alloc: StrideConfig.Walks -1 must be > 0"},
	} {
		_, err := Stride(t.Context(), tc.cfg)
		assert.EqualError(t, err, tc.want)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = Stride(ctx, StrideConfig{Bytes: 64})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestStrideResultString(t *testing.T) {
	r := StrideResult{Bytes: 1 << 20, Stride: 64, Walks: 2, Accesses: 1 << 17, Elapsed: 262144}
	assert.Equal(t, "bytes=1048576 stride=64: 2 walks of 131072 reads in 262.144µs, 1.000 ns/access", r.String())
	assert.Zero(t, StrideResult{}.NsPerAccess())
}
