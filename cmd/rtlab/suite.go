package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rtlab/rtlab/internal/nodejs"
)

// The root suite's own rows.
//
// Some rows exist only in the root benchmarks_*_test.go files: the frame
// path's peers and floors (impl=gorilla, coder, wsutil, naive, limit,
// limit-header, read from an in-memory stream built there) and the gorilla
// and nbio servers. gorilla and coder are test-only dependencies of the
// module, so no package exports them, and the command does not copy them:
// it builds the root package's test binary in the clone (go test -c) and
// runs those benchmarks in it, as node/bench.js is run for V8's rows. The
// rows are then the suite's own, and pair with go test -bench output in
// benchstat.

// suitePath is the module path of the clone the suite is built from.
const suitePath = "github.com/rtlab/rtlab"

// errNeedsClone marks a suite row that cannot run here: no clone of rtlab
// or no go command.
var errNeedsClone = errors.New("needs a clone of rtlab and the go command")

// errNoMatch is a run whose pattern matched no benchmark.
var errNoMatch = errors.New("no benchmark matched")

// moduleRoot returns the directory of rtlab's go.mod: $RTLAB_ROOT if set,
// else the first of the working directory and its parents that has it.
func moduleRoot() (string, error) {
	isRoot := func(dir string) bool {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err != nil {
			return false
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if mod, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
				return strings.Trim(strings.TrimSpace(mod), `"`) == suitePath
			}
		}
		return false
	}
	if r := os.Getenv("RTLAB_ROOT"); r != "" {
		if !isRoot(r) {
			return "", fmt.Errorf("%w: RTLAB_ROOT=%s has no go.mod of %s", errNeedsClone, r, suitePath)
		}
		return r, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: %v", errNeedsClone, err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if isRoot(dir) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("%w: no go.mod of %s in %s or its parents (run from a clone or set RTLAB_ROOT)", errNeedsClone, suitePath, wd)
		}
	}
}

// suite is the root package's test binary, built once in a temporary
// directory that close removes.
type suite struct {
	root, dir, bin string
}

// buildSuite builds the root package's test binary with go test -c.
func buildSuite(ctx context.Context) (*suite, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNeedsClone, err)
	}
	dir, err := os.MkdirTemp("", "rtlab-suite-")
	if err != nil {
		return nil, err
	}
	s := &suite{root: root, dir: dir, bin: filepath.Join(dir, "rtlab.test")}
	if _, err := runGroup(ctx, root, goBin, "test", "-c", "-o", s.bin, "."); err != nil {
		s.close()
		return nil, fmt.Errorf("go test -c in %s: %w", root, err)
	}
	return s, nil
}

func (s *suite) close() {
	if s != nil {
		os.RemoveAll(s.dir)
	}
}

// bench runs the benchmarks matching re (go test's -bench syntax) once
// each, for benchtime (go test's syntax; "" is its default), with -short
// if short, in the module root as go test would.
func (s *suite) bench(ctx context.Context, re, benchtime string, short bool) (*benchRun, error) {
	args := []string{"-test.run", "^$", "-test.bench", re, "-test.count", "1"}
	if benchtime != "" {
		args = append(args, "-test.benchtime", benchtime)
	}
	if short {
		args = append(args, "-test.short")
	}
	out, err := runGroup(ctx, s.root, s.bin, args...)
	if err != nil {
		return nil, fmt.Errorf("go test -bench %s: %w", re, err)
	}
	res, err := nodejs.Parse(out, "go test -bench "+re)
	if err != nil {
		return nil, err
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("go test -bench %s: %w", re, errNoMatch)
	}
	return &benchRun{results: res}, nil
}

// runGroup runs name with args in dir, in a process group of its own that
// is killed whole when ctx ends (go test's compiler and linker, a test
// binary's server and load children), and returns its stdout. A failure is
// an error carrying the tail of its output.
func runGroup(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		tail := nodejs.Tail(stderr.Bytes(), 5)
		if strings.TrimSpace(tail) == "" {
			tail = nodejs.Tail(stdout.Bytes(), 5) // go test reports failures on stdout
		}
		return nil, fmt.Errorf("%v: %s", err, tail)
	}
	return stdout.Bytes(), nil
}

// rowsOf turns a run's results into the command's rows: names without
// "Benchmark" and the -procs suffix, figures in the units go test printed.
func rowsOf(r *benchRun) []Row {
	var rows []Row
	for _, res := range r.results {
		row := Row{Name: strings.TrimPrefix(trimProcs(string(res.Name)), "Benchmark")}
		for _, v := range res.Values {
			m := Metric{Value: v.Value, Unit: v.Unit}
			if v.OrigUnit != "" {
				m = Metric{Value: v.OrigValue, Unit: v.OrigUnit}
			}
			row.Metrics = append(row.Metrics, m)
		}
		rows = append(rows, row)
	}
	return rows
}
