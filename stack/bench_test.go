package stack

import (
	"testing"
)

// Finer detail than the root suite: the GODEBUG comparisons, each measured
// once in a child process (ns/op means nothing), and the closures.

// BenchmarkStart: start size and copies per fresh goroutine with adaptive
// start sizes on (the default) and off.
func BenchmarkStart(b *testing.B) {
	for _, v := range []struct {
		name string
		on   bool
	}{{"1", true}, {"0", false}} {
		b.Run("adaptivestackstart="+v.name, func(b *testing.B) {
			r, err := StartSize(b.Context(), v.on)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(r.StartBytes), "start-B")
			b.ReportMetric(float64(r.UsedBytes), "used-B")
			b.ReportMetric(r.Growths, "growths")
			b.ReportMetric(r.SpawnNs, "ns/spawn")
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
			r, err := Shrink(b.Context(), v.off)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(r.StacksBefore), "stacks-before-B")
			b.ReportMetric(float64(r.StacksAfter), "stacks-after-B")
			b.ReportMetric(r.Regrowths, "regrowths")
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
