package rtlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/benchcheck"
	"github.com/rtlab/rtlab/internal/nodejs"
	"github.com/rtlab/rtlab/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"
)

// The Node.js half (node/bench.js) prints the Go suite's benchmark names so
// that benchstat pairs the two runtimes row by row. suiteUnits stays the one
// list of names and units; the tables below say where Node differs, so a
// difference is a decision written down, not a weakened check.

// nodeOnlyBenchmarks are Node benchmarks with no Go twin, with the units
// every result of each must report.
var nodeOnlyBenchmarks = benchcheck.Required{
	"BenchmarkAllocHeap":   {"ns/op", "heap-B/obj"},
	"BenchmarkAllocPage":   {"page-B"},
	"BenchmarkBufferAlloc": {"ns/op", "B/op", "pooled-%"},
}

// nodeExtraUnits are the units a Node result may report beyond the suite
// table's for its benchmark.
var nodeExtraUnits = map[string][]string{
	"BenchmarkStackMaxDepth": {"stack-B/frame"},                                                            // V8 bytes per level
	"BenchmarkGCShape":       {"minor-gcs/op", "major-gcs/op", "p99-minor-pause-ns", "p99-major-pause-ns"}, // scavenge vs mark-compact
	"BenchmarkGCObserve":     {"snapshot-B"},                                                               // heap snapshot file size
	"BenchmarkChanContended": {"lost-%"},                                                                   // plain increments lost
	"BenchmarkSchedParallel": {"MB/s"},                                                                     // Go prints it too (b.SetBytes)
	"BenchmarkSchedPreempt":  {"loop-ns", "eld-p99-ns", "eld-max-ns"},                                      // Go prints loop-ns too
}

// goOnlyUnits are suite units that Node results of the benchmark do not
// report, and why.
var goOnlyUnits = map[string][]string{
	"BenchmarkGCShape":      {"scan-B/cycle"},         // V8 does not expose the bytes a cycle scanned
	"BenchmarkAllocSize":    {"allocs/op", "waste-%"}, // no allocation counter, no size classes in V8
	"BenchmarkWSFrameRead":  {"allocs/op"},            // V8 counts no objects; B/op is measured (node/wsframe.js)
	"BenchmarkWSFrameWrite": {"allocs/op"},            // likewise
}

var nodeCheckFile = flag.String("node.check", "", "node/bench.js output `file` to check against the suite table (used by .ci/run)")

// nodeRequired is what every Node run of the whole suite must show: each
// benchmark Node implements, with the suite's units less the Go-only ones.
func nodeRequired() benchcheck.Required {
	req := benchcheck.Required{}
	for _, name := range []string{
		"BenchmarkStackMaxDepth", "BenchmarkAllocSize", "BenchmarkGCShape", "BenchmarkGCObserve",
		"BenchmarkChanLitmus", "BenchmarkChanPingPong", "BenchmarkChanContended",
		"BenchmarkSchedParallel", "BenchmarkSchedPreempt", "BenchmarkSchedFalseSharing",
		"BenchmarkWSFrameRead", "BenchmarkWSFrameWrite",
	} {
		for _, u := range suiteUnits[name] {
			if !slices.Contains(goOnlyUnits[name], u) {
				req[name] = append(req[name], u)
			}
		}
	}
	for name, units := range nodeOnlyBenchmarks {
		req[name] = units
	}
	return req
}

