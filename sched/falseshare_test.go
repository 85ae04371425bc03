package sched

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The layouts put the two counters as far apart as they claim.
func TestLayoutsDistance(t *testing.T) {
	var p packedCounters
	var p64 pad64Counters
	var p128 pad128Counters
	assert.Equal(t, uintptr(8), unsafe.Offsetof(p.b)-unsafe.Offsetof(p.a))
	assert.Equal(t, uintptr(64), unsafe.Offsetof(p64.b)-unsafe.Offsetof(p64.a))
	assert.Equal(t, uintptr(128), unsafe.Offsetof(p128.b)-unsafe.Offsetof(p128.a))
	// A 16-byte object is 16-byte aligned, so it never straddles a line.
	assert.Equal(t, uintptr(16), unsafe.Sizeof(p))
}

func TestFalseSharingCounts(t *testing.T) {
	ctx := context.Background()
	for _, layout := range Layouts() {
		t.Run(layout.String(), func(t *testing.T) {
			res, err := FalseSharing(ctx, FalseSharingConfig{Layout: layout, Increments: 1000})
			require.NoError(t, err) // also checks both counters reached 1000
			assert.Equal(t, layout, res.Layout)
			assert.Equal(t, 1000, res.Increments)
			assert.Positive(t, res.NsPerIncrement)
		})
	}
	_, err := FalseSharing(ctx, FalseSharingConfig{Layout: "pad32"})
	assert.EqualError(t, err, `sched: FalseSharingConfig.Layout "pad32" must be "packed", "pad64" or "pad128"`)
	_, err = FalseSharing(ctx, FalseSharingConfig{Increments: -1})
	assert.EqualError(t, err, "sched: FalseSharingConfig.Increments -1 must be > 0")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = FalseSharing(cancelled, FalseSharingConfig{})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestFalseSharingDefaults(t *testing.T) {
	res, err := FalseSharing(context.Background(), FalseSharingConfig{})
	require.NoError(t, err)
	assert.Equal(t, LayoutPacked, res.Layout)
	assert.Equal(t, defaultIncrements, res.Increments)
}

func TestFalseSharingString(t *testing.T) {
	r := FalseSharingResult{Layout: LayoutPad64, Increments: 1000, Elapsed: 7 * time.Microsecond, NsPerIncrement: 7}
	assert.Equal(t, "false sharing pad64: 1000 increments each in 7µs, 7.0 ns per increment", r.String())
	assert.Equal(t, []Layout{LayoutPacked, LayoutPad64, LayoutPad128}, Layouts())
}
