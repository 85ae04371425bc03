package stack

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecurseBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		call  func() error
		wants string
	}{
		{"depth=0", func() error { _, err := Recurse(0, Small); return err }, "stack: depth 0 must be > 0"},
		{"depth=-1", func() error { _, err := RecurseFixed(-1, Small, DefaultBudget); return err }, "stack: depth -1 must be > 0"},
		{"frame=0", func() error { _, err := Recurse(10, 0); return err }, "stack: frame Frame(0) must be"},
		{"frame=3", func() error { _, err := FixedMaxDepth(3, DefaultBudget); return err }, "stack: frame Frame(3) must be"},
		{"budget=small", func() error { _, err := RecurseFixed(10, Large, 1000); return err }, "stack: budget 1000 bytes must be between"},
		{"budget=huge", func() error { _, err := FixedMaxDepth(Small, 1<<40); return err }, "stack: budget 1099511627776 bytes must be between"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wants)
		})
	}
}

// TestRecurseGrowth checks what the probe measures against what a doubling
// stack must show: bytes in use grow with depth by a fixed frame size, the
// stack is copied at least log2(peak/start) times, and each copy happens
// once the stack in use passed the previous size.
func TestRecurseGrowth(t *testing.T) {
	for _, frame := range []Frame{Small, Large} {
		t.Run("frame="+frame.String(), func(t *testing.T) {
			var prev Result
			for _, depth := range []int{1000, 10000, 100000} {
				r, err := Recurse(depth, frame)
				require.NoError(t, err)
				require.Equal(t, depth, r.Depth)
				perFrame := float64(r.StackBytes) / float64(depth)
				if frame == Large {
					assert.GreaterOrEqual(t, perFrame, 1024.0, "a large frame holds 1 KiB of locals")
				} else {
					assert.Less(t, perFrame, 256.0, "a small frame is a few words")
				}
				assert.Greater(t, r.StackBytes, prev.StackBytes, "bytes in use grow with depth")
				assert.GreaterOrEqual(t, r.Growths, prev.Growths)
				require.Len(t, r.Steps, r.Growths)
				require.NotEmpty(t, r.Steps)
				size := r.StartBytes // the stack's size before each copy
				if raceEnabled {
					// The race detector's larger frames above the probe can
					// fill the start stack before the probe exists; begin
					// from the first copy it saw.
					for size < r.Steps[0].StackBytes {
						size *= 2
					}
				}
				assert.GreaterOrEqual(t, float64(r.Growths), math.Log2(float64(r.StackBytes)/float64(size)),
					"start %d B, peak %d B", size, r.StackBytes)
				for i, s := range r.Steps {
					assert.LessOrEqual(t, s.StackBytes, size, "copy %d at %d B: the stack had %d B", i, s.StackBytes, size)
					if i > 0 {
						assert.Greater(t, s.StackBytes, size/2, "copy %d at %d B: the previous stack had %d B", i, s.StackBytes, size/2)
						assert.Greater(t, s.Depth, r.Steps[i-1].Depth)
					}
					size *= 2
				}
				assert.LessOrEqual(t, r.StackBytes, size, "the final stack holds the peak")
				prev = r
			}
		})
	}
}

// TestRecurseMillion: the Go stack grows to what the recursion needs, up to
// the runtime's maximum; Small frames reach a million deep.
func TestRecurseMillion(t *testing.T) {
	r, err := Recurse(1_000_000, Small)
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
	r, err := Recurse(1_000_000, Large)
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
	for _, frame := range []Frame{Small, Large} {
		for _, budget := range []int{DefaultBudget, 64 << 10} {
			r, err := RecurseFixed(1_000_000, frame, budget)
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

			m, err := FixedMaxDepth(frame, budget)
			require.NoError(t, err)
			assert.Equal(t, r.Depth, m.Depth, "FixedMaxDepth is RecurseFixed without a target")
			assert.Equal(t, "fixed", m.Model)
			assert.Contains(t, m.Message, "maximum call stack size exceeded")
		}
		r, err := RecurseFixed(100, frame, DefaultBudget)
		require.NoError(t, err, "100 frames fit in 984 KiB")
		assert.Equal(t, 100, r.Depth)
	}
}

func TestOverflowErrorIs(t *testing.T) {
	err := error(&OverflowError{Frame: Small, Depth: 3, StackBytes: 10, Budget: 16})
	assert.True(t, errors.Is(err, ErrStackOverflow))
	assert.Equal(t, "stack: maximum call stack size exceeded: frame=small reached depth 3 using 10 of 16 bytes", err.Error())
}

func TestLargestPow2(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, DefaultBudget: 512 << 10, 1 << 20: 1 << 20, 1_000_000_000: 512 << 20} {
		assert.Equal(t, want, largestPow2(n), "n=%d", n)
	}
}
