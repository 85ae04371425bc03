// Package child re-executes the running binary to run one registered
// function in a child process, with its own environment and a timeout.
//
// Experiments need children for three reasons: some demonstrations are fatal
// (a Go stack overflow cannot be recovered), some settings are read only at
// start-up (GODEBUG=asyncpreemptoff=1, adaptivestackstart), and some
// measurements must keep two sides apart (a server's memory must not include
// its load clients' sockets and buffers).
//
// A function is registered from a package-level variable:
//
//	var overflow = child.Register("stack.overflow", func(arg string) int { ... })
//
// When Run starts the binary again for that name, Register itself runs the
// function and exits with its result during package initialisation, before
// main or TestMain, so it works in test binaries and in programs that import
// the experiment alike. A child whose parent dies exits within a second.
package child

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sync"
	"time"
)

const (
	envName = "RTLAB_CHILD"
	envArg  = "RTLAB_CHILD_ARG"
	envPPID = "RTLAB_CHILD_PPID"

	// DefaultTimeout bounds a child whose Options name none.
	DefaultTimeout = 2 * time.Minute
	// maxOutput caps what is kept of a child's stdout and stderr each.
	maxOutput = 4 << 20
)

// ErrTimeout is wrapped by the error of a child that was killed because its
// timeout passed or its context was cancelled.
var ErrTimeout = errors.New("child: killed at timeout")

var (
	mu       sync.Mutex
	registry = map[string]bool{}
)

// Func is a registered function that can run in a child process.
type Func struct{ name string }

// Register records fn under name and returns a handle to run it in a child.
// Names must be unique in a binary; registering one twice panics.
//
// If this process is the child started for name, Register does not return:
// it runs fn(arg) and exits with its result.
func Register(name string, fn func(arg string) int) Func {
	mu.Lock()
	defer mu.Unlock()
	if registry[name] {
		panic("child: " + name + " registered twice")
	}
	registry[name] = true
	if os.Getenv(envName) == name {
		go exitWithParent(os.Getenv(envPPID))
		// During init the main goroutine is locked to the main thread, which
		// turns every hand-off to it into a thread switch (microseconds, not
		// nanoseconds); run fn in an ordinary goroutine instead.
		code := make(chan int)
		go func() { code <- fn(os.Getenv(envArg)) }()
		os.Exit(<-code)
	}
	return Func{name: name}
}

// exitWithParent ends the child when the parent that started it is gone, so
// a crashed test binary never leaves a child behind.
func exitWithParent(ppid string) {
	for range time.Tick(200 * time.Millisecond) {
		if fmt.Sprint(os.Getppid()) != ppid {
			fmt.Fprintln(os.Stderr, "child: parent exited; exiting")
			os.Exit(3)
		}
	}
}

// Registered returns the names registered in this binary, sorted: the
// children it can start. A package that registers none adds none to a
// program that imports it.
func Registered() []string {
	mu.Lock()
	defer mu.Unlock()
	return slices.Sorted(maps.Keys(registry))
}

// InChild reports whether this process is a child started by Run or Start.
func InChild() bool { return os.Getenv(envName) != "" }

// Name is the name the function was registered under.
func (f Func) Name() string { return f.name }

// Options set up one child.
type Options struct {
	Arg     string        // passed to the function
	Env     []string      // KEY=VALUE added to this process's environment (GODEBUG, GOMAXPROCS, GOGC...)
	Timeout time.Duration // after which the child is killed; DefaultTimeout if 0
	Stdin   io.Reader     // for Run only; nil means no input
}

// Result is how a child ended.
type Result struct {
	ExitCode int // -1 if killed by a signal
	Stdout   []byte
	Stderr   []byte
	Elapsed  time.Duration
}

// Err is nil for a child that exited 0, and otherwise an error carrying the
// exit code and the end of its stderr.
func (r Result) Err() error {
	if r.ExitCode == 0 {
		return nil
	}
	return fmt.Errorf("child: exit code %d; stderr: %s", r.ExitCode, tail(r.Stderr, 2000))
}

// Run runs the function in a child process and waits for it. A non-zero exit
// is not an error (a fatal demonstration is expected to die): check
// Result.ExitCode or Result.Err. The error is for a child that could not be
// started or was killed at its timeout (wrapping ErrTimeout; the Result then
// holds what the child wrote until then).
func (f Func) Run(ctx context.Context, opts Options) (Result, error) {
	cmd, ctx, cancel, err := f.command(ctx, opts)
	if err != nil {
		return Result{}, err
	}
	defer cancel()
	var stdout, stderr capped
	cmd.Stdin = opts.Stdin
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("child: start %s: %w", f.name, err)
	}
	err = cmd.Wait()
	return finish(ctx, f.name, cmd, start, stdout.Bytes(), stderr.Bytes(), err)
}

