package gc

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunReport(t *testing.T) {
	s := Shape{Live: testLive, Survival: 0.2, PointerDensity: PtrsHigh, Alloc: 4 * testLive}
	r, err := Run(s)
	require.NoError(t, err)
	assert.Equal(t, s, r.Shape)
	assert.Equal(t, Current(), r.Setting)
	h, err := NewHeap(s)
	require.NoError(t, err)
	assert.Equal(t, h.LiveBytes(), r.LiveBytes)
	assert.Equal(t, h.PtrsPerKiB(), r.PtrsPerKiB)
	// Churning 4x the live heap at GOGC=100 must collect, and everything the
	// run allocated is counted.
	assert.GreaterOrEqual(t, r.AllocBytes, uint64(s.Alloc))
	assert.Positive(t, r.GCCycles)
	assert.GreaterOrEqual(t, r.Pauses, r.GCCycles, "at least one pause per cycle")
	assert.LessOrEqual(t, r.PauseP50, r.PauseP99)
	assert.LessOrEqual(t, r.PauseP99, r.PauseMax)
	assert.Positive(t, r.PauseMax)
	assert.GreaterOrEqual(t, r.GCCPUShare, 0.0)
	assert.LessOrEqual(t, r.GCCPUShare, 1.0)
	assert.GreaterOrEqual(t, r.HeapLive, uint64(r.LiveBytes)*9/10)
	assert.Greater(t, r.HeapGoal, r.HeapLive)
	assert.GreaterOrEqual(t, r.ScanHeap, uint64(r.LiveBytes)*8/10, "a high heap is nearly all scannable")
	assert.Positive(t, r.PeakRSS)
	assert.Positive(t, r.AllocRate)
}

// TestRunWithRestores checks every setting is in force during the run and
// the one before is back after, including GOGC=off with a memory limit.
func TestRunWithRestores(t *testing.T) {
	restore := Setting{GOGC: 77, MemoryLimit: 1 << 40}.Apply()
	defer restore()
	before := Current()
	for _, set := range []Setting{
		{GOGC: 50, MemoryLimit: NoLimit},
		{GOGC: 200, MemoryLimit: NoLimit},
		{GOGC: Off, MemoryLimit: 64 << 20},
	} {
		t.Run(set.String(), func(t *testing.T) {
			r, err := RunWith(Shape{Live: 1 << 20, Alloc: 4 << 20}, set)
			require.NoError(t, err)
			assert.Equal(t, set, r.Setting)
			assert.Equal(t, before, Current())
		})
	}
}

func TestApplyRestore(t *testing.T) {
	before := Current()
	restore := Setting{GOGC: Off, MemoryLimit: 123 << 20}.Apply()
	assert.Equal(t, -1, debug.SetGCPercent(-1), "GOGC off while applied")
	assert.Equal(t, int64(123<<20), debug.SetMemoryLimit(-1))
	restore()
	assert.Equal(t, before, Current())
}

func TestSettingErrors(t *testing.T) {
	before := Current()
	_, err := RunWith(Shape{Live: 1 << 20}, Setting{GOGC: -5, MemoryLimit: NoLimit})
	assert.ErrorContains(t, err, "gc: Setting.GOGC -5")
	_, err = RunWith(Shape{Live: 1 << 20}, Setting{GOGC: 100})
	assert.ErrorContains(t, err, "gc: Setting.MemoryLimit 0")
	_, err = RunWith(Shape{Live: 1}, Setting{GOGC: 100, MemoryLimit: NoLimit})
	assert.ErrorContains(t, err, "gc: Shape.Live 1")
	assert.Equal(t, before, Current(), "a rejected run changes nothing")
	assert.Panics(t, func() { Setting{GOGC: 100}.Apply() })
}
