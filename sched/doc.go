// Package sched measures what Go's scheduler does for latency, blocking and
// CPU-bound work, next to the single-threaded run-to-completion event loop
// of JavaScript.
//
// Go multiplexes goroutines (G) onto OS threads (M) through GOMAXPROCS
// processors (P), and since Go 1.14 can preempt a goroutine anywhere with a
// signal. JavaScript runs one thread: each task runs to completion, then
// the microtasks it queued, then the next task. Each experiment below turns
// one consequence of that difference into a figure. Every experiment is
// called the same way, with a context and a configuration whose zero value
// runs the defaults, and returns a result whose String method prints it on
// one line:
//
//	res, err := sched.Preempt(ctx, sched.PreemptConfig{AsyncPreemptOff: true})
//
// # Preemption (Preempt, PreemptEventLoop)
//
// In a child process with GOMAXPROCS=1, one goroutine spins in a loop with
// no function calls (200 ms by default) while another sleeps 1 ms over and
// over and records how late it wakes. The figures are the p50 and maximum
// lateness of the wake-ups that overlap the loop.
//
//   - asyncpreempt=on (Go's default): sysmon notices the loop has run past
//     its 10 ms time slice and interrupts it with a signal; the timer
//     goroutine runs, and the loop resumes. sysmon looks every 10 ms when
//     it has nothing else to do, so a slice lasts 10-20 ms: expect p50 and
//     max near 20 ms, however long the loop.
//   - asyncpreempt=off (GODEBUG=asyncpreemptoff=1, the scheduler before Go
//     1.14): only a function call can yield, and the loop makes none. One
//     wake-up is late by the whole loop: p50 = max ≈ the loop's length.
//
// PreemptEventLoop runs the same long task on a Loop: a run-to-completion
// loop has no way to interrupt a task, so its timer is late by the whole
// task too, whatever GOMAXPROCS is. That is why JavaScript code splits long
// work into chunks (or moves it to a worker) by hand.
//
//	go test -run '^$' -bench 'BenchmarkSchedPreempt' -count 3 . | go tool benchstat -
//
// # The event loop (Loop)
//
// Loop is a small event loop in the JavaScript model, exported for class
// use: Post queues a macrotask, Microtask a microtask, SetTimeout a timer.
// Microtasks are drained after every task, before the next task or timer;
// due timers run in deadline order. The tests pin these orderings down; the
// suite prices one task with its microtask.
//
//	go test -run '^$' -bench 'BenchmarkSchedLoopTask' -count 3 . | go tool benchstat -
//
// # CPU-bound parallelism (Parallel)
//
// The same work (FNV-1a over 64 MiB, in 16 KiB chunks that stay in cache)
// is split across 1, 2 and 4 goroutines, or 1, 2 and 4 tasks of one Loop.
// Speedup is the time of one goroutine over the time of the split. On a
// 2-core machine expect about 2x for 2 and 4 goroutines (no more: there are
// two cores, and 4 goroutines just take turns on them) and about 1x for the
// event loop however the work is split, since its tasks run one after
// another on one thread. On a loaded machine the goroutine speedup falls
// toward 1: it can only use the cores nobody else is using.
//
//	go test -run '^$' -bench 'BenchmarkSchedParallel' -count 3 . | go tool benchstat -
//
// # Blocking (Blocking)
//
// In a child process, N goroutines each block in a read(2) on their own
// pipe (blocking descriptors, raw system calls: os.Pipe would park them in
// the network poller instead, which holds no thread). A goroutine ticking
// every 1 ms records its lateness. The scheduler takes the P away from a
// thread stuck in the kernel and gives it to another thread, so expect
// threads to grow by about one per blocked goroutine while the ticker's p99
// delay stays where it is with none blocked. Every reader is woken by
// closing its pipe's write end and waited for, and every descriptor is
// closed, before Blocking returns.
//
//	go test -run '^$' -bench 'BenchmarkSchedBlocking' -count 3 . | go tool benchstat -
//
// # False sharing (FalseSharing)
//
// Two goroutines atomically increment their own counters. LayoutPacked puts
// the counters in one 64-byte cache line, which then travels between the
// two cores on every write; LayoutPad64 and LayoutPad128 put them in
// different lines (pad128 also clear of the adjacent-line prefetcher that
// fetches 128-byte pairs on some x86 cores). Expect packed to be several
// times slower per increment than pad64, and pad128 about equal to pad64.
// With GOMAXPROCS=1 there is no difference. The benchmark's rows are
// model=go; node/bench.js prints model=node beside them: two worker_threads
// doing Atomics.add on their own slots of one SharedArrayBuffer, the same
// layouts and increments, so -col /model puts the runtimes side by side
// (with an empty -table, since the two files' configuration lines differ):
//
//	go test -run '^$' -bench 'BenchmarkSchedFalseSharing' -count 6 . > go.txt
//	node node/bench.js -bench SchedFalseSharing -count 6 > node.txt
//	go tool benchstat -table '' -col /model go.txt node.txt
//
// The hand-off between two goroutines on one P or two, which this package
// used to measure as HandOff, is channels.PingPong with its Procs option:
// see BenchmarkChanPingPong.
//
// Figures are wall-clock: on a busy machine the delays grow and the speedup
// shrinks. Run with -count 5 or more and compare with benchstat.
package sched
