package stack

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"
	"unsafe"

	"github.com/rtlab/rtlab/internal/child"
)

// MaxDepthConfig sets up a search for the deepest recursion under a stack
// budget. The zero value runs FrameSmall frames on Go's own stack capped
// at 984 KiB.
type MaxDepthConfig struct {
	Model Model // ModelGo if 0
	Frame Frame // FrameSmall if 0
	// Budget is the stack limit in bytes, DefaultBudget (984 KiB, V8's on
	// x64) if 0: ModelFixed's budget, or for ModelGo the
	// debug.SetMaxStack of the child process.
	Budget int
}

func (c MaxDepthConfig) withDefaults() (MaxDepthConfig, error) {
	if err := c.Model.check("MaxDepthConfig.Model"); err != nil {
		return c, err
	}
	if err := c.Frame.check("MaxDepthConfig.Frame"); err != nil {
		return c, err
	}
	var err error
	c.Budget, err = budgetOrDefault(c.Budget, "MaxDepthConfig.Budget")
	return c, err
}

// MaxDepthResult is how deep a recursion got under a stack budget before
// it overflowed.
type MaxDepthResult struct {
	Model      Model
	Frame      Frame
	Budget     int // bytes
	Depth      int // deepest frame that ran
	StackBytes int // stack bytes in use at that frame, measured
	Growths    int // stack copies on the way down
	// StackSize is, for ModelGo, the size of the stack when the runtime
	// refused to double it, read from its message: the largest power of two
	// under Budget. 0 for ModelFixed.
	StackSize int
	// Message is the overflow as reported: the runtime's "goroutine stack
	// exceeds" line for ModelGo, the *OverflowError text for ModelFixed.
	Message string
}

// String summarises the result on one line.
func (r MaxDepthResult) String() string {
	return fmt.Sprintf("model=%v frame=%v budget=%d: max depth %d, %d stack bytes, %d growths (%s)",
		r.Model, r.Frame, r.Budget, r.Depth, r.StackBytes, r.Growths, r.Message)
}

// MaxDepth recurses with no depth target until the stack budget stops it,
// and reports where.
//
// With ModelFixed the budget is checked by the recursion itself, as in
// Recurse: the depth a JavaScript engine with --stack-size=Budget would
// reach with frames of this size. ctx is checked before it starts.
//
// With ModelGo it reports how deep the same recursion goes in Go itself
// when debug.SetMaxStack(Budget) caps the goroutine stack. A Go stack
// overflow is fatal ("runtime: goroutine stack exceeds N-byte limit",
// "fatal error: stack overflow"), so it runs in a child process that is
// expected to die, and ctx can stop it. The child cannot report after
// death, so every frame writes its depth, stack bytes in use and growths
// count into a file mapped shared into the child's memory: a plain store
// per frame, no system call and no extra stack, and what the last frame
// wrote is in the file when the process is gone. The parent reads the file
// and the runtime's message from the child's stderr. ModelGo needs a Unix
// system (mmap); elsewhere it returns an error.
func MaxDepth(ctx context.Context, cfg MaxDepthConfig) (MaxDepthResult, error) {
	if err := ctx.Err(); err != nil {
		return MaxDepthResult{}, fmt.Errorf("stack: MaxDepth: %w", err)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return MaxDepthResult{}, err
	}
	if cfg.Model == ModelFixed {
		return fixedMaxDepth(cfg)
	}
	return goMaxDepth(ctx, cfg)
}

// fixedMaxDepth is MaxDepth for ModelFixed.
func fixedMaxDepth(cfg MaxDepthConfig) (MaxDepthResult, error) {
	r, err := run(config{target: math.MaxInt, frame: cfg.Frame, limit: cfg.Budget})
	var over *OverflowError
	if !errors.As(err, &over) {
		return MaxDepthResult{}, fmt.Errorf("stack: MaxDepth: fixed model did not overflow: %v", err)
	}
	return MaxDepthResult{
		Model: ModelFixed, Frame: cfg.Frame, Budget: cfg.Budget,
		Depth: r.Depth, StackBytes: r.StackBytes, Growths: r.Growths,
		Message: over.Error(),
	}, nil
}

