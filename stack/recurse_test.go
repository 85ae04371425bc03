package stack

import (
	"context"
	"errors"
	"math"
	"math/bits"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecurseBadInput(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		cfg   RecurseConfig
		wants string
	}{
		{"depth=-1", RecurseConfig{Depth: -1}, "stack: RecurseConfig.Depth -1 must be > 0"},
		{"depth=-1/fixed", RecurseConfig{Depth: -1, Model: ModelFixed}, "stack: RecurseConfig.Depth -1 must be > 0"},
		{"frame=-1", RecurseConfig{Depth: 10, Frame: -1}, "stack: RecurseConfig.Frame Frame(-1) must be FrameSmall or FrameLarge"},
		{"frame=2", RecurseConfig{Depth: 10, Frame: 2}, "stack: RecurseConfig.Frame Frame(2) must be"},
		{"model=2", RecurseConfig{Depth: 10, Model: 2}, "stack: RecurseConfig.Model Model(2) must be ModelGo or ModelFixed"},
		{"budget=small", RecurseConfig{Depth: 10, Frame: FrameLarge, Model: ModelFixed, Budget: 1000}, "stack: RecurseConfig.Budget 1000 bytes must be between"},
		{"budget=go", RecurseConfig{Depth: 10, Budget: DefaultBudget}, "stack: RecurseConfig.Budget 1007616 is for ModelFixed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Recurse(ctx, tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wants)
		})
	}
	for _, tc := range []struct {
		name  string
		cfg   MaxDepthConfig
		wants string
	}{
		{"frame=3", MaxDepthConfig{Model: ModelFixed, Frame: 3}, "stack: MaxDepthConfig.Frame Frame(3) must be"},
		{"model=-1", MaxDepthConfig{Model: -1}, "stack: MaxDepthConfig.Model Model(-1) must be"},
		{"budget=huge", MaxDepthConfig{Model: ModelFixed, Budget: 1 << 40}, "stack: MaxDepthConfig.Budget 1099511627776 bytes must be between"},
		{"budget=negative", MaxDepthConfig{Model: ModelFixed, Budget: -1}, "stack: MaxDepthConfig.Budget -1 bytes must be between"},
	} {
		t.Run("maxdepth/"+tc.name, func(t *testing.T) {
			_, err := MaxDepth(ctx, tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wants)
		})
	}
}

// TestRecurseDefaults: the zero config recurses 100,000 small frames on
// Go's stack; the zero Budget of the fixed model is DefaultBudget.
func TestRecurseDefaults(t *testing.T) {
	r, err := Recurse(t.Context(), RecurseConfig{})
	require.NoError(t, err)
	assert.Equal(t, FrameSmall, r.Frame)
	assert.Equal(t, defaultDepth, r.Depth)

	_, err = Recurse(t.Context(), RecurseConfig{Depth: 1_000_000, Model: ModelFixed})
	var over *OverflowError
	require.ErrorAs(t, err, &over)
	assert.Equal(t, DefaultBudget, over.Budget)

	m, err := MaxDepth(t.Context(), MaxDepthConfig{Model: ModelFixed})
	require.NoError(t, err)
	assert.Equal(t, FrameSmall, m.Frame)
	assert.Equal(t, DefaultBudget, m.Budget)
}

func TestRecurseCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Recurse(ctx, RecurseConfig{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = MaxDepth(ctx, MaxDepthConfig{Model: ModelFixed})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = Spawn(ctx, SpawnConfig{})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestEnums(t *testing.T) {
	assert.Equal(t, []Frame{FrameSmall, FrameLarge}, Frames())
	assert.Equal(t, []Model{ModelFixed, ModelGo}, Models())
	var names []string
	for _, f := range Frames() {
		names = append(names, f.String())
	}
	for _, m := range Models() {
		names = append(names, m.String())
	}
	assert.Equal(t, []string{"small", "large", "fixed", "go"}, names)
	assert.Equal(t, "Frame(2)", Frame(2).String())
	assert.Equal(t, "Model(2)", Model(2).String())
	Frames()[0] = FrameLarge
	assert.Equal(t, FrameSmall, Frames()[0], "Frames returns a fresh slice")
	Models()[0] = ModelGo
	assert.Equal(t, ModelFixed, Models()[0], "Models returns a fresh slice")
}

func TestResultStrings(t *testing.T) {
	r := RecurseResult{Frame: FrameLarge, Depth: 3, StackBytes: 3100, Growths: 1, Elapsed: time.Millisecond}
	assert.Equal(t, "frame=large: depth 3, 3100 stack bytes, 1 growths, 1ms", r.String())
	m := MaxDepthResult{Model: ModelGo, Frame: FrameSmall, Budget: DefaultBudget, Depth: 10891, StackBytes: 522000, Growths: 8,
		StackSize: 524288, Message: "goroutine stack exceeds 1007616-byte limit"}
	assert.Equal(t, "model=go frame=small budget=1007616: max depth 10891, 522000 stack bytes, 8 growths (goroutine stack exceeds 1007616-byte limit)", m.String())
}

// TestRecurseGrowth checks what the probe measures against what a doubling
// stack must show: bytes in use grow with depth by a fixed frame size, the
// stack is copied at least log2(peak/start) times, and between two copies
// the stack in use grows by the size the stack had before the first of
// them, a size that doubles from copy to copy.
//
// The sizes come from the copies themselves, not from StartBytes: a
// goroutine made from scratch starts at 2 KiB whatever the adaptive start
// size says, and under the race detector the frames above the probe can
// fill the first stack before the probe exists.
func TestRecurseGrowth(t *testing.T) {
	for _, frame := range Frames() {
		t.Run("frame="+frame.String(), func(t *testing.T) {
			var prev RecurseResult
			for _, depth := range []int{1000, 10000, 100000} {
				// A GC now sets the start size from shallow stacks, not
				// from a deep recursion that a GC scanned before.
				runtime.GC()
				r, err := Recurse(t.Context(), RecurseConfig{Depth: depth, Frame: frame})
				require.NoError(t, err)
				require.Equal(t, depth, r.Depth)
				perFrame := float64(r.StackBytes) / float64(depth)
				if frame == FrameLarge {
					assert.GreaterOrEqual(t, perFrame, 1024.0, "a large frame holds 1 KiB of locals")
				} else {
					assert.Less(t, perFrame, 256.0, "a small frame is a few words")
				}
				assert.Greater(t, r.StackBytes, prev.StackBytes, "bytes in use grow with depth")
				require.Len(t, r.Steps, r.Growths)
				start := r.StartBytes
				if raceEnabled {
					start *= 2 // the first copy may come before the probe
				}
				assert.GreaterOrEqual(t, float64(r.Growths), math.Log2(float64(r.StackBytes)/float64(start)),
					"start %d B, peak %d B", r.StartBytes, r.StackBytes)
				if depth == 100000 {
					require.GreaterOrEqual(t, len(r.Steps), 2, "start %d B, peak %d B", r.StartBytes, r.StackBytes)
				}
				checkDoubling(t, r, start, perFrame)
				prev = r
			}
		})
	}
}

// checkDoubling checks the copies r saw against a stack that doubles from
// at most start bytes. The copies come at frame boundaries, so the bytes in
// use between two copies are the stack's earlier size give or take a frame
// at either end.
func checkDoubling(t *testing.T, r RecurseResult, start int, frameBytes float64) {
	t.Helper()
	if len(r.Steps) < 2 {
		return
	}
	sizes := make([]int, len(r.Steps)) // the stack's size before each copy
	for i := 1; i < len(r.Steps); i++ {
		assert.Greater(t, r.Steps[i].Depth, r.Steps[i-1].Depth)
		gap := r.Steps[i].StackBytes - r.Steps[i-1].StackBytes
		sizes[i-1] = nearestPowerOfTwo(gap)
		assert.InDelta(t, sizes[i-1], gap, 2*frameBytes,
			"copies %d and %d came %d B apart: the stack had %d B before copy %d", i-1, i, gap, sizes[i-1], i-1)
		if i > 1 {
			assert.Equal(t, 2*sizes[i-2], sizes[i-1], "copy %d doubled the stack", i-2)
		}
	}
	last := len(sizes) - 1
	sizes[last] = 2 * sizes[last-1]
	assert.LessOrEqual(t, sizes[0], start, "the first copy seen came to a stack of %d B", sizes[0])
	for i, s := range r.Steps {
		assert.LessOrEqual(t, s.StackBytes, sizes[i], "copy %d at %d B: the stack had %d B", i, s.StackBytes, sizes[i])
	}
	assert.LessOrEqual(t, r.StackBytes, 2*sizes[last], "the final stack holds the peak")
}

// nearestPowerOfTwo is the power of two nearest n > 0.
func nearestPowerOfTwo(n int) int {
	above := 1 << bits.Len(uint(n-1))
	if above-n > n-above/2 {
		return above / 2
	}
	return above
}

// TestRecurseMillion: the Go stack grows to what the recursion needs, up to
// the runtime's maximum; Small frames reach a million deep.
func TestRecurseMillion(t *testing.T) {
	r, err := Recurse(t.Context(), RecurseConfig{Depth: 1_000_000})
	require.NoError(t, err)
	assert.Equal(t, 1_000_000, r.Depth)
	assert.Greater(t, r.StackBytes, 1_000_000*8)
}

// TestRecurseBeyondGoMax: a million Large frames need more than the 512 MiB
// stack the default limit allows; Recurse stops with an error, not a crash.
func TestRecurseBeyondGoMax(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("grows a 512 MiB stack")
	}
	r, err := Recurse(t.Context(), RecurseConfig{Depth: 1_000_000, Frame: FrameLarge})
	require.ErrorIs(t, err, ErrStackOverflow)
	var over *OverflowError
	require.ErrorAs(t, err, &over)
	assert.Equal(t, goUsable, over.Budget)
	assert.Equal(t, r.Depth, over.Depth)
	assert.Less(t, over.Depth, 1_000_000)
	assert.Greater(t, over.StackBytes, largestPow2(goMaxStack)/2)
}

// TestFixedOverflow: the fixed model stops at its budget, with every byte
// of the budget but less than one frame in use.
func TestFixedOverflow(t *testing.T) {
	for _, frame := range Frames() {
		for _, budget := range []int{DefaultBudget, 64 << 10} {
			r, err := Recurse(t.Context(), RecurseConfig{Depth: 1_000_000, Frame: frame, Model: ModelFixed, Budget: budget})
			require.ErrorIs(t, err, ErrStackOverflow)
			var over *OverflowError
			require.ErrorAs(t, err, &over)
			assert.Equal(t, budget, over.Budget)
			assert.Equal(t, frame, over.Frame)
			assert.Equal(t, r.Depth, over.Depth)
			assert.Equal(t, r.StackBytes, over.StackBytes)
			perFrame := r.StackBytes / r.Depth
			assert.LessOrEqual(t, over.StackBytes, budget)
			assert.Greater(t, over.StackBytes, budget-2*perFrame, "stopped before the budget was used: %v", err)

			m, err := MaxDepth(t.Context(), MaxDepthConfig{Model: ModelFixed, Frame: frame, Budget: budget})
			require.NoError(t, err)
			assert.Equal(t, r.Depth, m.Depth, "MaxDepth is Recurse without a target")
			assert.Equal(t, ModelFixed, m.Model)
			assert.Contains(t, m.Message, "maximum call stack size exceeded")
		}
		r, err := Recurse(t.Context(), RecurseConfig{Depth: 100, Frame: frame, Model: ModelFixed})
		require.NoError(t, err, "100 frames fit in 984 KiB")
		assert.Equal(t, 100, r.Depth)
	}
}

func TestOverflowErrorIs(t *testing.T) {
	err := error(&OverflowError{Frame: FrameSmall, Depth: 3, StackBytes: 10, Budget: 16})
	assert.True(t, errors.Is(err, ErrStackOverflow))
	assert.Equal(t, "stack: maximum call stack size exceeded: frame=small reached depth 3 using 10 of 16 bytes", err.Error())
}

func TestLargestPow2(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, DefaultBudget: 512 << 10, 1 << 20: 1 << 20, 1_000_000_000: 512 << 20} {
		assert.Equal(t, want, largestPow2(n), "n=%d", n)
	}
}

