package rtlab

import (
	"fmt"
	"testing"

	"github.com/rtlab/rtlab/stack"
)

var stackFrames = []stack.Frame{stack.Small, stack.Large}

// BenchmarkStackRecurse: time to recurse to depth in a fresh goroutine and
// back, with the stack bytes in use at the deepest point and the stack
// copies on the way down, both measured by the recursion itself.
func BenchmarkStackRecurse(b *testing.B) {
	for _, frame := range stackFrames {
		b.Run("frame="+frame.String(), func(b *testing.B) {
			for _, depth := range []int{1000, 10000, 100000, 1000000} {
				if depth == 1000000 && testing.Short() {
					continue
				}
				b.Run(fmt.Sprint("depth=", depth), func(b *testing.B) {
					// A million Large frames need over 1 GiB of stack, more
					// than the 512 MiB the default SetMaxStack allows: Recurse
					// would grow the stack to 512 MiB to find out, so measure
					// the frame on a short run and skip.
					short, err := stack.Recurse(1000, frame)
					if err != nil {
						b.Fatal(err)
					}
					if need := short.StackBytes / 1000 * depth; need > stack.MaxGoStack() {
						b.Skipf("frame=%v depth=%d needs about %d bytes of stack; Go allows %d", frame, depth, need, stack.MaxGoStack())
					}
					var bytes, growths int
					for b.Loop() {
						r, err := stack.Recurse(depth, frame)
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
	for _, model := range []string{"fixed", "go"} {
		b.Run("model="+model, func(b *testing.B) {
			for _, frame := range stackFrames {
				b.Run("frame="+frame.String(), func(b *testing.B) {
					depths := 0
					for b.Loop() {
						var m stack.MaxDepth
						var err error
						if model == "fixed" {
							m, err = stack.FixedMaxDepth(frame, stack.DefaultBudget)
						} else {
							m, err = stack.GoMaxDepth(b.Context(), frame, stack.DefaultBudget)
						}
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
	r, err := stack.Spawn(b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.Elapsed.Nanoseconds())/float64(r.N), "ns/op")
	b.ReportMetric(float64(r.StartBytes), "stack-B")
}
