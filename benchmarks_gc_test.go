package rtlab

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rtlab/rtlab/gc"
)

// gcLive is the live heap of the gc benchmarks: big enough that marking it
// dominates a cycle, small enough for -short to stay quick.
func gcLive() int64 {
	if testing.Short() {
		return 8 << 20
	}
	return gc.DefaultLive
}

// reportGC reports the figures of a churn loop in which every op allocated
// one live heap's worth (so gcs/op is about 100/GOGC).
func reportGC(b *testing.B, st gc.Stats) {
	b.ReportMetric(float64(st.PauseP50.Nanoseconds()), "p50-pause-ns")
	b.ReportMetric(float64(st.PauseP99.Nanoseconds()), "p99-pause-ns")
	b.ReportMetric(100*st.GCCPUShare, "gc-cpu-%")
	b.ReportMetric(float64(st.GCCycles)/float64(b.N), "gcs/op")
}

// BenchmarkGCShape churns heaps of every survival and pointer density on
// every scan path this machine has (scan=vector in this process and
// scan=scalar in a child with GODEBUG=cpu.avx512bw=off where the CPU has
// the vector path; scan=scalar alone elsewhere). One op allocates as many
// bytes as the live heap holds; ns/op is the churn loop's own time, so a
// child's start does not count.
func BenchmarkGCShape(b *testing.B) {
	live := gcLive()
	for _, surv := range []float64{0.05, 0.2, 0.5} {
		b.Run(fmt.Sprintf("survival=%g", surv), func(b *testing.B) {
			for _, d := range gc.Densities() {
				b.Run("ptrs="+d.String(), func(b *testing.B) {
					for _, p := range gc.AvailableScanPaths() {
						b.Run("scan="+p.String(), func(b *testing.B) {
							s := gc.Shape{Live: live, Survival: surv, PointerDensity: d, Alloc: int64(b.N) * live}
							rep, err := gc.Run(b.Context(), gc.RunConfig{Shape: s, Scan: p})
							if err != nil {
								b.Fatal(err)
							}
							b.ReportMetric(float64(rep.Elapsed.Nanoseconds())/float64(b.N), "ns/op")
							reportGC(b, rep.Stats)
							b.ReportMetric(float64(rep.ScanHeap), "scan-B/cycle")
							b.ReportMetric(rep.PtrsPerKiB, "ptrs/KiB")
						})
					}
				})
			}
		})
	}
}

// churn builds a heap of shape s and churns it, one live heap's worth of
// allocation per op, measuring the collector over the timed loop only. The
// heap is released when the benchmark ends.
func churn(b *testing.B, s gc.Shape) (*gc.Heap, gc.Stats) {
	h, err := gc.NewHeap(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(h.Release)
	runtime.GC()
	m := gc.StartMeter()
	for b.Loop() {
		h.Churn(s.Live)
	}
	return h, m.Stop()
}

// BenchmarkGCSetting churns one heap (survival 0.2, low pointer density)
// under each GOGC, and with GOGC=off under a memory limit of 4 x live + 16
// MiB. One op allocates as many bytes as the live heap holds. gc.Run with
// a RunConfig.Setting runs a shape under a setting outside a benchmark.
func BenchmarkGCSetting(b *testing.B) {
	live := gcLive()
	for _, set := range gc.Settings(live) {
		b.Run("gogc="+set.Name, func(b *testing.B) {
			defer set.Apply()()
			_, st := churn(b, gc.Shape{Live: live, Survival: 0.2, PointerDensity: gc.DensityLow})
			b.ReportMetric(100*st.GCCPUShare, "gc-cpu-%")
			b.ReportMetric(float64(st.PeakRSS), "peak-RSS-B")
			b.ReportMetric(float64(st.GCCycles)/float64(b.N), "gcs/op")
		})
	}
}

// BenchmarkGCObserve times one look at the heap per op while another
// goroutine churns a heap (survival 0.2, high pointer density). gc.Observe
// times the same looks outside a benchmark.
func BenchmarkGCObserve(b *testing.B) {
	for _, m := range gc.Methods() {
		b.Run("method="+m.String(), func(b *testing.B) {
			l, err := gc.NewLooker(m)
			if err != nil {
				b.Fatal(err)
			}
			c, err := gc.StartChurn(gc.Shape{Live: gcLive(), Survival: 0.2, PointerDensity: gc.DensityHigh})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Stop()
			d := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				t0 := time.Now()
				if err := l.Look(); err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(t0))
			}
			lat := gc.Summarize(d)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(lat.P50.Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat.P99.Nanoseconds()), "p99-ns")
		})
	}
}

// BenchmarkGCSampler runs a Sampler beside a churn loop (survival 0.2, low
// pointer density) and reports its share of the process's CPU capacity.
func BenchmarkGCSampler(b *testing.B) {
	live := gcLive()
	for _, iv := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond} {
		b.Run("interval="+iv.String(), func(b *testing.B) {
			h, err := gc.NewHeap(gc.Shape{Live: live, Survival: 0.2, PointerDensity: gc.DensityLow})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Release()
			s, err := gc.StartSampler(iv, nil)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				h.Churn(live)
			}
			series, err := s.Stop()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(100*series.Overhead(), "overhead-%")
			if n := len(series.Samples) - 1; n > 0 && series.CPU > 0 {
				b.ReportMetric(float64(series.CPU.Nanoseconds())/float64(n), "cpu-ns/sample")
			}
		})
	}
}
