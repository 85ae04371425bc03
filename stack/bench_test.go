package stack

import (
	"testing"
)

// Finer detail than the root suite: the GODEBUG comparisons, one child
// process per iteration, averaged (ns/op means nothing), and the closures.

// BenchmarkStart: start size and copies per fresh goroutine with adaptive
// start sizes on (the default) and off.
func BenchmarkStart(b *testing.B) {
	for _, v := range []struct {
		name string
		on   bool
	}{{"1", true}, {"0", false}} {
		b.Run("adaptivestackstart="+v.name, func(b *testing.B) {
			var sum StartReport
			for b.Loop() {
				r, err := StartSize(b.Context(), v.on)
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

// BenchmarkShrink: stack memory of parked goroutines before and after GCs,
// and the copies to grow back, with shrinking on (the default) and off.
func BenchmarkShrink(b *testing.B) {
	for _, v := range []struct {
		name string
		off  bool
	}{{"0", false}, {"1", true}} {
		b.Run("gcshrinkstackoff="+v.name, func(b *testing.B) {
			var before, after uint64
			var regrowths float64
			for b.Loop() {
				r, err := Shrink(b.Context(), v.off)
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

// BenchmarkClosure: a closure on the heap against one on the stack.
func BenchmarkClosure(b *testing.B) {
	for _, v := range []struct {
		name string
		f    func(int) int
	}{{"escaping", EscapingClosure}, {"stack", StackClosure}} {
		b.Run("closure="+v.name, func(b *testing.B) {
			b.ReportAllocs()
			x := 0
			for b.Loop() {
				x = v.f(x)
			}
			sinkInt = x
		})
	}
}
