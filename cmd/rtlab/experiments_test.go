package main

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rtlab/rtlab/internal/benchcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rootSuite reads the root package's benchmark functions and the units
// its suite table (suiteUnits in benchmarks_test.go) requires of each.
func rootSuite(t *testing.T) (benches []string, units benchcheck.Required) {
	t.Helper()
	files, err := filepath.Glob("../../benchmarks_*_test.go")
	require.NoError(t, err)
	require.NotEmpty(t, files, "run from cmd/rtlab in a clone")
	fset := token.NewFileSet()
	units = benchcheck.Required{}
	for _, path := range append(files, "../../benchmarks_test.go") {
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && strings.HasPrefix(d.Name.Name, "Benchmark") && !slices.Contains(benches, d.Name.Name) {
					benches = append(benches, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					vs, ok := s.(*ast.ValueSpec)
					if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "suiteUnits" {
						continue
					}
					lit := vs.Values[0].(*ast.CompositeLit)
					for _, e := range lit.Elts {
						kv := e.(*ast.KeyValueExpr)
						name, err := strconv.Unquote(kv.Key.(*ast.BasicLit).Value)
						require.NoError(t, err)
						for _, u := range kv.Value.(*ast.CompositeLit).Elts {
							unit, err := strconv.Unquote(u.(*ast.BasicLit).Value)
							require.NoError(t, err)
							units[name] = append(units[name], unit)
						}
					}
				}
			}
		}
	}
	require.NotEmpty(t, units, "no suiteUnits table in ../../benchmarks_test.go")
	return benches, units
}

// TestEveryRootBenchmarkRuns: every benchmark of the root suite is an
// experiment of rtlab run, under the same name, and every experiment is a
// root benchmark.
func TestEveryRootBenchmarkRuns(t *testing.T) {
	benches, units := rootSuite(t)
	var ours []string
	for _, x := range experiments {
		ours = append(ours, "Benchmark"+x.bench)
	}
	for _, b := range benches {
		assert.Contains(t, ours, b, "the root suite's %s has no rtlab run experiment", b)
		_, ok := units[b]
		assert.True(t, ok, "%s is not in the suite table", b)
	}
	for _, b := range ours {
		assert.Contains(t, benches, b, "rtlab run names %s, which the root suite does not have", b)
	}
}

// smallArgs runs each experiment at a size that takes a second or two;
// slow marks the experiments that start server and load processes or build
// the root suite, which the race detector makes too slow.
var smallArgs = map[string]struct {
	args []string
	slow bool
}{
	"stack-recurse":      {args: []string{"-frame", "small", "-depth", "1000"}},
	"stack-maxdepth":     {args: []string{"-frame", "small"}},
	"stack-spawn":        {args: []string{"-n", "1000"}},
	"stack-start":        {},
	"stack-shrink":       {},
	"stack-closure":      {},
	"alloc-size":         {args: []string{"-size", "64,40000", "-ops", "1000"}},
	"alloc-tiny":         {args: []string{"-count-objects", "10000"}},
	"alloc-parallel":     {args: []string{"-size", "64"}},
	"alloc-reuse":        {args: []string{"-size", "64", "-ops", "10000"}},
	"alloc-stride":       {args: []string{"-stride", "64", "-mib", "8"}},
	"gc-shape":           {args: []string{"-survival", "0.2", "-ptrs", "low", "-live-mib", "4"}},
	"gc-setting":         {args: []string{"-live-mib", "4"}},
	"gc-observe":         {args: []string{"-calls", "20"}},
	"gc-sampler":         {args: []string{"-interval", "10ms", "-live-mib", "4", "-churns", "3"}},
	"chan-litmus":        {args: []string{"-trials", "100"}},
	"chan-pingpong":      {args: []string{"-rounds", "256"}},
	"chan-throughput":    {args: []string{"-cap", "0,64", "-batch", "1,64", "-msgs", "1024"}},
	"chan-contended":     {},
	"sched-preempt":      {args: []string{"-loop", "30ms"}},
	"sched-parallel":     {args: []string{"-mib", "1", "-workers", "2"}},
	"sched-blocking":     {args: []string{"-blocked", "10"}},
	"sched-falsesharing": {},
	"sched-looptask":     {},
	"ws-frame-read":      {args: []string{"-impl", "rtlab,gorilla", "-size", "1024", "-benchtime", "1000x"}, slow: true},
	"ws-frame-write":     {args: []string{"-impl", "rtlab", "-size", "16", "-benchtime", "1000x"}, slow: true},
	"ws-idleconns":       {args: []string{"-server", "reactor", "-conns", "50", "-tls", "off,on"}, slow: true},
	"ws-echo":            {args: []string{"-server", "reactor", "-conns", "50", "-size", "64", "-flood", "2"}, slow: true},
	"ws-echo-rate":       {args: []string{"-server", "reactor", "-conns", "50", "-rate", "500", "-duration", "200ms", "-tls", "on"}, slow: true},
	"ws-lifecycle":       {args: []string{"-server", "goroutine", "-conns", "50", "-tls", "off"}, slow: true},
	"ws-reconnect":       {args: []string{"-server", "reactor", "-conns", "50"}, slow: true},
}

