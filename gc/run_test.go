package gc

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunReport(t *testing.T) {
	s := Shape{Live: testLive, Survival: 0.2, PointerDensity: DensityHigh, Alloc: 8 * testLive}
	r, err := Run(t.Context(), RunConfig{Shape: s})
	require.NoError(t, err)
	assert.Equal(t, s, r.Shape)
	assert.Equal(t, Current(), r.Setting)
	h, err := NewHeap(s)
	require.NoError(t, err)
	assert.Equal(t, h.LiveBytes(), r.LiveBytes)
	assert.Equal(t, h.PtrsPerKiB(), r.PtrsPerKiB)
	// Churning 8x the live heap at GOGC=100 must collect (see TestRunScan
	// for why not fewer), and what the run
	// allocated is counted (up to the spans a P had cached when the run
	// began or ended: the runtime counts small allocations by span).
	assert.InEpsilon(t, float64(s.Alloc), float64(r.AllocBytes), 0.05)
	assert.Positive(t, r.GCCycles)
	assert.GreaterOrEqual(t, r.Pauses, r.GCCycles, "at least one pause per cycle")
	assert.Positive(t, r.PauseMax)
	assert.GreaterOrEqual(t, r.GCCPUShare, 0.0)
	assert.LessOrEqual(t, r.GCCPUShare, 1.0)
	assert.GreaterOrEqual(t, r.HeapLive, uint64(r.LiveBytes)*9/10)
	assert.Greater(t, r.HeapGoal, r.HeapLive)
	// 0.88 of a high heap is scannable on the scalar path, all of it on the
	// vector path (TestScannable).
	assert.GreaterOrEqual(t, r.ScanHeap, uint64(r.LiveBytes)*8/10, "a high heap is nearly all scannable")
	assert.Equal(t, CurrentScanPath(), r.Scan)
	if startPeakRSS().ok {
		assert.Positive(t, r.PeakRSS)
	} else {
		assert.Zero(t, r.PeakRSS, "unknown peak RSS reads as 0")
	}
	assert.Positive(t, r.AllocRate)
}

// TestRunDefaults checks what the zero RunConfig means without running
// it: the zero Shape with its defaults, the setting in force.
func TestRunDefaults(t *testing.T) {
	s, err := RunConfig{}.check()
	require.NoError(t, err)
	assert.Equal(t, Shape{Live: DefaultLive, Alloc: 8 * DefaultLive}, s)
	s, err = RunConfig{Shape: Shape{Live: 1 << 20, Survival: 0.5}}.check()
	require.NoError(t, err)
	assert.Equal(t, Shape{Live: 1 << 20, Survival: 0.5, Alloc: 8 << 20}, s)
}

func TestRunResultString(t *testing.T) {
	r := RunResult{
		Shape:      Shape{Live: 1 << 20, Survival: 0.2, PointerDensity: DensityHigh, Alloc: 8 << 20},
		Setting:    Setting{GOGC: 100, MemoryLimit: NoLimit},
		PtrsPerKiB: 112.2,
		Scan:       ScanPathScalar,
		Stats: Stats{Elapsed: 12 * time.Millisecond, GCCycles: 7, PauseP50: 50 * time.Microsecond,
			PauseP99: time.Millisecond, GCCPUShare: 0.25, ScanHeap: 900_000, PeakRSS: 30 << 20},
	}
	assert.Equal(t, "live=1048576/survival=0.2/ptrs=high/scan=scalar gogc=100/gomemlimit=none: "+
		"7 cycles in 12ms, pause p50 50µs p99 1ms, GC CPU 25.0%, scan 900000 B/cycle, 112.2 ptrs/KiB, peak RSS 31457280 B",
		r.String())
}

