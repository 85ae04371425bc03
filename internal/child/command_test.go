package child

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shellCtl is a child in another language (POSIX sh) speaking the control
// protocol: ready with its parent's pid, then each command echoed back.
const shellCtl = `printf '{"data":"%s"}\n' "$RTLAB_CHILD_PPID"
while read -r cmd arg; do
	case "$cmd" in
	echo) printf '{"data":"%s"}\n' "$arg" ;;
	fail) printf '{"err":"failed: %s"}\n' "$arg" ;;
	quit) printf '{}\n'; exit 0 ;;
	esac
done`

func TestCommandCtl(t *testing.T) {
	var ppid string
	c, err := Command{Name: "sh-ctl", Path: "sh", Args: []string{"-c", shellCtl}}.StartCtl(context.Background(), Options{Timeout: time.Minute}, &ppid)
	require.NoError(t, err)
	t.Cleanup(c.Kill)
	assert.Equal(t, fmt.Sprint(os.Getpid()), ppid, "the command gets RTLAB_CHILD_PPID")
	var got string
	require.NoError(t, c.Call("echo hello", &got))
	assert.Equal(t, "hello", got)
	assert.EqualError(t, c.Call("fail x", nil), "failed: x")
	require.NoError(t, c.Call("quit", nil))
	require.NoError(t, c.End())
}

func TestCommandNotReady(t *testing.T) {
	_, err := Command{Path: "sh", Args: []string{"-c", "echo 'no such module' >&2; exit 3"}}.StartCtl(context.Background(), Options{Timeout: time.Minute}, nil)
	require.Error(t, err)
	assert.ErrorContains(t, err, "sh (pid", "the error names the command")
	assert.ErrorContains(t, err, "exit code 3")
	assert.ErrorContains(t, err, "no such module", "the error carries its stderr")

	_, err = Command{Path: "/nonexistent/rtlab-child"}.StartCtl(context.Background(), Options{}, nil)
	assert.ErrorContains(t, err, "start rtlab-child")
	_, err = Command{}.StartCtl(context.Background(), Options{}, nil)
	assert.ErrorContains(t, err, "Command.Path is empty")
}

func TestCommandKilledAtTimeout(t *testing.T) {
	_, err := Command{Path: "sh", Args: []string{"-c", "echo sleeping >&2; exec sleep 60"}}.StartCtl(context.Background(), Options{Timeout: 2 * time.Second}, nil)
	require.ErrorIs(t, err, ErrTimeout)
	assert.ErrorContains(t, err, "sleeping", "the error carries its stderr")
}
