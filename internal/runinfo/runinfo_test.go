package runinfo

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"
)

func TestLinesParseAsConfig(t *testing.T) {
	var out strings.Builder
	for _, l := range Lines() {
		out.WriteString(l.String() + "\n")
	}
	out.WriteString("BenchmarkX 1 2 ns/op\n")
	r := benchfmt.NewReader(strings.NewReader(out.String()), "x")
	require.True(t, r.Scan())
	res, ok := r.Result().(*benchfmt.Result)
	require.True(t, ok, "got %#v", r.Result())
	for _, k := range []string{"runtime", "go", "gogc", "gomemlimit", "gc", "gcscan"} {
		assert.NotEmpty(t, res.GetConfig(k), k)
	}
	assert.Equal(t, "go", res.GetConfig("runtime"))
	assert.Contains(t, []string{"vector", "scalar"}, res.GetConfig("gcscan"))
}

func TestEffectiveSettings(t *testing.T) {
	old := debug.SetGCPercent(50)
	assert.Equal(t, "50", GOGC())
	debug.SetGCPercent(-1)
	assert.Equal(t, "off", GOGC())
	debug.SetGCPercent(old)

	oldLim := debug.SetMemoryLimit(1 << 30)
	assert.Equal(t, "1073741824", GOMemLimit())
	debug.SetMemoryLimit(oldLim)
}

func TestCollector(t *testing.T) {
	assert.Equal(t, "greentea", Collector(""))
	assert.Equal(t, "classic", Collector("nogreenteagc"))
	assert.Equal(t, "classic", Collector("foo,nogreenteagc"))
}
