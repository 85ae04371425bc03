package sched_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rtlab/rtlab/sched"
)

// The JavaScript ordering, on a Loop: synchronous code first, then the
// microtasks it queued, then macrotasks one at a time (each followed by its
// microtasks); a due timer joins the macrotask queue behind what is already
// queued. No timer here waits for a duration, so the order does not depend
// on how fast the machine is.
func ExampleLoop() {
	var l sched.Loop
	l.SetTimeout(0, func() {
		fmt.Println("timeout 0")
		l.SetTimeout(0, func() { fmt.Println("timeout set by timeout 0") })
	})
	l.Post(func() {
		fmt.Println("task 1")
		l.Microtask(func() { fmt.Println("microtask from task 1") })
		l.Post(func() { fmt.Println("task 3, posted by task 1") })
	})
	l.Post(func() { fmt.Println("task 2") })
	l.Microtask(func() { fmt.Println("microtask from the script") })
	fmt.Println("script")
	if err := l.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// script
	// microtask from the script
	// task 1
	// microtask from task 1
	// task 2
	// timeout 0
	// task 3, posted by task 1
	// timeout set by timeout 0
}

// Goroutines split CPU-bound work across cores; an event loop runs its
// tasks one after another on one thread. Both do the same work.
func ExampleParallel() {
	const bytes = 4 << 20
	ctx := context.Background()
	one, err := sched.Parallel(ctx, sched.ParallelConfig{Model: sched.ModelGoroutines, Workers: 1, Bytes: bytes})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, model := range sched.Models() {
		res, err := sched.Parallel(ctx, sched.ParallelConfig{Model: model, Workers: 4, Bytes: bytes})
		if err != nil {
			fmt.Println(err)
			return
		}
		// one.Elapsed / res.Elapsed is the speedup: about 2 for goroutines
		// on two cores, about 1 for the event loop.
		fmt.Printf("%s, 4 workers: same work %v\n", model, res.Sum == one.Sum)
	}
	// Output:
	// goroutines, 4 workers: same work true
	// eventloop, 4 workers: same work true
}

// With asynchronous preemption off, a loop without calls holds the only P
// and the timer that falls due during it waits for the whole loop.
func ExamplePreempt() {
	res, err := sched.Preempt(context.Background(), sched.PreemptConfig{
		Loop:            50 * time.Millisecond,
		AsyncPreemptOff: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("GOMAXPROCS:", res.GOMAXPROCS)
	fmt.Println("timer waited for the whole loop:", res.MaxDelay >= res.Loop-res.Tick)
	// Output:
	// GOMAXPROCS: 1
	// timer waited for the whole loop: true
}
