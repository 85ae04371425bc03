// Package rtlab is a suite of small runtime experiments that turn claims
// about Go (and, by model, JavaScript) runtimes into measurements on the
// reader's own machine.
//
// Each experiment lives in its own package and is plain Go that returns a
// typed result: stack (growable goroutine stacks vs a fixed JS-like stack),
// alloc (size classes, tiny allocator, arenas, locality), gc (heap shapes,
// pauses, GC CPU, settings, the cost of looking), channels (memory
// visibility, ping-pong, Atomics-style wait/notify), sched (preemption, an
// event loop, parallelism, false sharing) and wsconn (zero-copy WebSocket
// framing; wsconn/server, wsconn/client and wsconn/load for servers, a
// client and memory per connection).
//
// # One shape for every experiment
//
// Every experiment in every package is called the same way:
//
//	res, err := pkg.Xxx(ctx, pkg.XxxConfig{...})
//
// The zero XxxConfig means the defaults (each field's doc says what its
// zero value means), so pkg.Xxx(ctx, pkg.XxxConfig{}) always runs. A bad
// field is an error that names it ("stack: RecurseConfig.Depth -1 must be
// > 0"). XxxResult carries every figure the root benchmark reports, and
// its String method prints it on one line. Booleans are named so that
// false is the runtime's default (AsyncPreemptOff, ShrinkOff). Every
// enumeration is a named type whose constants carry its name as a prefix
// (stack.FrameSmall, gc.DensityHigh), with a String method giving the value
// of its benchmark key and a list function (stack.Frames, gc.Densities)
// that the root suite ranges over. Helpers that are not experiments (a heap
// to churn, an event loop, a meter) keep the shape their use needs.
//
// This root package holds no code of its own: its benchmarks_*_test.go files
// are the curated suite, which reports every figure in Go benchmark format.
// Run it and read it with benchstat:
//
//	go test -run '^$' -bench . | go tool benchstat -
//
// To compare, save two runs that differ in one thing (a Go version, GOGC, a
// GOEXPERIMENT) and let benchstat pair them:
//
//	go test -run '^$' -bench . -count 10 > old.txt
//	GOGC=200 go test -run '^$' -bench . -count 10 > new.txt
//	go tool benchstat old.txt new.txt
//
// Every sub-benchmark level is key=value, so benchstat can pivot on any of
// them, for example -col /frame or -col /impl. The output starts with
// configuration lines (runtime, go, gogc, gomemlimit, gc, goexperiment) so a
// results file says what produced it. -short shrinks every experiment.
package rtlab
