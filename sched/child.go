package sched

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"github.com/rtlab/rtlab/internal/child"
)

// Experiments whose figures depend on process-wide settings (GOMAXPROCS,
// GODEBUG) or leave process-wide traces (a thousand idle threads) run in a
// child process of the running binary. The configuration goes in as JSON in
// the child's argument and the result comes back as JSON on its stdout.

// serveChild runs in the child: it decodes the configuration, runs the
// experiment and writes the result. (internal/child runs it off the
// init-locked main thread, so hand-offs cost what they cost in a program.)
func serveChild[C, R any](arg string, run func(C) (R, error)) int {
	var cfg C
	if err := json.Unmarshal([]byte(arg), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "sched: child argument %q: %v\n", arg, err)
		return 2
	}
	r, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// runChild runs f in a child with env added to its environment and decodes
// its result.
func runChild[C, R any](ctx context.Context, f child.Func, cfg C, env []string, timeout time.Duration) (R, error) {
	var r R
	arg, err := json.Marshal(cfg)
	if err != nil {
		return r, fmt.Errorf("sched: %w", err)
	}
	res, err := f.Run(ctx, child.Options{Arg: string(arg), Env: env, Timeout: timeout})
	if err != nil {
		return r, fmt.Errorf("sched: %s: %w", f.Name(), err)
	}
	if err := res.Err(); err != nil {
		return r, fmt.Errorf("sched: %s: %w", f.Name(), err)
	}
	if err := json.Unmarshal(res.Stdout, &r); err != nil {
		return r, fmt.Errorf("sched: %s: cannot read the child's result %q: %w", f.Name(), res.Stdout, err)
	}
	return r, nil
}

// quantile is the nearest-rank q-quantile of ds (0 for none); it does not
// reorder ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
