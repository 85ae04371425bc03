package channels

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestLitmusPinned checks that the non-blocking variants bind their two
// threads to CPUs when the machine allows, the blocking ones never, and
// that the caller's thread keeps its affinity.
func TestLitmusPinned(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var before, after unix.CPUSet
	require.NoError(t, unix.SchedGetaffinity(0, &before))
	canPin := before.Count() >= 2 && runtime.GOMAXPROCS(0) >= 2

	r, err := Litmus(context.Background(), LitmusConfig{Test: LitmusSB, Sync: SyncAtomic, Trials: 100})
	require.NoError(t, err)
	assert.Equal(t, canPin, r.Pinned, "atomic variant, %d CPUs allowed", before.Count())
	r, err = Litmus(context.Background(), LitmusConfig{Test: LitmusSB, Sync: SyncChan, Trials: 100})
	require.NoError(t, err)
	assert.False(t, r.Pinned, "chan variant parks, so it is never pinned")

	require.NoError(t, unix.SchedGetaffinity(0, &after))
	assert.Equal(t, before, after, "the caller's thread keeps its CPUs")
}
