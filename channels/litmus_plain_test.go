//go:build !race

package channels

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const raceEnabled = false

// TestLitmusPlain reports what the racy plain variant does on this machine;
// it asserts only that every trial is counted, since the outcome is the
// hardware's to choose (on x86 SB shows r1=r2=0, MP does not misbehave).
func TestLitmusPlain(t *testing.T) {
	for _, l := range Litmuses() {
		r, err := RunLitmus(l, Plain, litmusTrials())
		require.NoError(t, err)
		checkCounts(t, r)
		t.Logf("%s/plain: %v, forbidden %d (%.0f per million), parallel=%v", l, r.Counts, r.Forbidden, r.PerMillion(), r.Parallel)
	}
}
