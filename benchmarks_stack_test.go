package rtlab

import (
	"fmt"
	"testing"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/rtlab/rtlab/stack"
)

// BenchmarkStackRecurse: time to recurse to depth in a fresh goroutine and
// back, with the stack bytes in use at the deepest point and the stack
// copies on the way down, both measured by the recursion itself.
func BenchmarkStackRecurse(b *testing.B) {
	for _, frame := range stack.Frames() {
		b.Run("frame="+frame.String(), func(b *testing.B) {
			for _, depth := range []int{1000, 10000, 100000, 1000000} {
				if depth == 1000000 && testing.Short() {
					continue
				}
				b.Run(fmt.Sprint("depth=", depth), func(b *testing.B) {
					// A million FrameLarge frames need over 1 GiB of stack,
					// more than the 512 MiB the default SetMaxStack allows:
					// Recurse would grow the stack to 512 MiB to find out, so
					// measure the frame on a short run and skip.
					ctx := b.Context()
					short, err := stack.Recurse(ctx, stack.RecurseConfig{Depth: 1000, Frame: frame})
					if err != nil {
						b.Fatal(err)
					}
					if need := short.StackBytes / 1000 * depth; need > stack.MaxGoStack() {
						b.Skipf("frame=%v depth=%d needs about %d bytes of stack; Go allows %d", frame, depth, need, stack.MaxGoStack())
					}
					cfg := stack.RecurseConfig{Depth: depth, Frame: frame}
					var bytes, growths int
					for b.Loop() {
						r, err := stack.Recurse(ctx, cfg)
						if err != nil {
							b.Fatal(err)
						}
						bytes += r.StackBytes
						growths += r.Growths
					}
					b.ReportMetric(float64(bytes)/float64(b.N), "stack-B")
					b.ReportMetric(float64(growths)/float64(b.N), "growths")
				})
			}
		})
	}
}

// BenchmarkStackMaxDepth: how deep the recursion gets in a 984 KiB stack,
// in the JS-like fixed model and in Go under debug.SetMaxStack (in a child
// process, since the overflow is fatal), averaged over the iterations;
// ns/op means nothing here.
func BenchmarkStackMaxDepth(b *testing.B) {
	for _, model := range stack.Models() {
		b.Run("model="+model.String(), func(b *testing.B) {
			for _, frame := range stack.Frames() {
				b.Run("frame="+frame.String(), func(b *testing.B) {
					cfg := stack.MaxDepthConfig{Model: model, Frame: frame, Budget: stack.DefaultBudget}
					ctx, depths := b.Context(), 0
					for b.Loop() {
						m, err := stack.MaxDepth(ctx, cfg)
						if err != nil {
							b.Fatal(err)
						}
						depths += m.Depth
					}
					b.ReportMetric(0, "ns/op")
					b.ReportMetric(float64(depths)/float64(b.N), "max-depth")
				})
			}
		})
	}
}

// BenchmarkStackSpawn: the time to start a goroutine and see it finish, and
// the stack it starts with. ns/op is Spawn's own timing of the goroutines,
// without its one probe of the start stack.
func BenchmarkStackSpawn(b *testing.B) {
	r, err := stack.Spawn(b.Context(), stack.SpawnConfig{N: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.Elapsed.Nanoseconds())/float64(r.N), "ns/op")
	b.ReportMetric(float64(r.StartBytes), "stack-B")
}

// BenchmarkStackStart: start size and copies per fresh goroutine with
// adaptive start sizes on (the default) and off, one child process per
// iteration, averaged (ns/op means nothing here).
func BenchmarkStackStart(b *testing.B) {
	for _, off := range []bool{false, true} {
		b.Run(child.Flag("adaptivestackstart", !off), func(b *testing.B) {
			var sum stack.StartSizeResult
			for b.Loop() {
				r, err := stack.StartSize(b.Context(), stack.StartSizeConfig{AdaptiveOff: off})
				if err != nil {
					b.Fatal(err)
				}
				sum.StartBytes += r.StartBytes
				sum.UsedBytes += r.UsedBytes
				sum.Growths += r.Growths
				sum.SpawnNs += r.SpawnNs
			}
			n := float64(b.N)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(sum.StartBytes)/n, "start-B")
			b.ReportMetric(float64(sum.UsedBytes)/n, "used-B")
			b.ReportMetric(sum.Growths/n, "growths")
			b.ReportMetric(sum.SpawnNs/n, "ns/spawn")
		})
	}
}

// BenchmarkStackShrink: stack memory of parked goroutines before and after
// GCs, and the copies to grow back, with shrinking on (the default) and
// off, one child process per iteration, averaged (ns/op means nothing).
func BenchmarkStackShrink(b *testing.B) {
	for _, off := range []bool{false, true} {
		b.Run(child.Flag("gcshrinkstackoff", off), func(b *testing.B) {
			var before, after uint64
			var regrowths float64
			for b.Loop() {
				r, err := stack.Shrink(b.Context(), stack.ShrinkConfig{ShrinkOff: off})
				if err != nil {
					b.Fatal(err)
				}
				before += r.StacksBefore
				after += r.StacksAfter
				regrowths += r.Regrowths
			}
			n := float64(b.N)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(before)/n, "stacks-before-B")
			b.ReportMetric(float64(after)/n, "stacks-after-B")
			b.ReportMetric(regrowths/n, "regrowths")
		})
	}
}

// stackSink keeps the closures' results alive.
var stackSink int

// BenchmarkStackClosure: a closure on the heap against one on the stack.
func BenchmarkStackClosure(b *testing.B) {
	for _, v := range []struct {
		name string
		f    func(int) int
	}{{"escaping", stack.EscapingClosure}, {"stack", stack.StackClosure}} {
		b.Run("closure="+v.name, func(b *testing.B) {
			b.ReportAllocs()
			x := 0
			for b.Loop() {
				x = v.f(x)
			}
			stackSink = x
		})
	}
}
