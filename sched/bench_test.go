package sched

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkHandOff: two goroutines pass the turn back and forth in a child
// with GOMAXPROCS=procs; ns/handoff is one pass.
func BenchmarkHandOff(b *testing.B) {
	n := 1 << 20
	if testing.Short() {
		n = 1 << 14
	}
	for _, mode := range []HandOffMode{Chan, Spin} {
		for _, procs := range []int{1, 2} {
			b.Run(fmt.Sprintf("mode=%s/procs=%d", mode, procs), func(b *testing.B) {
				cfg := HandOffConfig{Procs: procs, Mode: mode, HandOffs: n}
				var ns float64
				ops := 0
				for b.Loop() {
					res, err := HandOff(context.Background(), cfg)
					if err != nil {
						b.Fatal(err)
					}
					ns += res.NsPerHandOff
					ops++
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(ns/float64(ops), "ns/handoff")
			})
		}
	}
}

// BenchmarkLoopTask is the event loop's own cost: post a macrotask that
// queues a microtask, and run it.
func BenchmarkLoopTask(b *testing.B) {
	var l Loop
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