// checkNodeOutput checks node/bench.js output: well-formed benchfmt with
// configuration runtime: node, every benchmark and unit of nodeRequired,
// no unit outside the suite table and the Node tables, and the -procs
// suffix on every name (none when procs is 1, as go test prints).
func checkNodeOutput(r io.Reader, file string, procs int) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	rep, err := benchcheck.Check(bytes.NewReader(data), file, nodeRequired())
	if err != nil {
		return err
	}
	if err := rep.Err(); err != nil {
		return err
	}
	if rep.Results == 0 {
		return fmt.Errorf("%s: no benchmark results", file)
	}
	var problems []string
	br := benchfmt.NewReader(bytes.NewReader(data), file)
	for br.Scan() {
		res, ok := br.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		base, parts := res.Name.Parts()
		name := "Benchmark" + string(base)
		full := "Benchmark" + string(res.Name.Full())
		if got := res.GetConfig("runtime"); got != "node" {
			problems = append(problems, fmt.Sprintf("%s: config runtime is %q, want node", full, got))
		}
		want := ""
		if procs != 1 {
			want = fmt.Sprintf("-%d", procs)
		}
		got := ""
		if len(parts) > 0 && parts[len(parts)-1][0] == '-' {
			got = string(parts[len(parts)-1])
		}
		if got != want {
			problems = append(problems, fmt.Sprintf("%s: procs suffix %q, want %q", full, got, want))
		}
		allowed, inSuite := suiteUnits[name]
		if !inSuite {
			allowed, inSuite = nodeOnlyBenchmarks[name]
		}
		if !inSuite {
			problems = append(problems, fmt.Sprintf("%s: %s is neither in the suite table nor in nodeOnlyBenchmarks", full, name))
			continue
		}
		for _, v := range res.Values {
			u := v.OrigUnit // set only when benchfmt tidied the unit (ns/op to sec/op)
			if u == "" {
				u = v.Unit
			}
			// go test prints ns/op for every benchmark that does not set
			// it to 0, so the suite table lists it only where it matters.
			if u != "ns/op" && !slices.Contains(allowed, u) && !slices.Contains(nodeExtraUnits[name], u) {
				problems = append(problems, fmt.Sprintf("%s: unit %q is in neither the suite table nor nodeExtraUnits", full, u))
			}
		}
	}
	if err := br.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %d problem(s):\n\t%s", file, len(problems), strings.Join(problems, "\n\t"))
	}
	return nil
}

// nodeBin returns the node on PATH, or skips the test saying why. When
// node/node_modules is missing and node/package.json exists it installs
// from the lockfile with npm ci first.
func nodeBin(t testing.TB) nodejs.Node {
	t.Helper()
	node, err := nodejs.Find()
	if errors.Is(err, nodejs.ErrNotFound) {
		t.Skip(err)
	}
	require.NoError(t, err)
	require.NoError(t, nodejs.EnsureDeps(t.Context(), "."))
	return node
}

// runNode runs node with args in the module root under a deadline (see
// nodejs.Node.Run). The process is killed if the test ends first. It
// returns stdout, stderr and the exit code.
func runNode(t *testing.T, node nodejs.Node, timeout time.Duration, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	o, err := node.Run(ctx, ".", args...)
	require.NoError(t, err, "node %s did not finish in %v", strings.Join(args, " "), timeout)
	return o.Stdout, o.Stderr, o.ExitCode
}

// TestNodeSmoke runs every Node benchmark once with -short and checks the
// output against the suite table.
func TestNodeSmoke(t *testing.T) {
	node := nodeBin(t)
	out, stderr, code := runNode(t, node, 3*time.Minute, "node/bench.js", "-benchtime", "1x", "-short")
	require.Zero(t, code, "node/bench.js failed\nstderr:\n%s", stderr)
	require.NoError(t, checkNodeOutput(bytes.NewReader(out), "node/bench.js", runtime.GOMAXPROCS(0)), "%s", out)
}

// TestNodeOutput checks a saved run of node/bench.js with -node.check=file;
// .ci/run does this on its smoke run.
func TestNodeOutput(t *testing.T) {
	if *nodeCheckFile == "" {
		t.Skip("no -node.check file given; .ci/run passes its Node smoke output here")
	}
	f, err := os.Open(*nodeCheckFile)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, checkNodeOutput(f, *nodeCheckFile, runtime.GOMAXPROCS(0)))
}

