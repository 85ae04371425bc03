package gc

import (
	"runtime/debug"
	"testing"

	"github.com/rtlab/rtlab/internal/procmem"
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
	// Churning 4x the live heap at GOGC=100 must collect, and what the run
	// allocated is counted (up to the spans a P had cached when the run
	// began or ended: the runtime counts small allocations by span).
	assert.InEpsilon(t, float64(s.Alloc), float64(r.AllocBytes), 0.05)
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
	if startPeakRSS().ok {
		assert.Positive(t, r.PeakRSS)
	} else {
		assert.Zero(t, r.PeakRSS, "unknown peak RSS reads as 0")
	}
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

var spike []byte

// TestMeterPeakRSS checks the peak covers a 64 MiB spike that is gone by
// Stop: about the RSS read while the spike was held, and well above the RSS
// at Stop once the spike is freed and returned to the OS. 2% because the
// kernel keeps RSS in per-CPU batched counters, so the high-water mark and
// a read of the same pages differ by a few hundred KiB.
func TestMeterPeakRSS(t *testing.T) {
	if !startPeakRSS().ok {
		t.Skip("the kernel's RSS high-water mark cannot be reset here (not Linux, or clear_refs not writable)")
	}
	m := StartMeter()
	spike = make([]byte, 64<<20)
	for i := 0; i < len(spike); i += 4096 {
		spike[i] = 1 // touch every page so it is resident
	}
	during, err := procmem.Self()
	require.NoError(t, err)
	spike = nil
	debug.FreeOSMemory()
	after, err := procmem.Self()
	require.NoError(t, err)
	st := m.Stop()
	assert.InEpsilon(t, float64(during.RSS), float64(st.PeakRSS), 0.02)
	assert.Greater(t, st.PeakRSS, after.RSS+32<<20)
}