// TestExperimentsReportSuiteUnits runs every experiment small and checks
// its -o file as CI checks the suite's smoke run: it parses as benchstat
// reads it, every level is key=value, and every row has the units the
// suite table requires of its benchmark.
func TestExperimentsReportSuiteUnits(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs every experiment")
	}
	_, units := rootSuite(t)
	// stack-closure and sched-looptask time their op with
	// testing.Benchmark, which runs for go test's -test.benchtime (1s
	// unless set): a few ops give the same rows and units.
	bt := flag.Lookup("test.benchtime")
	old := bt.Value.String()
	require.NoError(t, bt.Value.Set("100x"))
	t.Cleanup(func() { require.NoError(t, bt.Value.Set(old)) })
	for _, x := range experiments {
		t.Run(x.name, func(t *testing.T) {
			small, ok := smallArgs[x.name]
			require.True(t, ok, "no small arguments for %s in smallArgs", x.name)
			if small.slow && raceEnabled {
				t.Skip("servers, loads and the suite's build are too slow under the race detector")
			}
			out := filepath.Join(t.TempDir(), "r.txt")
			_, stderr, code := run(t, append(append([]string{"run", x.name}, small.args...), "-o", out)...)
			require.Zero(t, code, stderr)
			f, err := os.Open(out)
			require.NoError(t, err)
			defer f.Close()
			name := "Benchmark" + x.bench
			rep, err := benchcheck.Check(f, out, benchcheck.Required{name: units[name]})
			require.NoError(t, err)
			assert.NoError(t, rep.Err())
			assert.Positive(t, rep.Results)
		})
	}
}

// BenchmarkCPULine does nothing: TestCPUNameIsGoTests runs it to read the
// cpu line go test prints.
func BenchmarkCPULine(b *testing.B) {
	for b.Loop() {
	}
}

// TestCPUNameIsGoTests: the cpu line of rtlab run -o is the one go test
// prints on this machine, so benchstat pairs the two files' rows.
func TestCPUNameIsGoTests(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	out, err := exec.CommandContext(t.Context(), exe, "-test.run", "^$", "-test.bench", "^BenchmarkCPULine$", "-test.benchtime", "1x").Output()
	require.NoError(t, err)
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "cpu: "); ok {
			line = v
		}
	}
	assert.Equal(t, line, cpuName(), "go test printed:\n%s", out)
}

func TestBrandString(t *testing.T) {
	// "  Fast CPU" followed by NULs, four bytes a register, low byte first.
	regs := [12]uint32{0x61462020, 0x43207473, 0x00005550}
	assert.Equal(t, "Fast CPU", brandString(regs))
}
