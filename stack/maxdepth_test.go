package stack

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGoMaxDepth: under debug.SetMaxStack(budget) the Go stack dies at the
// largest power of two under the budget, while the fixed model uses the
// whole budget, so it goes deeper with the same frames.
func TestGoMaxDepth(t *testing.T) {
	ctx := t.Context()
	for _, frame := range []Frame{Small, Large} {
		for _, budget := range []int{DefaultBudget, 300 << 10} {
			t.Run(fmt.Sprintf("frame=%v/budget=%d", frame, budget), func(t *testing.T) {
				g, err := GoMaxDepth(ctx, frame, budget)
				require.NoError(t, err)
				assert.Equal(t, "go", g.Model)
				assert.Equal(t, fmt.Sprintf("goroutine stack exceeds %d-byte limit", budget), g.Message)
				assert.Equal(t, largestPow2(budget), g.StackSize, "the stack the runtime refused to double")
				assert.LessOrEqual(t, g.StackBytes, g.StackSize)
				assert.Greater(t, g.StackBytes, g.StackSize*3/4, "it died with the stack nearly full")
				assert.Positive(t, g.Growths)

				f, err := FixedMaxDepth(frame, budget)
				require.NoError(t, err)
				assert.Greater(t, f.Depth, g.Depth)
				// Same frames on both sides: the depths are in the ratio of the
				// stack each could use.
				want := float64(f.StackBytes) / float64(g.StackBytes)
				got := float64(f.Depth) / float64(g.Depth)
				assert.InEpsilon(t, want, got, 0.02, "fixed %d frames in %d B, go %d frames in %d B", f.Depth, f.StackBytes, g.Depth, g.StackBytes)
			})
		}
	}
}

func TestGoMaxDepthBadInput(t *testing.T) {
	_, err := GoMaxDepth(context.Background(), Large, 10)
	assert.ErrorContains(t, err, "stack: budget 10 bytes must be between")
	_, err = GoMaxDepth(context.Background(), 7, DefaultBudget)
	assert.ErrorContains(t, err, "stack: frame Frame(7) must be")
}