func TestCheckNodeOutput(t *testing.T) {
	const head = "runtime: node\n"
	var good strings.Builder
	good.WriteString(head)
	for name, units := range nodeRequired() {
		fmt.Fprintf(&good, "%s/k=v-2 1", name)
		for _, u := range units {
			fmt.Fprintf(&good, " 1 %s", u)
		}
		good.WriteString("\n")
	}
	require.NoError(t, checkNodeOutput(strings.NewReader(good.String()), "x", 2))
	for _, tc := range []struct{ name, extra, want string }{
		{"unknown benchmark", "BenchmarkNope/k=v-2 1 1 ns/op\n", "neither in the suite table"},
		{"unknown unit", "BenchmarkChanPingPong/impl=x-2 1 1 ns/op 1 bogus-B\n", `unit "bogus-B"`},
		{"missing unit", "BenchmarkChanLitmus/test=sb/sync=plain-2 1 1 trials/s\n", `missing unit "forbidden/Mtrials"`},
		{"wrong procs", "BenchmarkChanPingPong/impl=x-4 1 1 ns/op\n", `procs suffix "-4"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, checkNodeOutput(strings.NewReader(good.String()+tc.extra), "x", 2), tc.want)
		})
	}
	assert.ErrorContains(t, checkNodeOutput(strings.NewReader("runtime: go\n"+good.String()[len(head):]), "x", 2), "want node")
}

// TestNodeFlags: bad usage of node/bench.js exits 2 naming the flag.
func TestNodeFlags(t *testing.T) {
	node := nodeBin(t)
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"-nope"}, "-nope"},
		{[]string{"-count", "0"}, "-count"},
		{[]string{"-benchtime", "3q"}, "-benchtime"},
		{[]string{"-bench", "("}, "-bench"},
		{[]string{"-bench"}, "-bench"},
		{[]string{"-short=maybe"}, "-short"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, stderr, code := runNode(t, node, time.Minute, append([]string{"node/bench.js"}, tc.args...)...)
			assert.Equal(t, 2, code, "stderr: %s", stderr)
			assert.Empty(t, out)
			assert.Contains(t, string(stderr), tc.flag)
		})
	}
}

// TestNodeSide runs the Node-side assertions (node --test node/test/):
// what must hold of each experiment on any machine.
func TestNodeSide(t *testing.T) {
	node := nodeBin(t)
	files, err := filepath.Glob(filepath.Join("node", "test", "*.test.js"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out, stderr, code := runNode(t, node, 3*time.Minute, append([]string{"--test"}, files...)...)
	require.Zero(t, code, "node --test failed\nstdout:\n%s\nstderr:\n%s", out, stderr)
	t.Logf("node --test:\n%s", nodejs.Tail(out, 10))
}

// TestNodeEventOrder prints the order in which Node runs process.nextTick,
// Promise, setTimeout(0) and setImmediate callbacks beside sched.Loop's
// model of the same queues (Microtask for nextTick and promises, Post for
// setImmediate, SetTimeout(0) for setTimeout), and checks what both agree
// on: synchronous code first, then every microtask, then the tasks.
func TestNodeEventOrder(t *testing.T) {
	node := nodeBin(t)
	out, stderr, code := runNode(t, node, time.Minute, "node/sched.js", "order")
	require.Zero(t, code, "stderr: %s", stderr)
	var got struct{ Main, IO []string }
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)

	var l sched.Loop
	var model []string
	l.Post(func() {
		l.SetTimeout(0, func() { model = append(model, "setTimeout") })
		l.Post(func() { model = append(model, "setImmediate") })
		l.Microtask(func() { model = append(model, "promise") })
		l.Microtask(func() { model = append(model, "nextTick") })
		model = append(model, "sync")
	})
	require.NoError(t, l.Run(t.Context()))

	t.Logf("node, from the main script: %v", got.Main)
	t.Logf("node, from an I/O callback: %v", got.IO)
	t.Logf("sched.Loop (one microtask queue, FIFO):  %v", model)
	for _, order := range [][]string{got.Main, got.IO} {
		require.Len(t, order, 5)
		assert.Equal(t, []string{"sync", "nextTick", "promise"}, order[:3], "nextTick runs before promise callbacks, both before any task")
		assert.ElementsMatch(t, []string{"setImmediate", "setTimeout"}, order[3:])
	}
	assert.Equal(t, []string{"setImmediate", "setTimeout"}, got.IO[3:], "inside an I/O callback setImmediate runs before setTimeout(0)")
	assert.Equal(t, "sync", model[0])
	assert.ElementsMatch(t, []string{"promise", "nextTick"}, model[1:3], "the model runs microtasks before tasks")
}
