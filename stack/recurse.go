package stack

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"time"
	"unsafe"

	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// Frame is the size of the frame each level of the recursion puts on the
// stack. The zero value is FrameSmall.
type Frame int

const (
	// FrameSmall is a frame of a few words: a pointer, a counter, a return
	// address and a frame pointer.
	FrameSmall Frame = iota
	// FrameLarge is a frame holding 1 KiB of locals that stay live across
	// the recursive call, so the compiler cannot drop or shrink them.
	FrameLarge
)

// Frames lists every frame size, in the order the suite runs them.
func Frames() []Frame { return []Frame{FrameSmall, FrameLarge} }

// String is "small" or "large", the value of the frame key in benchmark
// names.
func (f Frame) String() string {
	switch f {
	case FrameSmall:
		return "small"
	case FrameLarge:
		return "large"
	}
	return fmt.Sprintf("Frame(%d)", int(f))
}

// check validates f as the field named field of a config.
func (f Frame) check(field string) error {
	if f != FrameSmall && f != FrameLarge {
		return fmt.Errorf("stack: %s %v must be FrameSmall or FrameLarge", field, f)
	}
	return nil
}

// Model is the stack a recursion runs on. The zero value is ModelGo.
type Model int

const (
	// ModelGo is Go's own stack: it grows by copying up to the runtime's
	// limit (debug.SetMaxStack), past which the process dies.
	ModelGo Model = iota
	// ModelFixed is a fixed budget, the way a JavaScript engine runs: past
	// it the recursion unwinds with ErrStackOverflow, like "RangeError:
	// Maximum call stack size exceeded".
	ModelFixed
)

// Models lists every model, the fixed baseline first, so that benchstat
// -col /model compares Go against it.
func Models() []Model { return []Model{ModelFixed, ModelGo} }

