package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/rtlab/rtlab/internal/nodejs"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchunit"
)

// lab holds the measurements of one ledger run. Several claims read the same
// measurement (the Node run, the GC shapes): each is made once, on first
// use, and kept.
type lab struct {
	quick bool
	memo  map[string]memoEntry
}

type memoEntry struct {
	v   any
	err error
}

func newLab(quick bool) *lab { return &lab{quick: quick, memo: map[string]memoEntry{}} }

// close removes what the run left: the root suite's test binary.
func (l *lab) close() {
	if e, ok := l.memo["suite"]; ok {
		if s, ok := e.v.(*suite); ok {
			s.close()
		}
	}
}

// q picks the quick or the full size.
func q[T any](l *lab, quick, full T) T {
	if l.quick {
		return quick
	}
	return full
}

// once returns the memoised result of f under key, running it on first use.
func once[T any](ctx context.Context, l *lab, key string, f func(context.Context) (T, error)) (T, error) {
	if e, ok := l.memo[key]; ok {
		v, _ := e.v.(T)
		return v, e.err
	}
	v, err := f(ctx)
	if ctx.Err() == nil {
		l.memo[key] = memoEntry{v, err}
	}
	return v, err
}

// errNeedsNode marks a Node measurement that cannot run here.
var errNeedsNode = errors.New("needs node")

// nodeBenches are the node/bench.js benchmarks the ledger reads, run
// together once (levels are matched as go test matches them: the first is
// the whole "BenchmarkX").
const nodeBenches = "^Benchmark(StackMaxDepth|GCShape|GCObserve|ChanLitmus|ChanPingPong|ChanContended|SchedParallel|SchedPreempt|SchedFalseSharing|AllocHeap|AllocPage|BufferAlloc|WSFrameRead)$"

// benchRun is the results of one run of node/bench.js or of the root
// suite's test binary (see suite.go), as benchfmt reads them.
type benchRun struct {
	results []*benchfmt.Result
}

// node runs node/bench.js once for every Node claim (-short -benchtime 1x
// in quick mode, the default benchtime otherwise).
func (l *lab) node(ctx context.Context) (*benchRun, error) {
	return once(ctx, l, "node", func(ctx context.Context) (*benchRun, error) {
		n, root, err := findNode(ctx)
		if err != nil {
			return nil, err
		}
		cfg := nodejs.BenchConfig{Bench: nodeBenches}
		if l.quick {
			cfg.Short, cfg.Benchtime = true, "1x"
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		res, _, err := n.Bench(ctx, root, cfg)
		if err != nil {
			return nil, err
		}
		return &benchRun{results: res}, nil
	})
}

// findNode finds node and the clone's node/ directory, with node/'s
// dependencies installed, or says why not (the error wraps errNeedsNode).
func findNode(ctx context.Context) (nodejs.Node, string, error) {
	n, err := nodejs.Find()
	if err != nil {
		return n, "", fmt.Errorf("%w: %v", errNeedsNode, err)
	}
	wd, _ := os.Getwd()
	root, err := nodejs.Root(wd)
	if err != nil {
		return n, "", fmt.Errorf("%w: %v", errNeedsNode, err)
	}
	if err := nodejs.EnsureDeps(ctx, root); err != nil {
		return n, "", err
	}
	return n, root, nil
}

// value returns the figure in unit of the result named name (without its
// -procs suffix). benchfmt tidies units as it reads them (ns/op to sec/op,
// p99-pause-ns to p99-pause-sec): the figure comes back in the unit asked
// for, whichever of the two is named.
//
// A name matches a result with more levels too
// ("WSEchoRate/server=reactor/conns=1000/rate=2000" matches ".../tls=off"),
// so that a level the suite adds at the end does not hide a row; of several,
// one with no extra level set to "on" (tls=on) is preferred.
func (r *benchRun) value(name, unit string) (float64, bool) {
	res := r.lookup(name)
	if res == nil {
		return 0, false
	}
	scale, tidied := benchunit.Tidy(1, unit)
	if v, ok := res.Value(tidied); ok {
		return v / scale, true
	}
	// benchfmt leaves a zero in its original unit.
	return res.Value(unit)
}

// lookup returns the result named name, or one whose name extends it by
// more levels (see value); nil if none.
func (r *benchRun) lookup(name string) *benchfmt.Result {
	var found *benchfmt.Result
	foundOff := false
	for _, res := range r.results {
		full := trimProcs(string(res.Name))
		if full == name {
			return res
		}
		rest, ok := strings.CutPrefix(full, name+"/")
		if !ok {
			continue
		}
		noneOn := true
		for _, lvl := range strings.Split(rest, "/") {
			noneOn = noneOn && !strings.HasSuffix(lvl, "=on")
		}
		if found == nil || (noneOn && !foundOff) {
			found, foundOff = res, noneOn
		}
	}
	return found
}

// trimProcs removes the -N suffix go test adds to a benchmark name (none
// when GOMAXPROCS is 1, so "impl=rtlab-direct" keeps its "-direct").
func trimProcs(full string) string {
	i := strings.LastIndexByte(full, '-')
	if i <= 0 || i == len(full)-1 {
		return full
	}
	for _, c := range full[i+1:] {
		if c < '0' || c > '9' {
			return full
		}
	}
	return full[:i]
}

// must returns the figure or an error naming the missing row.
func (r *benchRun) must(name, unit string) (float64, error) {
	v, ok := r.value(name, unit)
	if !ok {
		return 0, fmt.Errorf("node/bench.js printed no %s for %s", unit, name)
	}
	return v, nil
}

// needsNode turns a Node error into the row's finding: a skip that says
// "needs node" and why, with what the Go side measured.
func needs(goSide string, err error) (finding, error) {
	if errors.Is(err, errNeedsNode) {
		return finding{Measured: goSide, Verdict: verdictSkip, On: "needs node: " + strings.TrimPrefix(err.Error(), errNeedsNode.Error()+": ")}, nil
	}
	return finding{Measured: goSide}, err
}

// Formatting for the measured column.

func dur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func secs(s float64) string { return dur(time.Duration(s * 1e9)) }

func kib(b float64) string { return scaleBytes(b) }

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return "unknown"
	}
	return f[0]
}

func procs() string {
	return fmt.Sprintf("GOMAXPROCS %d, %d CPUs, load average %s", runtime.GOMAXPROCS(0), runtime.NumCPU(), loadAvg())
}

// collected reports whether V8 ran at least one collection in the GCShape
// row name: a short run of a small heap may see none, and its zero pause
// and CPU share are then no figure at all.
func (r *benchRun) collected(name string) bool {
	g, ok := r.value(name, "gcs/op")
	return ok && g > 0
}
