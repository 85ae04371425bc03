package stack_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rtlab/rtlab/stack"
)

// A recursion 100,000 deep: Go grows the goroutine stack as it goes.
func ExampleRecurse() {
	r, err := stack.Recurse(context.Background(), stack.RecurseConfig{Depth: 100_000})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("depth:", r.Depth)
	fmt.Println("stack copied on the way down:", r.Growths > 0)
	fmt.Println("more than 1 MiB in use:", r.StackBytes > 1<<20)
	// Output:
	// depth: 100000
	// stack copied on the way down: true
	// more than 1 MiB in use: true
}

// A goroutine stack can grow to 512 MiB on a 64-bit system by default.
func ExampleMaxGoStack() {
	fmt.Println(stack.MaxGoStack()>>20, "MiB")
	// Output: 512 MiB
}

// The same recursion on a fixed 984 KiB stack, the way V8 runs JavaScript,
// ends with an error, not a crash.
func ExampleRecurse_fixed() {
	_, err := stack.Recurse(context.Background(), stack.RecurseConfig{Depth: 100_000, Model: stack.ModelFixed})
	var over *stack.OverflowError
	if errors.As(err, &over) {
		fmt.Println(errors.Is(err, stack.ErrStackOverflow))
		fmt.Println("stopped within the budget:", over.StackBytes <= stack.DefaultBudget)
		fmt.Println("stopped short of 100000:", over.Depth < 100_000)
	}
	// Output:
	// true
	// stopped within the budget: true
	// stopped short of 100000: true
}

// How many 1 KiB frames fit in a 984 KiB fixed stack.
func ExampleMaxDepth_fixed() {
	m, err := stack.MaxDepth(context.Background(), stack.MaxDepthConfig{Model: stack.ModelFixed, Frame: stack.FrameLarge})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Model, m.Frame, "frames:", m.Depth > 900 && m.Depth < 984)
	// Output: fixed large frames: true
}

// Go under debug.SetMaxStack(984 KiB) dies with its stack at 512 KiB, the
// largest power of two under the limit.
func ExampleMaxDepth() {
	ctx := context.Background()
	g, err := stack.MaxDepth(ctx, stack.MaxDepthConfig{Model: stack.ModelGo, Frame: stack.FrameLarge})
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := stack.MaxDepth(ctx, stack.MaxDepthConfig{Model: stack.ModelFixed, Frame: stack.FrameLarge})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.Message)
	fmt.Println("stack when it died:", g.StackSize)
	fmt.Println("fixed model deeper:", f.Depth > g.Depth)
	// Output:
	// goroutine stack exceeds 1007616-byte limit
	// stack when it died: 524288
	// fixed model deeper: true
}

func ExampleSpawn() {
	r, err := stack.Spawn(context.Background(), stack.SpawnConfig{N: 10_000})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("goroutines:", r.N)
	fmt.Println("starts with at least 2 KiB:", r.StartBytes >= 2048)
	fmt.Println("first copied within a few KiB:", r.FirstGrowthBytes < 4*r.StartBytes)
	// Output:
	// goroutines: 10000
	// starts with at least 2 KiB: true
	// first copied within a few KiB: true
}

// With adaptive start sizes new goroutines start big enough for the
// program's typical stack; without, they start at 2 KiB and are copied.
func ExampleStartSize() {
	ctx := context.Background()
	on, err := stack.StartSize(ctx, stack.StartSizeConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	off, err := stack.StartSize(ctx, stack.StartSizeConfig{AdaptiveOff: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("adaptive start fits the workload:", on.StartBytes > on.UsedBytes)
	fmt.Println("fixed start copies:", off.Growths >= 1)
	// Output:
	// adaptive start fits the workload: true
	// fixed start copies: true
}

// GCs give the stack memory of parked goroutines back, unless
// GODEBUG=gcshrinkstackoff=1.
func ExampleShrink() {
	ctx := context.Background()
	on, err := stack.Shrink(ctx, stack.ShrinkConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	off, err := stack.Shrink(ctx, stack.ShrinkConfig{ShrinkOff: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("shrunk:", on.StacksAfter < on.StacksBefore/2, on.Regrowths > 0)
	fmt.Println("kept:", off.StacksAfter > off.StacksBefore/2, off.Regrowths == 0)
	// Output:
	// shrunk: true true
	// kept: true true
}

func ExampleEscapingClosure() {
	allocs := testing.AllocsPerRun(100, func() { stack.EscapingClosure(21) })
	fmt.Println(stack.EscapingClosure(21), allocs)
	// Output: 42 1
}

func ExampleStackClosure() {
	allocs := testing.AllocsPerRun(100, func() { stack.StackClosure(21) })
	fmt.Println(stack.StackClosure(21), allocs)
	// Output: 42 0
}
