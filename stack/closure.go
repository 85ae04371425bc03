package stack

// EscapingClosure calls a closure made by another function. The closure
// outlives the frame that made it (adder returns it), so the compiler must
// put it, with its captured variable, on the heap: one allocation per call.
func EscapingClosure(x int) int {
	add := adder(x)
	return add(x)
}

// adder returns a closure capturing n. It must not be inlined: inlined into
// EscapingClosure, the closure would no longer leave a frame and would stay
// on the stack.
//
//go:noinline
func adder(n int) func(int) int {
	return func(x int) int { return x + n }
}

// StackClosure calls a closure made in its own frame and passed down to a
// function that only calls it. Escape analysis proves the closure never
// outlives StackClosure's frame, so it and its captured variable stay on
// the stack: no allocation.
func StackClosure(x int) int {
	n := x
	add := func(y int) int { return y + n }
	return apply(add, x)
}

// apply calls f; f does not escape, which escape analysis records for the
// callers. Not inlined, so the closure is passed as a real func value.
//
//go:noinline
func apply(f func(int) int, x int) int { return f(x) }
