package rtlab

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rtlab/rtlab/internal/benchcheck"
	"github.com/rtlab/rtlab/internal/runinfo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"
)

// suiteUnits is the contract of the suite: the units every result of each
// benchmark must report. CI checks the smoke run against it (TestSuiteOutput)
// and TestSuiteTable keeps it in step with the benchmark functions.
var suiteUnits = benchcheck.Required{
	// stack
	"BenchmarkStackRecurse":  {"ns/op", "stack-B", "growths"},
	"BenchmarkStackMaxDepth": {"max-depth"},
	"BenchmarkStackSpawn":    {"ns/op", "stack-B"},
	"BenchmarkStackStart":    {"start-B", "used-B", "growths", "ns/spawn"},
	"BenchmarkStackShrink":   {"stacks-before-B", "stacks-after-B", "regrowths"},
	"BenchmarkStackClosure":  {"ns/op", "B/op", "allocs/op"},
	// alloc
	"BenchmarkAllocSize":     {"ns/op", "B/op", "allocs/op", "waste-%"},
	"BenchmarkAllocTiny":     {"ns/op", "heap-B/obj"},
	"BenchmarkAllocParallel": {"ns/op"},
	"BenchmarkAllocReuse":    {"ns/op", "B/op", "gcs/Mobj"},
	"BenchmarkAllocStride":   {"ns/access"},
	// gc
	"BenchmarkGCShape":   {"p50-pause-ns", "p99-pause-ns", "gc-cpu-%", "scan-B/cycle", "gcs/op", "ptrs/KiB"},
	"BenchmarkGCSetting": {"gc-cpu-%", "peak-RSS-B", "gcs/op"},
	"BenchmarkGCObserve": {"p50-ns", "p99-ns"},
	"BenchmarkGCSampler": {"overhead-%"},
	// channels
	"BenchmarkChanLitmus":     {"forbidden/Mtrials", "trials/s"},
	"BenchmarkChanPingPong":   {"ns/op"},
	"BenchmarkChanThroughput": {"ns/op", "msgs/s"},
	"BenchmarkChanContended":  {"ns/op"},
	// sched
	"BenchmarkSchedPreempt":      {"p50-delay-ns", "max-delay-ns"},
	"BenchmarkSchedParallel":     {"ns/op", "speedup"},
	"BenchmarkSchedBlocking":     {"p99-delay-ns", "threads"},
	"BenchmarkSchedFalseSharing": {"ns/op"},
	"BenchmarkSchedLoopTask":     {"ns/op", "B/op", "allocs/op"},
	// wsconn
	"BenchmarkWSFrameRead":  {"MB/s", "B/op", "allocs/op"},
	"BenchmarkWSFrameWrite": {"MB/s", "B/op", "allocs/op"},
	"BenchmarkWSIdleConns":  {"B/conn", "heap-B/conn", "goroutines/conn"},
	"BenchmarkWSEcho":       {"p50-ns", "p99-ns", "msgs/s"},
	"BenchmarkWSEchoRate":   {"p50-ns", "p99-ns", "p999-ns", "send-p99-ns", "achieved-msgs/s"},
	"BenchmarkWSLifecycle":  {"establish-B/conn", "flood-B/conn", "close-returned-%"},
	"BenchmarkWSReconnect":  {"conns/s", "server-cpu-us/conn", "resumed-%"},
}

var checkFile = flag.String("suite.check", "", "benchmark output `file` to check against the suite table (used by .ci/run)")

func TestMain(m *testing.M) {
	flag.Parse()
	// Configuration lines go before any result so a saved file carries its
	// context; benchstat reads them as "key: value" configuration.
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		for _, l := range runinfo.Lines() {
			fmt.Println(l)
		}
	}
	os.Exit(m.Run())
}

// TestSuiteOutput checks a saved run of the suite (go test -bench ... >
// file) with -suite.check=file; .ci/run does this on its smoke run.
func TestSuiteOutput(t *testing.T) {
	if *checkFile == "" {
		t.Skip("no -suite.check file given; .ci/run passes its smoke output here")
	}
	f, err := os.Open(*checkFile)
	require.NoError(t, err)
	defer f.Close()
	rep, err := benchcheck.Check(f, *checkFile, suiteUnits)
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	require.Positive(t, rep.Results, "no benchmark results in %s", *checkFile)
	t.Logf("%s: %d results, all well-formed", *checkFile, rep.Results)
}

// TestSuiteTable keeps suiteUnits and the root Benchmark functions in step:
// a benchmark without a row would go unchecked, a row without a benchmark
// would fail every smoke run.
func TestSuiteTable(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	var funcs []string
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Benchmark") {
				funcs = append(funcs, fd.Name.Name)
			}
		}
	}
	var rows []string
	for name := range suiteUnits {
		rows = append(rows, name)
	}
	slices.Sort(funcs)
	slices.Sort(rows)
	assert.Equal(t, rows, funcs)
}

// TestConfigLinesPrecedeResults runs this test binary as a user would run
// the suite and checks that benchfmt attaches the configuration lines that
// TestMain prints to the results that follow them.
func TestConfigLinesPrecedeResults(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$", "-test.bench=^BenchmarkStackSpawn$", "-test.benchtime=1x")
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	rep, err := benchcheck.Check(bytes.NewReader(out), "suite", nil)
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	require.Equal(t, 1, rep.Results, "%s", out)

	r := benchfmt.NewReader(bytes.NewReader(out), "suite")
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		for _, l := range runinfo.Lines() {
			assert.Equal(t, l.Value, res.GetConfig(l.Key), "config %q", l.Key)
		}
	}
}
