//go:build linux

package procmem

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSelfGrowsWithTouchedMemory maps 64 MiB outside the Go heap and
// touches every page: RSS grows by it. A heap buffer would not do under
// -count N, where the heap reuses the pages of the previous run's buffer,
// still resident, and RSS does not grow.
func TestSelfGrowsWithTouchedMemory(t *testing.T) {
	before, err := Self()
	require.NoError(t, err)
	assert.NotZero(t, before.RSS)
	assert.GreaterOrEqual(t, before.VSS, before.RSS)

	const n = 64 << 20
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, syscall.Munmap(mem)) })
	for i := 0; i < n; i += os.Getpagesize() {
		mem[i] = 1 // touch every page so it becomes resident
	}
	after, err := Self()
	require.NoError(t, err)
	// At least half of the touched pages must show up as resident: the rest
	// of the process cannot shrink by more than that in between.
	assert.Greater(t, after.RSS, before.RSS+n/2)
	assert.Greater(t, after.VSS, before.VSS+n/2, "the mapping is in the virtual size")
}

func TestReadByPIDMatchesSelf(t *testing.T) {
	s, err := Read(os.Getpid())
	require.NoError(t, err)
	assert.NotZero(t, s.RSS)
	if s.HasPSS {
		assert.NotZero(t, s.PSS)
	}
}

func TestReadErrors(t *testing.T) {
	_, err := Read(-1)
	assert.ErrorContains(t, err, "negative")
	_, err = Read(1 << 30) // above pid_max on every Linux
	assert.ErrorContains(t, err, "procmem:")
}

func TestKbField(t *testing.T) {
	data := []byte("Name:\tx\nVmRSS:\t  1234 kB\nBad:\t12 MB\n")
	v, ok, err := kbField(data, "VmRSS:")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, uint64(1234<<10), v)
	_, ok, err = kbField(data, "Missing:")
	require.NoError(t, err)
	assert.False(t, ok)
	_, _, err = kbField(data, "Bad:")
	assert.ErrorContains(t, err, "cannot parse")
}

func TestOpenFDs(t *testing.T) {
	n := OpenFDs()
	require.Positive(t, n)
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	assert.Equal(t, n+1, OpenFDs())
	require.NoError(t, f.Close())
	assert.Equal(t, n, OpenFDs())
}

// TestCPUGrowsWhileBusy spins until the process's CPU time moves on: it
// must, within a generous bound, on any machine however loaded.
func TestCPUGrowsWhileBusy(t *testing.T) {
	before, err := Self()
	require.NoError(t, err)
	deadline := time.Now().Add(30 * time.Second)
	x := uint64(1)
	for time.Now().Before(deadline) {
		for range 1 << 20 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		now, err := Self()
		require.NoError(t, err)
		if now.CPU > before.CPU {
			t.Logf("CPU %v → %v (x=%d)", before.CPU, now.CPU, x%2)
			return
		}
	}
	t.Fatalf("CPU time stayed at %v through 30 s of spinning", before.CPU)
}

func TestCountCPUList(t *testing.T) {
	for list, want := range map[string]int{"0-63\n": 64, "0,2-5": 5, "3": 1, "0-1,4-5,7": 5, "": 0, "x": 0, "5-2": 0} {
		assert.Equal(t, want, countCPUList(list), "%q", list)
	}
	assert.GreaterOrEqual(t, OnlineCPUs(), runtime.NumCPU())
	assert.GreaterOrEqual(t, RSSBatch(), uint64(32*os.Getpagesize()))
	assert.Equal(t, RSSBatch()*uint64(runtime.NumCPU()), RSSSkew())
}
