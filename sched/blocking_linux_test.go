//go:build linux

package sched

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/stretchr/testify/require"
)

// TestBlockingFitsFDLimit: under an open-files limit that holds the
// pipes of 100 blocked goroutines and no more (procmem.FitFDs), 101 is an
// error that names the limit, before any child starts.
func TestBlockingFitsFDLimit(t *testing.T) {
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	low := lim
	low.Cur = uint64(procmem.FDSpare + 2*100)
	if low.Cur > lim.Cur {
		t.Skipf("the open-files limit is %d, below the %d this test sets", lim.Cur, low.Cur)
	}
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low))
	t.Cleanup(func() { require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)) })
	_, err := BlockingConfig{Blocked: 100}.withDefaults()
	require.NoError(t, err)
	_, err = Blocking(context.Background(), BlockingConfig{Blocked: 101})
	require.ErrorContains(t, err, fmt.Sprintf("sched: BlockingConfig.Blocked 101 takes a pipe each, and the open-files limit is %d (ulimit -n): 100 of 101 pipes fit", low.Cur))
}
