// Package stack shows how goroutine stacks grow, next to the fixed stack a
// JavaScript engine gives its one thread.
//
// Every experiment is called the same way, with a zero config meaning the
// defaults: Recurse, MaxDepth, Spawn, StartSize and Shrink each take a
// context and an XxxConfig and return an XxxResult.
//
// # Growable stacks
//
// A goroutine starts with a small stack (2 KiB, see below). When a call
// does not fit, the runtime allocates a stack twice the size, copies the
// old one into it and fixes every pointer into it, then frees the old one.
// Recurse shows it: a recursion to a given depth in a fresh goroutine, with
// FrameSmall frames (a few words, 48 bytes on linux/amd64) or FrameLarge
// ones (1 KiB of live locals), reports the stack bytes in use at the
// deepest point and every copy on the way down. Both are measured from
// inside the recursion, not computed: the first frame passes a pointer to
// one of its locals down, the runtime adjusts that pointer whenever it
// moves the stack, so its address gives the bytes in use and its changes
// count the copies (see probe in recurse.go).
//
// Expect the copies to be log2(peak/2 KiB) or a little more, each at just
// under a power of two, and the time to grow linearly with depth: a copy
// walks every frame on the stack to adjust its pointers, so copying costs
// per frame, and with doubling each frame is copied about once on average.
// Depth 1,000,000 works with FrameSmall (48 MB of stack); with FrameLarge
// it would need 1 GiB and the default limit (debug.SetMaxStack, 1e9 bytes)
// allows a 512 MiB stack (MaxGoStack), so Recurse returns ErrStackOverflow
// there rather than let the runtime kill the process.
//
//	go test -run '^$' -bench 'BenchmarkStackRecurse' . | go tool benchstat -col /frame -
//
// # A fixed stack, and Go's own limit
//
// With ModelFixed, Recurse and MaxDepth run the same recursion under a
// fixed budget, by default 984 KiB (DefaultBudget, V8's --stack-size on
// x64): each frame compares the bytes really in use with the budget and,
// past it, the recursion unwinds with ErrStackOverflow, like JavaScript's
// "RangeError: Maximum call stack size exceeded". MaxDepth with ModelGo
// runs it in a child process with debug.SetMaxStack set to the same budget
// and reports how deep it got before the runtime's fatal "goroutine stack
// exceeds 1007616-byte limit".
//
// Expect Go to get about half as deep (TestMaxDepth checks that the depths
// are in the ratio of the stack bytes each model could use). A Go stack
// only ever doubles, so the largest stack a goroutine can have is the
// largest power of two under the limit, 512 KiB here; the runtime refuses
// the next doubling to 1 MiB even though 984 KiB would have been enough for
// the next frame. A fixed stack uses all of its budget. With the default
// limit of 1e9 bytes the same rule caps a goroutine at 512 MiB.
//
//	go test -run '^$' -bench 'BenchmarkStackMaxDepth' . | go tool benchstat -col /model -
//
// # Start size and shrinking
//
// Spawn measures the cost of starting a goroutine and the stack it starts
// with.
//
//	go test -run '^$' -bench 'BenchmarkStackSpawn' . | go tool benchstat -
//
// Since Go 1.19 (GODEBUG=adaptivestackstart=1, the default) every GC sets
// the start size to the average stack it scanned, plus the runtime's guard,
// rounded up to a power of two. StartSize runs, in a child process, a
// program whose goroutines use about 8 KiB: adaptive, new goroutines should
// start above 8 KiB and not be copied; with StartSizeConfig.AdaptiveOff
// (=0) they start at 2 KiB and are copied on the way to 8 KiB
// (TestStartSize checks both).
//
//	go test -run '^$' -bench 'BenchmarkStackStart' . | go tool benchstat -col /adaptivestackstart -
//
// Stacks also shrink: a GC halves a stack that is less than a quarter used.
// Shrink parks goroutines that grew to 512 KiB and forces GCs: the stack
// memory falls back to a few KiB per goroutine, and their next deep descent
// copies the stack again; with ShrinkConfig.ShrinkOff
// (GODEBUG=gcshrinkstackoff=1) the memory stays and nothing is copied
// twice.
//
//	go test -run '^$' -bench 'BenchmarkStackShrink' . | go tool benchstat -col /gcshrinkstackoff -
//
// # Closures and escape
//
// A closure costs an allocation only when it outlives the frame that made
// it: EscapingClosure (returned from a function: one allocation) against
// StackClosure (passed down, only called: none). The tests prove both with
// testing.AllocsPerRun; -gcflags=-m shows the compiler's reasoning.
//
//	go test -run '^$' -bench 'BenchmarkStackClosure' . | go tool benchstat -col /closure -
//	go build -gcflags=-m ./stack/ 2>&1 | grep closure.go
//
// # See it
//
//	go test -run '^$' -bench 'BenchmarkStack' . | go tool benchstat -
//	go test -v -run 'Example' ./stack/
package stack
