package sched

import (
	"context"
	"testing"
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
	for _, layout := range []Layout{Packed, Pad64, Pad128} {
		t.Run(string(layout), func(t *testing.T) {
			res, err := FalseSharing(layout, 1000)
			require.NoError(t, err) // also checks both counters reached 1000
			assert.Equal(t, layout, res.Layout)
			assert.Equal(t, 1000, res.Increments)
			assert.Positive(t, res.NsPerIncrement)
		})
	}
	_, err := FalseSharing("pad32", 1)
	assert.EqualError(t, err, `sched: layout "pad32" must be "packed", "pad64" or "pad128"`)
	_, err = FalseSharing(Packed, 0)
	assert.EqualError(t, err, "sched: increments 0 must be > 0")
}

func TestHandOffRunsWithGivenProcs(t *testing.T) {
	for _, mode := range []HandOffMode{Chan, Spin} {
		for _, procs := range []int{1, 2} {
			res, err := HandOff(context.Background(), HandOffConfig{Procs: procs, Mode: mode, HandOffs: 1001})
			require.NoError(t, err) // also checks the ping-pong completed every round
			assert.Equal(t, procs, res.GOMAXPROCS)
			assert.Equal(t, mode, res.Mode)
			assert.Equal(t, 1000, res.HandOffs)
			assert.Positive(t, res.NsPerHandOff)
		}
	}
	for _, tc := range []struct {
		cfg HandOffConfig
		msg string
	}{
		{HandOffConfig{Procs: 0, Mode: Chan, HandOffs: 10}, "sched: procs 0 must be > 0"},
		{HandOffConfig{Procs: 1, Mode: "mutex", HandOffs: 10}, `sched: mode "mutex" must be "chan" or "spin"`},
		{HandOffConfig{Procs: 1, Mode: Spin, HandOffs: 1}, "sched: hand-offs 1 must be >= 2"},
	} {
		_, err := HandOff(context.Background(), tc.cfg)
		assert.EqualError(t, err, tc.msg)
	}
}
