package scanpath

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestProbeSeparates checks that the probe's ratio is near one of the two
// values the paths predict (1 and 8/256), not somewhere between: a ratio
// in the middle would mean the layout or the runtime's accounting changed
// and the midpoint rule no longer tells the paths apart. Within 0.1 of the
// prediction: the probe's 1 MiB against what a test binary allocates
// between two GCs (a few KiB) is far finer than that. With one mark
// worker (GOMAXPROCS 1): with more, an idle worker can take a span before
// an eighth of it is marked and count it as on the scalar path, a share
// that depends on the cores (the gc package doc, "Two scan paths").
func TestProbeSeparates(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	path, ratio := Probe()
	t.Logf("path %s, ratio %.4f", path, ratio)
	want := map[string]float64{Vector: 1, Scalar: 8.0 / 256}[path]
	assert.InDelta(t, want, ratio, 0.1)
	assert.Equal(t, path, Current(), "a second probe disagrees with the first")
}