// TestRecurseStartBytesWhileGCsResize: with adaptive start sizes every GC
// sets the size of new stacks from the stacks it scanned. A goroutine here
// alternates GCs run from deep in a recursion (the start size goes up) and
// from the top (it goes back to 2 KiB) while Recurse runs. A goroutine made
// from scratch starts at 2 KiB whatever the start size says, and a GC may
// halve a new stack before it runs, so the stack can be smaller than
// StartBytes but never larger: the first copy comes at most StartBytes in.
func TestRecurseStartBytesWhileGCsResize(t *testing.T) {
	stop := make(chan struct{})
	resized := make(chan struct{})
	go func() {
		defer close(resized)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = run(config{target: 200, frame: FrameLarge, limit: goUsable, bottom: runtime.GC})
			runtime.GC()
		}
	}()
	t.Cleanup(func() { close(stop); <-resized })

	sizes := map[int]bool{}
	for range 20000 {
		r, err := Recurse(t.Context(), RecurseConfig{Depth: 300, Frame: FrameSmall})
		require.NoError(t, err)
		sizes[r.StartBytes] = true
		if r.Growths == 0 {
			assert.LessOrEqual(t, r.StackBytes, r.StartBytes, "no copy: the stack held all it used")
			continue
		}
		require.NotEmpty(t, r.Steps)
		bound := r.StartBytes
		if raceEnabled {
			bound *= 2 // the first copy may come before the probe
		}
		assert.LessOrEqual(t, r.Steps[0].StackBytes, bound, "first copy seen at %d B of a %d B start", r.Steps[0].StackBytes, r.StartBytes)
	}
	t.Logf("start sizes seen: %v", sizes)
}
