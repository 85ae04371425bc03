package gc_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rtlab/rtlab/gc"
)

// Build a heap of each pointer density and read its real density: the
// table's pointer per unit, plus what the unit's objects carry.
func ExampleNewHeap() {
	for _, d := range gc.Densities() {
		h, err := gc.NewHeap(gc.Shape{Live: 1 << 20, Survival: 0.2, PointerDensity: d})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("ptrs=%-4v live=%d B  %d pointers  %.1f ptrs/KiB\n", d, h.LiveBytes(), h.Pointers(), h.PtrsPerKiB())
		h.Release()
	}
	// Output:
	// ptrs=none live=1048320 B  2016 pointers  2.0 ptrs/KiB
	// ptrs=low  live=1048320 B  6048 pointers  5.9 ptrs/KiB
	// ptrs=high live=1048320 B  114912 pointers  112.2 ptrs/KiB
}

// Run one shape and read what the collector did. The figures depend on the
// machine, so this example is compiled but not run.
func ExampleRun() {
	r, err := gc.Run(context.Background(), gc.RunConfig{
		Shape: gc.Shape{Live: 64 << 20, Survival: 0.05, PointerDensity: gc.DensityHigh},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v: %d cycles, p99 pause %v, GC CPU %.1f%%, peak RSS %d MiB\n",
		r.Shape, r.GCCycles, r.PauseP99, 100*r.GCCPUShare, r.PeakRSS>>20)
}

// Compare GOGC=50 with GOGC=off under a 256 MiB limit; each run restores the
// setting it found.
func ExampleRun_setting() {
	s := gc.Shape{Live: 32 << 20, Survival: 0.2, PointerDensity: gc.DensityLow}
	for _, set := range []gc.Setting{
		{GOGC: 50, MemoryLimit: gc.NoLimit},
		{GOGC: gc.Off, MemoryLimit: 256 << 20},
	} {
		r, err := gc.Run(context.Background(), gc.RunConfig{Shape: s, Setting: set})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%v: %d cycles, GC CPU %.1f%%\n", set, r.GCCycles, 100*r.GCCPUShare)
	}
}

// Run one shape on every scan path this machine has, the current one in
// this process and, on a vector machine, the scalar one in a child.
func ExampleRun_scan() {
	for _, p := range gc.AvailableScanPaths() {
		r, err := gc.Run(context.Background(), gc.RunConfig{
			Shape: gc.Shape{Live: 16 << 20, Survival: 0.2, PointerDensity: gc.DensityHigh},
			Scan:  p,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(r)
	}
}

// Time a thousand heap profiles beside a churning heap.
func ExampleObserve() {
	r, err := gc.Observe(context.Background(), gc.ObserveConfig{Method: gc.MethodHeapProfile})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r)
}

// Sample a workload every 10ms into a CSV file, then use the series.
func ExampleStartSampler() {
	f, err := os.CreateTemp("", "trace-*.csv")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()

	s, err := gc.StartSampler(10*time.Millisecond, f)
	if err != nil {
		fmt.Println(err)
		return
	}
	h, _ := gc.NewHeap(gc.Shape{Live: 4 << 20}) // the workload
	h.Churn(16 << 20)
	h.Release()
	series, err := s.Stop()
	if err != nil {
		fmt.Println(err) // off Linux: RSS and VSS could not be read
	}

	f.Seek(0, 0)
	header, _ := bufio.NewReader(f).ReadString('\n')
	fmt.Print(header)
	fmt.Println(strings.Join(gc.SampleHeader, ",") == strings.TrimSpace(header), len(series.Samples) >= 2)
	// Output:
	// elapsed_s,rss_bytes,vss_bytes,heap_live_bytes,heap_goal_bytes,stack_bytes,goroutines,gc_cycles,last_pause_ns
	// true true
}
