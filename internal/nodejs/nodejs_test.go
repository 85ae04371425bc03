package nodejs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	res, err := Parse([]byte("runtime: node\nBenchmarkChanPingPong/impl=atomics-2 \t 10 \t 3645 ns/op\n"), "x")
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, "node", res[0].GetConfig("runtime"))
	assert.Equal(t, "ChanPingPong/impl=atomics-2", string(res[0].Name))
	v, ok := res[0].Value("sec/op")
	require.True(t, ok)
	assert.InDelta(t, 3645e-9, v, 1e-15)

	_, err = Parse([]byte("BenchmarkX 1 1\n"), "x")
	assert.ErrorContains(t, err, "x:1")
}

func TestArgs(t *testing.T) {
	assert.Equal(t, []string{"node/bench.js"}, BenchConfig{}.Args())
	assert.Equal(t, []string{"node/bench.js", "-bench", "GC", "-count", "2", "-benchtime", "1x", "-short"},
		BenchConfig{Bench: "GC", Count: 2, Benchtime: "1x", Short: true}.Args())
}

func TestRoot(t *testing.T) {
	t.Setenv("RTLAB_ROOT", "")
	root, err := Root(filepath.Join("..", ".."))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "node", "bench.js"))
	require.NoError(t, err)
	got, err := Root(".")
	require.NoError(t, err)
	assert.Equal(t, root, got, "found from a subdirectory")
	_, err = Root(t.TempDir())
	assert.ErrorContains(t, err, "RTLAB_ROOT")

	t.Setenv("RTLAB_ROOT", t.TempDir())
	_, err = Root(".")
	assert.ErrorContains(t, err, "no node/bench.js")
}

func TestFind(t *testing.T) {
	n, err := Find()
	if errors.Is(err, ErrNotFound) {
		t.Skip(err)
	}
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n.Major, MinMajor)
	t.Setenv("PATH", t.TempDir())
	_, err = Find()
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestTail(t *testing.T) {
	assert.Equal(t, "b\nc", Tail([]byte("a\nb\nc\n"), 2))
	assert.Equal(t, "a", Tail([]byte("a"), 5))
}