// String is "go" or "fixed", the value of the model key in benchmark names.
func (m Model) String() string {
	switch m {
	case ModelGo:
		return "go"
	case ModelFixed:
		return "fixed"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// check validates m as the field named field of a config.
func (m Model) check(field string) error {
	if m != ModelGo && m != ModelFixed {
		return fmt.Errorf("stack: %s %v must be ModelGo or ModelFixed", field, m)
	}
	return nil
}

// DefaultBudget is the fixed model's stack budget: 984 KiB, V8's default
// --stack-size on x64, the limit behind JavaScript's "RangeError: Maximum
// call stack size exceeded".
const DefaultBudget = 984 << 10

// minBudget keeps budgets above what the runtime itself needs on a
// goroutine stack; a child under a smaller SetMaxStack could die before the
// experiment starts.
const minBudget = 16 << 10

// goMaxStack is the runtime's default limit (runtime.maxstacksize: 1e9 bytes
// on 64-bit, 250e6 on 32-bit). A stack only ever doubles, so the largest stack
// a goroutine can have is the largest power of two not above it: 512 MiB on
// 64-bit.
var goMaxStack = func() int {
	if bits.UintSize == 64 {
		return 1_000_000_000
	}
	return 250_000_000
}()

// MaxGoStack is the largest stack a goroutine can have under the runtime's
// default limit: 512 MiB on 64-bit systems, where the limit is 1e9 bytes,
// because a stack only doubles and 1 GiB is over it.
func MaxGoStack() int { return largestPow2(goMaxStack) }

// goUsable is what Recurse lets the recursion use before it reports an
// overflow instead of letting the runtime kill the process: the largest
// stack, less room for the frames above the probe and the runtime's guard.
var goUsable = MaxGoStack() - 8<<10

// largestPow2 is the largest power of two not above n (n > 0).
func largestPow2(n int) int { return 1 << (bits.Len(uint(n)) - 1) }

// ErrStackOverflow is the error a recursion returns instead of crashing
// when it would go past its budget: the analog of JavaScript's "RangeError:
// Maximum call stack size exceeded". Test for it with errors.Is; the
// concrete error is an *OverflowError.
var ErrStackOverflow = errors.New("stack: maximum call stack size exceeded")

// OverflowError tells how deep a recursion got before its next frame would
// have gone past Budget.
type OverflowError struct {
	Frame      Frame
	Depth      int // deepest frame that ran
	StackBytes int // stack bytes in use at that frame
	Budget     int // the budget the next frame would have exceeded
}

// Error says how deep the recursion got and how much of the budget it used.
func (e *OverflowError) Error() string {
	return fmt.Sprintf("stack: maximum call stack size exceeded: frame=%v reached depth %d using %d of %d bytes",
		e.Frame, e.Depth, e.StackBytes, e.Budget)
}

// Unwrap makes errors.Is(err, ErrStackOverflow) true.
func (e *OverflowError) Unwrap() error { return ErrStackOverflow }

// Growth is one copy of the stack observed on the way down.
type Growth struct {
	Depth      int // frame that found the stack moved
	StackBytes int // bytes in use at that frame, just above the old stack's size
}

// RecurseConfig sets up a recursion. The zero value recurses 100,000
// FrameSmall frames deep on Go's own growable stack.
type RecurseConfig struct {
	Depth int   // frames to recurse; 100,000 if 0
	Frame Frame // FrameSmall if 0
	Model Model // ModelGo if 0
	// Budget is ModelFixed's stack budget in bytes; DefaultBudget (984
	// KiB) if 0. ModelGo takes none: its limit is the runtime's.
	Budget int
}

// defaultDepth is RecurseConfig's depth when Depth is 0.
const defaultDepth = 100_000

func (c RecurseConfig) withDefaults() (RecurseConfig, error) {
	if c.Depth < 0 {
		return c, fmt.Errorf("stack: RecurseConfig.Depth %d must be > 0", c.Depth)
	}
	if c.Depth == 0 {
		c.Depth = defaultDepth
	}
	if err := c.Frame.check("RecurseConfig.Frame"); err != nil {
		return c, err
	}
	if err := c.Model.check("RecurseConfig.Model"); err != nil {
		return c, err
	}
	if c.Model == ModelGo && c.Budget != 0 {
		return c, fmt.Errorf("stack: RecurseConfig.Budget %d is for ModelFixed; ModelGo grows to the runtime's limit", c.Budget)
	}
	var err error
	c.Budget, err = budgetOrDefault(c.Budget, "RecurseConfig.Budget")
	return c, err
}

// RecurseResult is one recursion to its target depth, or as deep as its
// stack allowed.
//
// It holds none of the config but Frame: the recursion's first frame
// returns it, and a larger result would change that frame's size, which is
// part of the stack bytes measured. An *OverflowError gives the budget.
type RecurseResult struct {
	Frame      Frame
	Depth      int // frames of the recursive function on the stack at the deepest point
	StackBytes int // stack bytes in use at the deepest point, measured
	Growths    int // times the runtime copied the stack on the way down, observed
	Steps      []Growth
	// StartBytes is /gc/stack/starting-size:bytes when the goroutine was
	// made: the size of its stack if it reused a finished goroutine's, as
	// it usually does. One made from scratch starts at 2 KiB whatever the
	// start size (runtime.newproc1), and a GC may halve a new stack before
	// it runs, so the stack can be smaller than this, never larger.
	StartBytes int
	Elapsed    time.Duration // spawn, descend, unwind
}

// String summarises the recursion on one line.
func (r RecurseResult) String() string {
	return fmt.Sprintf("frame=%v: depth %d, %d stack bytes, %d growths, %v",
		r.Frame, r.Depth, r.StackBytes, r.Growths, r.Elapsed)
}

// Recurse runs a recursion to cfg.Depth in a fresh goroutine and reports
// the stack bytes it used at the deepest point and the stack copies on the
// way.
//
// With ModelGo the stack grows on demand, so any depth works as long as the
// stack fits under the runtime's maximum (debug.SetMaxStack, 1e9 bytes by
// default on 64-bit, so at most a 512 MiB stack). Depth 1,000,000 fits with
// FrameSmall (about 48 MB on linux/amd64) but not with FrameLarge (over 1
// GiB): rather than let the runtime kill the process, Recurse returns an
// *OverflowError (wrapping ErrStackOverflow) when the stack in use passes
// the default maximum. A caller that lowered debug.SetMaxStack gets the
// runtime's fatal error.
//
// With ModelFixed the recursion runs under cfg.Budget, the way a JavaScript
// engine runs: every frame compares the stack bytes really in use with the
// budget and, past it, the recursion unwinds and returns an *OverflowError
// with the depth reached. It never crashes.
//
// On an overflow the result holds the deepest frame that fit. ctx is
// checked before the recursion starts, not during it.
func Recurse(ctx context.Context, cfg RecurseConfig) (RecurseResult, error) {
	if err := ctx.Err(); err != nil {
		return RecurseResult{}, fmt.Errorf("stack: Recurse: %w", err)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return RecurseResult{}, err
	}
	limit := goUsable
	if cfg.Model == ModelFixed {
		limit = cfg.Budget
	}
	return run(config{target: cfg.Depth, frame: cfg.Frame, limit: limit})
}

// budgetOrDefault is budget, or DefaultBudget if budget is 0, checked as
// the field named field of a config.
func budgetOrDefault(budget int, field string) (int, error) {
	if budget == 0 {
		return DefaultBudget, nil
	}
	if budget < minBudget || budget > goUsable {
		return 0, fmt.Errorf("stack: %s %d bytes must be between %d and %d", field, budget, minBudget, goUsable)
	}
	return budget, nil
}

// config is one recursion.
type config struct {
	target int
	frame  Frame
	limit  int
	// progress, if not nil, receives depth, bytes and growths at every
	// frame: the child of MaxDepth with ModelGo points it at memory shared
	// with its parent, because it will not live to report them.
	progress *progress
	// bottom, if not nil, runs at the target depth, with the whole stack
	// still in use (the start-size and shrink experiments park there).
	bottom func()
	// steps, if not nil, receives the growths one by one. run allocates it
	// with the goroutine, on the heap: made in descend, the compiler would
	// keep it in descend's frame, and 640 bytes there would fill most of a
	// new goroutine's 2 KiB stack before the recursion starts.
	steps *[maxSteps]Growth
	// firstCopy ends the recursion at the first frame that sees the stack
	// copied (that frame is not counted).
	firstCopy bool
	// bareGo makes the goroutine with a plain go statement and leaves
	// StartBytes 0: for StartSize's timed loop, which reads the start size
	// once with the GC off, and where spawn's three metric reads would be
	// a third of the time per goroutine.
	bareGo bool
}

// progress is what the deepest frame so far publishes.
type progress struct {
	depth, stackBytes, growths int64
}

// run does the recursion in a fresh goroutine, so that it starts from a
// new, small stack, and waits for it.
func run(c config) (RecurseResult, error) {
	start := time.Now()
	done := make(chan RecurseResult, 1)
	c.steps = new([maxSteps]Growth)
	f := func() { done <- descend(c) }
	var startBytes int
	if c.bareGo {
		go f()
	} else {
		startBytes = spawn(f)
	}
	r := <-done
	r.Elapsed = time.Since(start)
	r.StartBytes = startBytes
	if r.Depth < c.target {
		return r, &OverflowError{Frame: c.frame, Depth: r.Depth, StackBytes: r.StackBytes, Budget: c.limit}
	}
	return r, nil
}

const startingSize = "/gc/stack/starting-size:bytes"

// spawn runs f in a new goroutine and returns the start size the runtime
// made it with: its stack's size, unless the goroutine was made from
// scratch (RecurseResult.StartBytes).
//
// With adaptive start sizes every GC's mark termination sets the size of
// the next new stacks from the stacks it scanned, so a size read before a
// go statement is the new goroutine's only if no GC ended in between: one
// that scanned a deep recursion can raise it from 2 KiB to tens of KiB
// there (TestRecurseStartBytesWhileGCsResize -v logs the sizes it saw).
// spawn reads the GC count before the size and after the go statement (the
// count and the size change in the same stop-the-world), and if a GC ended
// in between it lets that goroutine exit without running f and makes
// another.
func spawn(f func()) (startBytes int) {
	for {
		cycles := rtmetrics.Uint64(rtmetrics.GCCycles)
		startBytes = int(rtmetrics.Uint64(startingSize))
		gate := make(chan bool)
		go func() {
			if <-gate {
				f()
			}
		}()
		same := rtmetrics.Uint64(rtmetrics.GCCycles) == cycles
		gate <- same
		if same {
			return startBytes
		}
	}
}

// maxSteps bounds the growths recorded one by one: doubling from 2 KiB to
// the 512 MiB maximum takes 18.
const maxSteps = 40

// probe measures the stack from inside the recursion.
//
// The method: descend declares a probe as a local, so it lives on the
// goroutine's stack at the top of the recursion, and passes a pointer to it
// down to every frame. When a frame does not fit, the runtime allocates a
// stack twice the size, copies the old one into it and adjusts every pointer
// into the old stack, the pointer to the probe included. So each frame can
// read, without any formula or runtime internals:
//   - the bytes in use: the probe's address (plus its size) minus the address
//     of a local of the frame itself, since the stack grows down;
//   - the copies: the probe's address as last seen is kept in a uintptr,
//     which the runtime does not adjust, so a frame that finds the pointer
//     different from it knows the stack was moved since the frame above.
//
// A GC may also move a stack, to shrink it, but only one less than a quarter
// used; on the way down the stack is always more than half used, so every
// move seen there is a growth.
//
// Nothing here allocates or calls into the runtime, so the recursion measures
// only itself. The frames above the probe (the goroutine's entry, the
// runtime's goexit, part of descend: a few hundred bytes) are not counted;
// the runtime's limit covers them too.
type probe struct {
	config
	seen    uintptr // the probe's address as last seen: a number the runtime leaves alone
	depth   int     // deepest frame that ran
	used    uintptr // stack bytes in use at that frame
	growths int
	own     progress // where progress goes when config.progress is nil
}

// descend is the first frame of the recursion's goroutine and owns the probe.
//
//go:noinline
func descend(c config) RecurseResult {
	var p probe
	p.config = c
	if p.progress == nil {
		p.progress = &p.own
	}
	p.seen = uintptr(unsafe.Pointer(&p))
	switch c.frame {
	case FrameSmall:
		sink(smallFrame(&p, 1))
	case FrameLarge:
		sink(largeFrame(&p, 1))
	}
	r := RecurseResult{Frame: c.frame, Depth: p.depth, StackBytes: int(p.used), Growths: p.growths}
	if p.steps != nil {
		r.Steps = append([]Growth(nil), p.steps[:min(p.growths, maxSteps)]...)
	}
	return r
}

// enter is called by every frame with the address of one of its locals; it
// records the frame and reports whether the frame is past the limit, in which
// case the frame returns at once without recursing (it is not counted).
//
// local is a pointer, not a uintptr, for the same reason as the method
// itself: if enter is not inlined (the race detector prevents it), its own
// prologue may grow the stack, and only a pointer is adjusted by the copy.
func (p *probe) enter(depth int, localPtr unsafe.Pointer) (over bool) {
	now, local := uintptr(unsafe.Pointer(p)), uintptr(localPtr)
	if now != p.seen {
		if p.growths < maxSteps && p.steps != nil {
			p.steps[p.growths] = Growth{Depth: depth, StackBytes: int(now + unsafe.Sizeof(*p) - local)}
		}
		p.growths++
		p.seen = now
		if p.firstCopy {
			return true
		}
	}
	used := now + unsafe.Sizeof(*p) - local
	if used > uintptr(p.limit) {
		return true
	}
	p.depth, p.used = depth, used
	p.progress.depth, p.progress.stackBytes, p.progress.growths = int64(depth), int64(used), int64(p.growths)
	return false
}

// atBottom reports whether depth is the target, after running the bottom
// hook there.
func (p *probe) atBottom(depth int) bool {
	if depth != p.target {
		return false
	}
	if p.bottom != nil {
		p.bottom()
	}
	return true
}

// smallFrame is one level of the recursion with a frame of a few words.
// It must not be inlined: the recursion would then not be a stack of calls.
//
//go:noinline
func smallFrame(p *probe, depth int) int {
	var here byte
	if p.enter(depth, unsafe.Pointer(&here)) {
		return 0
	}
	if p.atBottom(depth) {
		return depth
	}
	return smallFrame(p, depth+1) + 1
}

// largeWords is the size of FrameLarge's locals in words: 1 KiB.
const largeWords = 128

// largeFrame is one level of the recursion with 1 KiB of locals. They are
// written before the recursive call and one of them, chosen by depth, is read
// after it, so all of them stay live across the call and in the frame.
//
//go:noinline
func largeFrame(p *probe, depth int) int {
	var locals [largeWords]uint64
	if p.enter(depth, unsafe.Pointer(&locals)) {
		return 0
	}
	if p.atBottom(depth) {
		return depth
	}
	for i := range locals {
		locals[i] = uint64(depth) ^ uint64(i)
	}
	return largeFrame(p, depth+1) + int(locals[depth%largeWords]&1)
}

// sink keeps a result alive so the recursion is not optimised away.
//
//go:noinline
func sink(int) {}
