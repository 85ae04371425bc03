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

func (l *lab) close() {}

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
const nodeBenches = "^Benchmark(StackMaxDepth|GCShape|GCObserve|ChanLitmus|ChanPingPong|ChanContended|SchedParallel|SchedPreempt|AllocHeap|AllocPage|BufferAlloc)$"

// nodeRun is one run of node/bench.js.
type nodeRun struct {
	node    nodejs.Node
	results []*benchfmt.Result
}

// node runs node/bench.js once for every Node claim (-short -benchtime 1x
// in quick mode, the default benchtime otherwise).
func (l *lab) node(ctx context.Context) (*nodeRun, error) {
	return once(ctx, l, "node", func(ctx context.Context) (*nodeRun, error) {
		n, root, err := l.nodeAndRoot(ctx)
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
		return &nodeRun{node: n, results: res}, nil
	})
}

// nodeAndRoot finds node and the clone's node/ directory, or says why not
// (the error wraps errNeedsNode).
func (l *lab) nodeAndRoot(ctx context.Context) (nodejs.Node, string, error) {
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

// value returns the figure in unit of the Node result named name (without
// its -procs suffix). benchfmt tidies units as it reads them (ns/op to
// sec/op, p99-pause-ns to p99-pause-sec): the figure comes back in the unit
// asked for, whichever of the two is named.
func (r *nodeRun) value(name, unit string) (float64, bool) {
	scale, tidied := benchunit.Tidy(1, unit)
	for _, res := range r.results {
		full := string(res.Name)
		if i := strings.LastIndexByte(full, '-'); i > 0 && !strings.ContainsAny(full[i:], "/=") {
			full = full[:i]
		}
		if full == name {
			if v, ok := res.Value(tidied); ok {
				return v / scale, true
			}
			// benchfmt leaves a zero in its original unit.
			return res.Value(unit)
		}
	}
	return 0, false
}

// must returns the figure or an error naming the missing row.
func (r *nodeRun) must(name, unit string) (float64, error) {
	v, ok := r.value(name, unit)
	if !ok {
		return 0, fmt.Errorf("node/bench.js printed no %s for %s", unit, name)
	}
	return v, nil
}

// needsNode turns a Node error into the row's finding: a skip that says
// "needs node" and why, with what the Go side measured.
func needsNode(goSide string, err error) (finding, error) {
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
func (r *nodeRun) collected(name string) bool {
	g, ok := r.value(name, "gcs/op")
	return ok && g > 0
}