// TestRunSettingRestores checks every setting is in force during the run
// and the one before is back after, including GOGC=off with a memory
// limit; the zero Setting runs under the one in force.
func TestRunSettingRestores(t *testing.T) {
	restore := Setting{GOGC: 77, MemoryLimit: 1 << 40}.Apply()
	defer restore()
	before := Current()
	for _, set := range []Setting{
		{GOGC: 50, MemoryLimit: NoLimit},
		{GOGC: 200, MemoryLimit: NoLimit},
		{GOGC: Off, MemoryLimit: 64 << 20},
		{},
	} {
		t.Run(set.String(), func(t *testing.T) {
			r, err := Run(t.Context(), RunConfig{Shape: Shape{Live: 1 << 20, Alloc: 4 << 20}, Setting: set})
			require.NoError(t, err)
			if set.IsZero() {
				assert.Equal(t, before, r.Setting)
			} else {
				assert.Equal(t, set, r.Setting)
			}
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

	restore = Setting{}.Apply()
	assert.Equal(t, before, Current(), "the zero Setting changes nothing")
	restore()
	assert.Equal(t, before, Current())
	assert.True(t, Setting{}.IsZero())
	assert.False(t, Setting{GOGC: 0, MemoryLimit: NoLimit}.IsZero(), "GOGC=0 with a limit is a setting")
	assert.Equal(t, "gogc=current/gomemlimit=current", Setting{}.String())
	assert.Equal(t, "gogc=off/gomemlimit=1024", Setting{GOGC: Off, MemoryLimit: 1024}.String())
}

func TestSettingErrors(t *testing.T) {
	before := Current()
	run := func(s Shape, set Setting) error {
		_, err := Run(t.Context(), RunConfig{Shape: s, Setting: set})
		return err
	}
	assert.ErrorContains(t, run(Shape{Live: 1 << 20}, Setting{GOGC: -5, MemoryLimit: NoLimit}), "gc: RunConfig.Setting.GOGC -5")
	assert.ErrorContains(t, run(Shape{Live: 1 << 20}, Setting{GOGC: 100}), "gc: RunConfig.Setting.MemoryLimit 0")
	assert.ErrorContains(t, run(Shape{Live: 1}, Setting{GOGC: 100, MemoryLimit: NoLimit}), "gc: RunConfig.Shape.Live 1")
	assert.Equal(t, before, Current(), "a rejected run changes nothing")
	assert.PanicsWithError(t, "gc: Setting.MemoryLimit 0 must be > 0 bytes, or NoLimit", func() { Setting{GOGC: 100}.Apply() })

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Run(ctx, RunConfig{Shape: Shape{Live: 1 << 20}})
	assert.ErrorIs(t, err, context.Canceled)
}

// TestRunScan runs a small shape on every path this machine has and checks
// each report says the path it ran on (the child's own probe, for scalar on
// a vector machine); a path the machine lacks, or an unknown one, is an
// error. TestScannable checks what each path counts. Alloc is the default,
// 8 live heaps: with GOGC 100 the heap passes its goal four times over, so
// the pacer's assists make at least one cycle finish within the run (2 live
// heaps did not always: 0 cycles once in 18 runs under load,
// GODEBUG=cpu.avx512bw=off -cpu 1,2,16).
func TestRunScan(t *testing.T) {
	s := Shape{Live: testLive, Survival: 0.2, PointerDensity: DensityLow}
	for _, p := range AvailableScanPaths() {
		t.Run("scan="+p.String(), func(t *testing.T) {
			r, err := Run(t.Context(), RunConfig{Shape: s, Scan: p})
			require.NoError(t, err)
			assert.Equal(t, p, r.Scan)
			want, err := s.withDefaults("Shape")
			require.NoError(t, err)
			assert.Equal(t, want, r.Shape)
			assert.Positive(t, r.GCCycles)
		})
	}
	if len(AvailableScanPaths()) == 1 {
		_, err := Run(t.Context(), RunConfig{Shape: s, Scan: ScanPathVector})
		assert.ErrorContains(t, err, "gc: RunConfig.Scan vector is not available")
	}
	_, err := Run(t.Context(), RunConfig{Shape: s, Scan: "simd"})
	assert.ErrorContains(t, err, `gc: RunConfig.Scan "simd" unknown`)
}

var spike []byte

// TestMeterPeakRSS checks the peak covers a spike that is gone by Stop: at
// least the RSS read while the spike was held, less what two reads of the
// kernel's counters can differ by (2 x procmem.RSSSkew), and well above the RSS at
// Stop once the spike is freed and returned to the OS. The spike is large
// beside that skew (64 MiB plus 4 x the skew) so that both hold on any
// number of CPUs. Under the race detector the peak is only bounded below
// by the spike: freeing it costs RSS of its own (the race runtime clears
// the spike's shadow memory when the GC frees it).
func TestMeterPeakRSS(t *testing.T) {
	if !startPeakRSS().ok {
		t.Skip("the kernel's RSS high-water mark cannot be reset here (not Linux, or clear_refs not writable)")
	}
	if skew := procmem.RSSSkew(); skew > 256<<20 {
		t.Skipf("the kernel's RSS counters can be %d MiB off here (%d online CPUs, %d usable, %d-byte pages): a spike large beside that would take over 1 GiB",
			skew>>20, procmem.OnlineCPUs(), runtime.NumCPU(), os.Getpagesize())
	}
	size := 64<<20 + 4*procmem.RSSSkew()
	m := StartMeter()
	spike = make([]byte, size)
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
	if raceEnabled {
		// Freeing the spike clears its shadow memory, which first raises
		// RSS by about half the spike again: the peak comes after during.
		assert.GreaterOrEqual(t, float64(st.PeakRSS), float64(during.RSS)-float64(2*procmem.RSSSkew()))
	} else {
		assert.InDelta(t, float64(during.RSS), float64(st.PeakRSS), float64(2*procmem.RSSSkew()))
	}
	assert.Greater(t, st.PeakRSS, after.RSS+size/2)
}