// Proc is a child started with Start, talking through pipes.
type Proc struct {
	Stdin  io.WriteCloser // the child's standard input; close it to signal EOF
	Stdout io.Reader      // the child's standard output, read as it comes

	name   string
	cmd    *exec.Cmd
	ctx    context.Context
	cancel context.CancelFunc
	stderr capped
	start  time.Time
	once   sync.Once
	res    Result
	err    error
}

// Start starts the function in a child process and returns at once. The
// caller must call Wait (after Kill, if it wants the child gone early); the
// child is killed when its timeout passes or ctx is done. opts.Stdin is
// ignored: write to Proc.Stdin instead.
func (f Func) Start(ctx context.Context, opts Options) (*Proc, error) {
	cmd, ctx, cancel, err := f.command(ctx, opts)
	if err != nil {
		return nil, err
	}
	return startProc(f.name, cmd, ctx, cancel)
}

// startProc starts cmd with pipes to its stdin and stdout; cancel is
// called when it cannot start, or once it has been reaped.
func startProc(name string, cmd *exec.Cmd, ctx context.Context, cancel context.CancelFunc) (*Proc, error) {
	p := &Proc{name: name, cmd: cmd, ctx: ctx, cancel: cancel}
	cmd.Stderr = &p.stderr
	var err error
	if p.Stdin, err = cmd.StdinPipe(); err != nil {
		cancel()
		return nil, fmt.Errorf("child: %w", err)
	}
	if p.Stdout, err = cmd.StdoutPipe(); err != nil {
		cancel()
		return nil, fmt.Errorf("child: %w", err)
	}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("child: start %s: %w", name, err)
	}
	return p, nil
}

// Pid is the child's process ID, to read its memory from outside.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Kill ends the child at once. Wait must still be called to reap it.
func (p *Proc) Kill() { _ = p.cmd.Process.Kill() }

// Wait waits for the child to exit and reaps it; calling it again returns
// the same result. Unread stdout is discarded.
func (p *Proc) Wait() (Result, error) {
	p.once.Do(func() {
		err := p.cmd.Wait()
		p.res, p.err = finish(p.ctx, p.name, p.cmd, p.start, nil, p.stderr.Bytes(), err)
		p.cancel()
	})
	return p.res, p.err
}

func (f Func) command(ctx context.Context, opts Options) (*exec.Cmd, context.Context, context.CancelFunc, error) {
	if f.name == "" {
		return nil, nil, nil, errors.New("child: Func is zero; obtain one from Register")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("child: cannot find this binary to re-execute: %w", err)
	}
	cmd, ctx, cancel := commandContext(ctx, opts, exe, nil,
		envName+"="+f.name,
		envArg+"="+opts.Arg)
	return cmd, ctx, cancel, nil
}

// commandContext makes the command path args under opts.Timeout, with this
// process's environment, env, the parent's pid (a child exits when its
// parent is gone) and opts.Env.
func commandContext(ctx context.Context, opts Options, path string, args []string, env ...string) (*exec.Cmd, context.Context, context.CancelFunc) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimeout)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, envPPID+"="+fmt.Sprint(os.Getpid()))
	cmd.Env = append(cmd.Env, opts.Env...)
	// Pipes left open by a killed child must not hang Wait.
	cmd.WaitDelay = 2 * time.Second
	return cmd, ctx, cancel
}

func finish(ctx context.Context, name string, cmd *exec.Cmd, start time.Time, stdout, stderr []byte, waitErr error) (Result, error) {
	r := Result{Stdout: stdout, Stderr: stderr, Elapsed: time.Since(start)}
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil && (cmd.ProcessState == nil || !cmd.ProcessState.Success()) {
		return r, fmt.Errorf("child: %s after %v: %w; stderr: %s", name, r.Elapsed.Round(time.Millisecond), ErrTimeout, tail(stderr, 2000))
	}
	var exit *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exit) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return r, fmt.Errorf("child: %s: %w", name, waitErr)
	}
	return r, nil
}

func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = append([]byte("..."), b[len(b)-n:]...)
	}
	if len(b) == 0 {
		return "(empty)"
	}
	return string(b)
}

// capped keeps the first maxOutput bytes written to it and drops the rest.
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := maxOutput - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}
