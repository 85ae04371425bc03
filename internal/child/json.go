package child

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// JSON is a registered function from a configuration C to a result R, both
// carried as JSON: the configuration in the child's argument, the result on
// its standard output. Most experiments that need a child are of this shape.
type JSON[C, R any] struct{ f Func }

// RegisterJSON registers fn like Register. In the child it decodes the
// configuration, runs fn and prints the result; an error from fn is printed
// to stderr and the child exits 1.
func RegisterJSON[C, R any](name string, fn func(C) (R, error)) JSON[C, R] {
	return JSON[C, R]{Register(name, func(arg string) int {
		var cfg C
		if err := json.Unmarshal([]byte(arg), &cfg); err != nil {
			fmt.Fprintf(os.Stderr, "child: %s: configuration %q: %v\n", name, arg, err)
			return 2
		}
		r, err := fn(cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
			fmt.Fprintf(os.Stderr, "child: %s: result: %v\n", name, err)
			return 1
		}
		return 0
	})}
}

// Name is the name the function was registered under.
func (j JSON[C, R]) Name() string { return j.f.name }

// Run runs the function in a child with configuration cfg (opts.Arg is
// replaced by it) and decodes its result. A child that fails, exits non-zero
// or prints something that is not a result is an error carrying its stderr.
func (j JSON[C, R]) Run(ctx context.Context, cfg C, opts Options) (R, error) {
	var r R
	arg, err := json.Marshal(cfg)
	if err != nil {
		return r, fmt.Errorf("child: %s: configuration: %w", j.f.name, err)
	}
	opts.Arg = string(arg)
	res, err := j.f.Run(ctx, opts)
	if err != nil {
		return r, err
	}
	if err := res.Err(); err != nil {
		return r, fmt.Errorf("child: %s: %w", j.f.name, err)
	}
	if err := json.Unmarshal(res.Stdout, &r); err != nil {
		return r, fmt.Errorf("child: %s: cannot read the result %q: %w", j.f.name, strings.TrimSpace(string(res.Stdout)), err)
	}
	return r, nil
}

// GODEBUG returns a GODEBUG=... environment entry for a child: this
// process's own GODEBUG with settings ("key=value") appended, so that they
// win (the runtime takes the last setting of a key).
func GODEBUG(settings ...string) string {
	all := strings.Join(settings, ",")
	if cur := os.Getenv("GODEBUG"); cur != "" {
		all = cur + "," + all
	}
	return "GODEBUG=" + all
}

// Flag formats a GODEBUG setting key=1 or key=0.
func Flag(key string, on bool) string {
	if on {
		return key + "=1"
	}
	return key + "=0"
}
