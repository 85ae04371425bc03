package scanpath

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestProbeSeparates checks that the probe's ratio is near one of the two
// values the paths predict (1 and 8/256), not somewhere between: a ratio
// in the middle would mean the layout or the runtime's accounting changed
// and the midpoint rule no longer tells the paths apart. Within 0.1 of the
// prediction: the probe's 1 MiB against what a test binary allocates
// between two GCs (a few KiB) is far finer than that.
func TestProbeSeparates(t *testing.T) {
	path, ratio := Probe()
	t.Logf("path %s, ratio %.4f", path, ratio)
	want := map[string]float64{Vector: 1, Scalar: 8.0 / 256}[path]
	assert.InDelta(t, want, ratio, 0.1)
	assert.Equal(t, path, Current(), "a second probe disagrees with the first")
}
