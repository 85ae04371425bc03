package sched

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/rtlab/rtlab/internal/child"
)

// Experiments whose figures depend on process-wide settings (GOMAXPROCS,
// GODEBUG) or leave process-wide traces (a thousand idle threads) run in a
// child process of the running binary. The configuration goes in as JSON in
// the child's argument and the result comes back as JSON on its stdout.

// runChild runs f in a child with env added to its environment.
func runChild[C, R any](ctx context.Context, f child.JSON[C, R], cfg C, env []string, timeout time.Duration) (R, error) {
	r, err := f.Run(ctx, cfg, child.Options{Env: env, Timeout: timeout})
	if err != nil {
		return r, fmt.Errorf("sched: %w", err)
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
