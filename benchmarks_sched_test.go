package rtlab

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/sched"
)

// BenchmarkSchedPreempt: with GOMAXPROCS=1 a call-free loop runs while a
// goroutine asks for a 1 ms timer; each op is one child process. With
// asynchronous preemption on, the delays stay near the 10 ms time slice;
// off, the timer due during the loop waits for all of it (max-delay-ns is
// about the loop length).
func BenchmarkSchedPreempt(b *testing.B) {
	loop := 200 * time.Millisecond
	if testing.Short() {
		loop = 50 * time.Millisecond
	}
	for _, on := range []bool{true, false} {
		b.Run(fmt.Sprintf("asyncpreempt=%s", onOff(on)), func(b *testing.B) {
			var p50, maxd, length time.Duration
			ops := 0
			for b.Loop() {
				res, err := sched.Preempt(context.Background(), sched.PreemptConfig{Loop: loop, AsyncPreemptOff: !on})
				if err != nil {
					b.Fatal(err)
				}
				p50 += res.P50Delay
				maxd += res.MaxDelay
				length += res.Loop
				ops++
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(p50.Nanoseconds())/float64(ops), "p50-delay-ns")
			b.ReportMetric(float64(maxd.Nanoseconds())/float64(ops), "max-delay-ns")
			b.ReportMetric(float64(length.Nanoseconds())/float64(ops), "loop-ns")
		})
	}
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// BenchmarkSchedParallel hashes the same bytes split across 1, 2 and 4
// goroutines or event-loop tasks. speedup is the time of one goroutine over
// the time of this split, each op paired with a one-goroutine run (outside
// the timer) so that a change in the machine's load hits both alike: about
// 2 on two idle cores for goroutines with 2 or more workers, about 1 for
// the event loop.
func BenchmarkSchedParallel(b *testing.B) {
	bytes := 64 << 20
	if testing.Short() {
		bytes = 8 << 20
	}
	ctx := context.Background()
	one := sched.ParallelConfig{Model: sched.ModelGoroutines, Workers: 1, Bytes: bytes}
	for _, model := range sched.Models() {
		for _, workers := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("model=%s/workers=%d", model, workers), func(b *testing.B) {
				cfg := sched.ParallelConfig{Model: model, Workers: workers, Bytes: bytes}
				var base, split time.Duration
				b.SetBytes(int64(bytes))
				for b.Loop() {
					b.StopTimer()
					r1, err := sched.Parallel(ctx, one)
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					rn, err := sched.Parallel(ctx, cfg)
					if err != nil {
						b.Fatal(err)
					}
					base += r1.Elapsed
					split += rn.Elapsed
				}
				b.ReportMetric(float64(base)/float64(split), "speedup")
			})
		}
	}
}

// BenchmarkSchedBlocking: N goroutines block in read(2) on pipes in a child
// process while a goroutine ticks every 1 ms. threads grows by about one per
// blocked goroutine; p99-delay-ns stays flat. N is 0, 100 and 1000, or as
// many as the open-files limit holds the pipes of where that is fewer than
// 1000 (logged).
func BenchmarkSchedBlocking(b *testing.B) {
	d := 200 * time.Millisecond
	if testing.Short() {
		d = 50 * time.Millisecond
	}
	most, why := procmem.FitFDs(1000, 2, 0, "blocked goroutines' pipes")
	if why != "" {
		b.Log(why)
	}
	for _, n := range slices.Compact([]int{0, min(100, most), most}) {
		b.Run(fmt.Sprintf("blocked=%d", n), func(b *testing.B) {
			var p99 time.Duration
			var threads uint64
			ops := 0
			for b.Loop() {
				res, err := sched.Blocking(context.Background(), sched.BlockingConfig{Blocked: n, Duration: d})
				if err != nil {
					b.Fatal(err)
				}
				p99 += res.P99Delay
				threads += res.Threads
				ops++
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(p99.Nanoseconds())/float64(ops), "p99-delay-ns")
			b.ReportMetric(float64(threads)/float64(ops), "threads")
		})
	}
}

// BenchmarkSchedFalseSharing: two goroutines increment their own atomic
// counters; ns/op is per increment. packed (one cache line) is several
// times slower than pad64 and pad128 while the two goroutines run at once
// (on a loaded machine they often take turns, and the layouts cost the
// same). model=go names these rows beside node/bench.js's model=node (two
// worker_threads, the same layouts), so -col /model pairs them.
func BenchmarkSchedFalseSharing(b *testing.B) {
	n := 1 << 20
	if testing.Short() {
		n = 1 << 16
	}
	for _, layout := range sched.Layouts() {
		b.Run(fmt.Sprintf("model=go/layout=%s", layout), func(b *testing.B) {
			cfg := sched.FalseSharingConfig{Layout: layout, Increments: n}
			var ns float64
			ops := 0
			for b.Loop() {
				res, err := sched.FalseSharing(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				ns += res.NsPerIncrement
				ops++
			}
			b.ReportMetric(ns/float64(ops), "ns/op")
		})
	}
}

// BenchmarkSchedLoopTask is the event loop's own cost: post a macrotask
// that queues a microtask, and run it.
func BenchmarkSchedLoopTask(b *testing.B) {
	var l sched.Loop
	ctx := context.Background()
	nop := func() {}
	task := func() { l.Microtask(nop) }
	b.ReportAllocs()
	for b.Loop() {
		l.Post(task)
		if err := l.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