// goMaxDepth is MaxDepth for ModelGo.
func goMaxDepth(ctx context.Context, cfg MaxDepthConfig) (MaxDepthResult, error) {
	frame, budget := cfg.Frame, cfg.Budget
	f, err := os.CreateTemp("", "rtlab-stack-*")
	if err != nil {
		return MaxDepthResult{}, fmt.Errorf("stack: progress file: %w", err)
	}
	path := f.Name()
	defer os.Remove(path)
	err = f.Truncate(progressFileSize)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return MaxDepthResult{}, fmt.Errorf("stack: progress file: %w", err)
	}

	arg := fmt.Sprintf("%d %d %s", frame, budget, path)
	res, err := overflowChild.Run(ctx, child.Options{Arg: arg, Timeout: time.Minute})
	if err != nil {
		return MaxDepthResult{}, fmt.Errorf("stack: MaxDepth: %w", err)
	}
	m := exceedsRE.FindSubmatch(res.Stderr)
	if m == nil {
		return MaxDepthResult{}, fmt.Errorf("stack: MaxDepth: the child did not die of a stack overflow: %w", res.Err())
	}
	limit, _ := strconv.Atoi(string(m[2]))
	lo, _ := strconv.ParseUint(string(m[3]), 0, 64)
	hi, _ := strconv.ParseUint(string(m[4]), 0, 64)
	if limit != budget {
		return MaxDepthResult{}, fmt.Errorf("stack: MaxDepth: the runtime reports a %d-byte limit, not the %d set", limit, budget)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return MaxDepthResult{}, fmt.Errorf("stack: MaxDepth: %w", err)
	}
	if len(raw) < int(unsafe.Sizeof(progress{})) {
		return MaxDepthResult{}, fmt.Errorf("stack: MaxDepth: progress file holds %d bytes", len(raw))
	}
	word := func(i int) int { return int(int64(binary.NativeEndian.Uint64(raw[8*i:]))) }
	depth, used, growths := word(0), word(1), word(2)
	if depth == 0 {
		return MaxDepthResult{}, errors.New("stack: MaxDepth: the child died before its first frame")
	}
	return MaxDepthResult{
		Model: ModelGo, Frame: frame, Budget: budget,
		Depth: depth, StackBytes: used, Growths: growths,
		StackSize: int(hi - lo), Message: string(m[1]),
	}, nil
}

// exceedsRE matches the runtime's two lines on a stack overflow (see
// newstack in runtime/stack.go).
var exceedsRE = regexp.MustCompile(`(goroutine stack exceeds (\d+)-byte limit)\s*\n.*stack=\[(0x[0-9a-f]+), (0x[0-9a-f]+)\]`)

// progressFileSize is one page: the mapping rounds up to it anyway.
const progressFileSize = 4096

// overflowChild sets the stack limit and recurses without a depth target
// until the runtime kills it. Arg: "<frame> <budget> <progress file>".
var overflowChild = child.Register("stack.overflow", func(arg string) int {
	var frame Frame
	var budget int
	var path string
	if _, err := fmt.Sscan(arg, &frame, &budget, &path); err != nil {
		fmt.Fprintf(os.Stderr, "stack.overflow: bad argument %q: %v\n", arg, err)
		return 2
	}
	mem, err := mapShared(path, progressFileSize)
	if err != nil {
		fmt.Fprintf(os.Stderr, "stack.overflow: %v\n", err)
		return 2
	}
	debug.SetMaxStack(budget)
	// The limit of the probe is out of reach: the runtime is the limit here.
	_, err = run(config{target: math.MaxInt, frame: frame, limit: math.MaxInt, progress: (*progress)(unsafe.Pointer(&mem[0]))})
	fmt.Fprintf(os.Stderr, "stack.overflow: the recursion ended without a fatal overflow: %v\n", err)
	return 1
})
