//go:build linux

package procmem

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFDLimit: FDLimit is the soft "Max open files" of /proc/self/limits.
func TestFDLimit(t *testing.T) {
	b, err := os.ReadFile("/proc/self/limits")
	require.NoError(t, err)
	i := bytes.Index(b, []byte("Max open files"))
	require.GreaterOrEqual(t, i, 0, "%s", b)
	f := bytes.Fields(b[i+len("Max open files"):])
	require.NotEmpty(t, f)
	soft, err := strconv.Atoi(string(f[0]))
	require.NoError(t, err, "soft limit %q", f[0])
	assert.Equal(t, soft, FDLimit())
}

func TestFitFDs(t *testing.T) {
	limit := FDLimit()
	if limit < FDSpare+10 {
		t.Skipf("the open-files limit is %d, too low for the cases below", limit)
	}
	n, why := FitFDs(10, 1, 0, "things")
	assert.Equal(t, 10, n)
	assert.Empty(t, why)
	n, why = FitFDs(0, 2, 0, "things")
	assert.Zero(t, n)
	assert.Empty(t, why)

	n, why = FitFDs(limit, 1, 0, "things")
	assert.Equal(t, limit-FDSpare, n)
	assert.Equal(t, fmt.Sprintf("the open-files limit is %d (ulimit -n): %d of %d things fit, at 1 fd each, with 0 open and %d spare", limit, n, limit, FDSpare), why)
	n, why = FitFDs(limit, 2, 10, "pairs")
	assert.Equal(t, (limit-10-FDSpare)/2, n)
	assert.Contains(t, why, fmt.Sprintf("%d of %d pairs fit, at 2 fd each, with 10 open", n, limit))
	n, why = FitFDs(3, 1, limit, "things")
	assert.Zero(t, n, "none fit where the limit is held already")
	assert.Contains(t, why, "0 of 3 things fit")
}
