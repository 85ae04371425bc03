package channels_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rtlab/rtlab/channels"
)

// Message passing through an atomic flag: whatever the machine, a thread
// that sees the flag also sees the data written before it.
func ExampleLitmus() {
	r, err := channels.Litmus(context.Background(), channels.LitmusConfig{
		Test:   channels.LitmusMP,
		Sync:   channels.SyncAtomic,
		Trials: 10_000,
	})
	if err != nil {
		panic(err)
	}
	seen := 0
	for _, o := range r.Outcomes() {
		seen += r.Counts[o]
	}
	fmt.Println("trials counted:", seen)
	fmt.Println("forbidden:", r.Forbidden)
	// Output:
	// trials counted: 10000
	// forbidden: 0
}

// A goroutine parks until the word changes, the way a JS worker calls
// Atomics.wait on a SharedArrayBuffer slot and another calls Atomics.notify.
func ExampleWaitNotify() {
	var wn channels.WaitNotify
	var ready atomic.Int32

	var wg sync.WaitGroup
	wg.Go(func() {
		for ready.Load() == 0 {
			wn.Wait(&ready, 0) // sleeps only while ready is still 0
		}
		fmt.Println("worker: ready =", ready.Load())
	})

	ready.Store(1)
	wn.Notify(&ready, 1) // store first, then notify: the wake-up cannot be lost
	wg.Wait()
	fmt.Println("wait on a changed word:", wn.Wait(&ready, 0))
	// Output:
	// worker: ready = 1
	// wait on a changed word: not-equal
}

// A ping-pong measured in a child process with one P, whatever this
// process's GOMAXPROCS: r.PerRound() is the time of one round trip.
func ExamplePingPong() {
	r, err := channels.PingPong(context.Background(), channels.PingPongConfig{
		Impl:   channels.PingPongWaitNotify,
		Rounds: 1000,
		Procs:  1,
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s finished %d round trips with GOMAXPROCS=%d\n", r.Impl, r.Rounds, r.GOMAXPROCS)
	// Output: waitnotify finished 1000 round trips with GOMAXPROCS=1
}

func ExampleThroughput() {
	r, err := channels.Throughput(context.Background(), channels.ThroughputConfig{Cap: 64, Batch: 64, Msgs: 100_000})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Msgs, "messages, none lost:", r.Sum == 100_000*(100_000-1)/2)
	// Output: 100000 messages, none lost: true
}
