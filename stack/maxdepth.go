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

// GoMaxDepth reports how deep the same recursion goes in Go itself when
// debug.SetMaxStack(budget) caps the goroutine stack. A Go stack overflow is
// fatal ("runtime: goroutine stack exceeds N-byte limit", "fatal error:
// stack overflow"), so it runs in a child process that is expected to die.
//
// The child cannot report after death, so every frame writes its depth,
// stack bytes in use and growths count into a file mapped shared into the
// child's memory: a plain store per frame, no system call and no extra stack,
// and what the last frame wrote is in the file when the process is gone. The
// parent reads the file and the runtime's message from the child's stderr.
// It needs a Unix system (mmap); elsewhere it returns an error.
func GoMaxDepth(ctx context.Context, frame Frame, budget int) (MaxDepth, error) {
	if err := frame.check(); err != nil {
		return MaxDepth{}, err
	}
	if err := checkBudget(budget); err != nil {
		return MaxDepth{}, err
	}
	f, err := os.CreateTemp("", "rtlab-stack-*")
	if err != nil {
		return MaxDepth{}, fmt.Errorf("stack: progress file: %w", err)
	}
	path := f.Name()
	defer os.Remove(path)
	err = f.Truncate(progressFileSize)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return MaxDepth{}, fmt.Errorf("stack: progress file: %w", err)
	}

	arg := fmt.Sprintf("%d %d %s", frame, budget, path)
	res, err := overflowChild.Run(ctx, child.Options{Arg: arg, Timeout: time.Minute})
	if err != nil {
		return MaxDepth{}, fmt.Errorf("stack: GoMaxDepth: %w", err)
	}
	m := exceedsRE.FindSubmatch(res.Stderr)
	if m == nil {
		return MaxDepth{}, fmt.Errorf("stack: GoMaxDepth: the child did not die of a stack overflow: %w", res.Err())
	}
	limit, _ := strconv.Atoi(string(m[2]))
	lo, _ := strconv.ParseUint(string(m[3]), 0, 64)
	hi, _ := strconv.ParseUint(string(m[4]), 0, 64)
	if limit != budget {
		return MaxDepth{}, fmt.Errorf("stack: GoMaxDepth: the runtime reports a %d-byte limit, not the %d set", limit, budget)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return MaxDepth{}, fmt.Errorf("stack: GoMaxDepth: %w", err)
	}
	if len(raw) < int(unsafe.Sizeof(progress{})) {
		return MaxDepth{}, fmt.Errorf("stack: GoMaxDepth: progress file holds %d bytes", len(raw))
	}
	word := func(i int) int { return int(int64(binary.NativeEndian.Uint64(raw[8*i:]))) }
	depth, used, growths := word(0), word(1), word(2)
	if depth == 0 {
		return MaxDepth{}, errors.New("stack: GoMaxDepth: the child died before its first frame")
	}
	return MaxDepth{
		Model: "go", Frame: frame, Budget: budget,
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
