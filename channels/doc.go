// Package channels makes the Go memory model observable and prices its
// synchronization: litmus tests that count what two goroutines can see of
// each other's writes, the machine instructions that order memory, ping-pong
// round trips, channel throughput and contention, and WaitNotify, an analog
// of JavaScript's Atomics.wait and Atomics.notify.
//
// The Go memory model promises that a send on a channel, an unlock, and an
// atomic store happen before the matching receive, lock, or atomic load that
// observes them. JavaScript shares memory between workers through a
// SharedArrayBuffer, where only Atomics operations (sequentially consistent,
// like Go's sync/atomic) give such promises. This package shows what each
// promise rules out on the reader's own CPU, and what it costs.
//
// Every experiment is called the same way, with a context and a
// configuration whose zero value runs the defaults, and returns a result
// whose String method prints it on one line:
//
//	r, err := channels.Litmus(ctx, channels.LitmusConfig{Trials: 1000})
//
// # Litmus tests
//
// Litmus runs many trials of a litmus test and counts every outcome:
//
//   - LitmusSB, store buffering: x=1; r1=y ∥ y=1; r2=x. Sequential
//     consistency forbids r1=r2=0.
//   - LitmusMP, message passing: data=1; flag=1 ∥
//     r1=flag; if r1==1 { r2=data }. Seeing the flag but not the data
//     (r1=1, r2=0) is forbidden.
//
// Each runs with plain fields (SyncPlain, a data race on purpose, compiled
// only without -race: see litmus_plain.go), sync/atomic (SyncAtomic), a
// channel (SyncChan) and a mutex (SyncMutex). The two threads spin at a
// barrier before every trial and, for the variants that never block, run on
// OS threads bound to two different CPUs (Linux), so that they really
// overlap.
//
// What to expect: on amd64 plain SB shows r1=r2=0 in a large share of the
// trials. Each core's store waits in its store buffer while its next load
// already reads the cache, so both loads can miss both stores: x86-TSO
// allows exactly this one reordering, store then load. Plain MP shows
// nothing on amd64, because TSO keeps stores in order and loads in order;
// on weaker CPUs such as arm64 it may. The atomic, channel and mutex
// variants never show the forbidden outcome, on any machine: the tests
// assert it (also under -race, where SyncPlain is left out). With
// GOMAXPROCS=1 even plain SB is never caught reordering: the threads take
// turns on one P and handing it over orders memory.
//
//	go test -run '^$' -bench 'BenchmarkChanLitmus' . | go tool benchstat -
//
// # What the barrier is
//
// TestBarrierInstructions builds a tiny program in a temporary directory and
// disassembles it with go tool objdump (amd64 only, skipped elsewhere).
// With Go 1.26 it finds:
//
//   - atomic.StoreInt64 is XCHGQ: an exchange with memory is implicitly
//     locked, and a locked instruction drains the store buffer before any
//     later load. That is the instruction that forbids SB's r1=r2=0.
//   - atomic.AddInt64 is LOCK XADDQ, the same full barrier.
//   - atomic.LoadInt64 is a plain MOVQ, and so is a plain store: on TSO a
//     load needs no fence, the store side pays for sequential consistency.
//   - sync.Mutex.Lock is LOCK CMPXCHGL, Unlock LOCK XADDL.
//   - c <- v is CALL runtime.chansend1, which calls runtime.chansend, which
//     takes the channel's lock with CALL runtime.lock2, whose fast path is
//     XCHGB on the lock word (and runtime.unlock2 releases it with XCHGB):
//     a channel orders memory through the locked instructions of its lock.
//
// To see the instructions on your machine:
//
//	go test -run TestBarrierInstructions -v ./channels/
//
// # Ping-pong
//
// PingPong bounces a turn between two goroutines: an unbuffered channel, a
// channel of capacity 1, a mutex with sync.Cond, a busy spin on an atomic
// word, a poll of that word with runtime.Gosched between polls (yield),
// and WaitNotify on an atomic word (the way JS workers hand off with
// Atomics.wait/notify). PingPongConfig.Procs runs the measurement in a
// child process with that GOMAXPROCS, so one run compares one P with two
// without touching the caller's setting; the suite measures both.
//
// Expect the channels and the Cond to cost a few hundred ns per round trip,
// about the same with one P or two: each leg parks a goroutine and readies
// the other, which the scheduler runs next on the same P, so no core ever
// waits for another. WaitNotify adds a mutex and a map lookup to each leg.
// The spin is fastest (about two cache-line transfers) only while each
// goroutine has a CPU of its own; with one P, or on an oversubscribed
// machine, it is the slowest by far, since a spinner waits for a goroutine
// or an OS thread that is not running. The yield is the reverse: with one P
// each leg is a cheap switch to the other goroutine; with two they sit on
// different cores, every leg moves the word's cache line between them, and
// a round trip costs several times as much.
//
// This experiment used to exist twice: sched.HandOff measured the channel
// and the yield hand-offs in a child with GOMAXPROCS 1 or 2, with figures of
// its own. It is folded into PingPong (the yield implementation and the
// Procs option), and its figures are the procs=1 and procs=2 rows of
// BenchmarkChanPingPong (per round trip, two hand-offs).
//
//	go test -run '^$' -bench 'BenchmarkChanPingPong' . | go tool benchstat -
//
// # WaitNotify
//
// WaitNotify.Wait(addr, old) parks only if *addr still equals old, checked
// atomically with joining addr's queue, and Notify(addr, n) wakes up to n
// waiters; so a store followed by Notify can never be lost. Its lock-free
// "anyone waiting?" check in Notify is itself the SB shape, correct only
// because atomics forbid r1=r2=0. The tests race waiters, stores, Notify and
// timeouts to catch lost wake-ups, with and without -race.
//
// # Throughput and contention
//
// Throughput sends ints from one producer to one consumer through channels
// of capacity 0, 1, 64, 1024, one per send or 64 per send as a slice.
// Expect batching to cut the cost per message by an order of magnitude or
// more (one channel operation and at most one wake-up per 64 messages), and
// capacity to help until the producer no longer waits for the consumer (64
// and 1024 are alike).
//
//	go test -run '^$' -bench 'BenchmarkChanThroughput' . | go tool benchstat -
//
// Contended hands messages from 1 or GOMAXPROCS producers to one channel,
// one mutex-protected queue or one atomic counter. The counter is the
// floor, one contended cache line; the mutex queue beats the channel
// because its consumer takes the whole backlog at each wake-up, where a
// channel hands over one element per operation.
//
//	go test -run '^$' -bench 'BenchmarkChanContended' . | go tool benchstat -
package channels
