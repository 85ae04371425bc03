// Package nodejs finds Node.js and runs the JavaScript half of rtlab
// (node/bench.js and its sibling scripts) from Go: the root tests check its
// output against the Go suite, and cmd/rtlab's claims ledger reads V8's
// figures from it.
//
// Node is a child process like any other: a command line, stdout kept,
// stderr kept for the error, killed when the context ends.
package nodejs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
)

// MinMajor is the oldest Node major version node/ supports.
const MinMajor = 18

// ErrNotFound is wrapped by Find's error when there is no usable node.
var ErrNotFound = errors.New("nodejs: node not found")

// Node is a node executable and its version.
type Node struct {
	Path    string
	Version string // as node --version prints it: "v20.20.2"
	Major   int
}

var versionRE = regexp.MustCompile(`^v(\d+)\.`)

// Find returns the node on PATH if it is MinMajor or later. The error
// wraps ErrNotFound and says why (absent, too old, unreadable version).
func Find() (Node, error) {
	path, err := exec.LookPath("node")
	if err != nil {
		return Node{}, fmt.Errorf("%w: not on PATH (the Node.js half needs Node >= %d)", ErrNotFound, MinMajor)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return Node{}, fmt.Errorf("%w: %s --version: %v", ErrNotFound, path, err)
	}
	v := string(bytes.TrimSpace(out))
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return Node{}, fmt.Errorf("%w: %s --version printed %q", ErrNotFound, path, v)
	}
	major, _ := strconv.Atoi(m[1])
	if major < MinMajor {
		return Node{}, fmt.Errorf("%w: node %s is older than %d, which node/ needs", ErrNotFound, v, MinMajor)
	}
	return Node{Path: path, Version: v, Major: major}, nil
}

// Root returns the directory holding rtlab's node/bench.js: $RTLAB_ROOT if
// set, else the first of dir and its parents that has it.
func Root(dir string) (string, error) {
	if r := os.Getenv("RTLAB_ROOT"); r != "" {
		if _, err := os.Stat(filepath.Join(r, "node", "bench.js")); err != nil {
			return "", fmt.Errorf("nodejs: RTLAB_ROOT=%s has no node/bench.js", r)
		}
		return r, nil
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "node", "bench.js")); err == nil {
			return d, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("nodejs: no node/bench.js in %s or its parents: run from a clone of rtlab or set RTLAB_ROOT", dir)
		}
		d = up
	}
}

// EnsureDeps installs node/'s dependencies from its lockfile (npm ci) when
// root/node/package.json exists and root/node/node_modules does not.
func EnsureDeps(ctx context.Context, root string) error {
	dir := filepath.Join(root, "node")
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("nodejs: %s/node_modules is missing and npm is not on PATH to install it", dir)
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nodejs: npm ci in %s: %v\n%s", dir, err, out)
	}
	return nil
}

// Output is how a node process ended.
type Output struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Run runs node with args in dir, GOMAXPROCS set to this process's (so
// node/bench.js names carry the same -N suffix as go test's), and returns
// its output. A non-zero exit is not an error (see Output.ExitCode); a
// process that could not start, or was killed because ctx ended, is, and the
// error carries the tail of its stderr. The process is killed when ctx ends.
func (n Node) Run(ctx context.Context, dir string, args ...string) (Output, error) {
	cmd := exec.CommandContext(ctx, n.Path, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", runtime.GOMAXPROCS(0)))
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	o := Output{Stdout: out.Bytes(), Stderr: errb.Bytes()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return o, fmt.Errorf("nodejs: node %s: %w\nstderr:\n%s", strings.Join(args, " "), ctx.Err(), Tail(o.Stderr, 20))
	case err == nil:
	case errors.As(err, &exit):
		o.ExitCode = exit.ExitCode()
	default:
		return o, fmt.Errorf("nodejs: node %s: %v\nstderr:\n%s", strings.Join(args, " "), err, Tail(o.Stderr, 20))
	}
	return o, nil
}

// BenchConfig is one run of node/bench.js; its fields are the flags of the
// same names.
type BenchConfig struct {
	Bench     string // regexp; "." if ""
	Count     int    // 1 if 0
	Benchtime string // "" means bench.js's default (1s)
	Short     bool
}

// Args is the command line of node/bench.js for c.
func (c BenchConfig) Args() []string {
	args := []string{"node/bench.js"}
	if c.Bench != "" {
		args = append(args, "-bench", c.Bench)
	}
	if c.Count > 0 {
		args = append(args, "-count", fmt.Sprint(c.Count))
	}
	if c.Benchtime != "" {
		args = append(args, "-benchtime", c.Benchtime)
	}
	if c.Short {
		args = append(args, "-short")
	}
	return args
}

// Bench runs node/bench.js under root with c and returns its results as
// benchfmt reads them, and its raw output. A failing run is an error with
// its stderr.
func (n Node) Bench(ctx context.Context, root string, c BenchConfig) ([]*benchfmt.Result, []byte, error) {
	o, err := n.Run(ctx, root, c.Args()...)
	if err != nil {
		return nil, o.Stdout, err
	}
	if o.ExitCode != 0 {
		return nil, o.Stdout, fmt.Errorf("nodejs: node %s exited %d\nstderr:\n%s", strings.Join(c.Args(), " "), o.ExitCode, Tail(o.Stderr, 20))
	}
	res, err := Parse(o.Stdout, "node/bench.js")
	return res, o.Stdout, err
}

// Parse reads benchmark results (with their configuration) from benchfmt
// text; a syntax error names the line.
func Parse(data []byte, file string) ([]*benchfmt.Result, error) {
	var out []*benchfmt.Result
	r := benchfmt.NewReader(bytes.NewReader(data), file)
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			out = append(out, rec.Clone())
		case *benchfmt.SyntaxError:
			return nil, rec
		}
	}
	return out, r.Err()
}

// Tail returns the last n lines of b.
func Tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
