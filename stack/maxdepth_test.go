package stack

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMaxDepth: under debug.SetMaxStack(budget) the Go stack dies at the
// largest power of two under the budget, while the fixed model uses the
// whole budget, so it goes deeper with the same frames.
func TestMaxDepth(t *testing.T) {
	ctx := t.Context()
	for _, frame := range Frames() {
		for _, budget := range []int{DefaultBudget, 300 << 10} {
			t.Run(fmt.Sprintf("frame=%v/budget=%d", frame, budget), func(t *testing.T) {
				g, err := MaxDepth(ctx, MaxDepthConfig{Frame: frame, Budget: budget})
				require.NoError(t, err)
				assert.Equal(t, ModelGo, g.Model)
				assert.Equal(t, fmt.Sprintf("goroutine stack exceeds %d-byte limit", budget), g.Message)
				assert.Equal(t, largestPow2(budget), g.StackSize, "the stack the runtime refused to double")
				assert.LessOrEqual(t, g.StackBytes, g.StackSize)
				assert.Greater(t, g.StackBytes, g.StackSize*3/4, "it died with the stack nearly full")
				assert.Positive(t, g.Growths)

				f, err := MaxDepth(ctx, MaxDepthConfig{Model: ModelFixed, Frame: frame, Budget: budget})
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

func TestMaxDepthBadInput(t *testing.T) {
	_, err := MaxDepth(context.Background(), MaxDepthConfig{Frame: FrameLarge, Budget: 10})
	assert.ErrorContains(t, err, "stack: MaxDepthConfig.Budget 10 bytes must be between")
	_, err = MaxDepth(context.Background(), MaxDepthConfig{Frame: 7})
	assert.ErrorContains(t, err, "stack: MaxDepthConfig.Frame Frame(7) must be")
}
