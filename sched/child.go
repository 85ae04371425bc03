package sched

import (
	"context"
	"fmt"
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
