package sched

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine or a child process
// behind.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
		if kids := childPIDs(); len(kids) > 0 {
			fmt.Fprintln(os.Stderr, "child processes left behind:", kids)
			code = 1
		}
	}
	os.Exit(code)
}

// childPIDs lists the live children of this process from /proc (none where
// there is no /proc).
func childPIDs() []string {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []string
	me := fmt.Sprint(os.Getpid())
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		i := strings.LastIndexByte(string(b), ')')
		if f := strings.Fields(string(b[i+1:])); len(f) > 1 && f[1] == me && f[0] != "Z" {
			kids = append(kids, filepath.Base(filepath.Dir(s)))
		}
	}
	return kids
}

var waitStdin = child.Register("sched_test.wait", func(string) int {
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
})

// The leak check in TestMain sees a live child, and not a reaped one.
func TestChildPIDsSeesLiveChild(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	p, err := waitStdin.Start(context.Background(), child.Options{Timeout: 10 * time.Second})
	require.NoError(t, err)
	assert.Contains(t, childPIDs(), fmt.Sprint(p.Pid()))
	require.NoError(t, p.Stdin.Close())
	res, err := p.Wait()
	require.NoError(t, err)
	require.NoError(t, res.Err())
	assert.NotContains(t, childPIDs(), fmt.Sprint(p.Pid()))
}
