package channels_test

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rtlab/rtlab/channels"
)

// Message passing through an atomic flag: whatever the machine, a thread
// that sees the flag also sees the data written before it.
func ExampleRunLitmus() {
	r, err := channels.RunLitmus(channels.MP, channels.Atomic, 10_000)
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

func ExamplePingPong() {
	p, err := channels.NewPingPong(channels.PingWaitNotify)
	if err != nil {
		panic(err)
	}
	defer p.Close()
	for range 1000 {
		p.RoundTrip()
	}
	fmt.Println(p.Impl(), "finished 1000 round trips")
	// Output: waitnotify finished 1000 round trips
}

func ExampleThroughput() {
	r, err := channels.Throughput(64, 64, 100_000)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Msgs, "messages, none lost:", r.Sum == 100_000*(100_000-1)/2)
	// Output: 100000 messages, none lost: true
}
