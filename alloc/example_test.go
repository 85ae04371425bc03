package alloc_test

import (
	"context"
	"fmt"

	"github.com/rtlab/rtlab/alloc"
)

// The size a request really gets. These rows hold on Go 1.22 and later:
// 8, 24, 112, 1024 and 32768 have been size classes since well before, large
// objects have always been whole 8 KiB pages, and pointerful objects over
// 512 bytes have carried an 8-byte header since Go 1.22.
func Example() {
	for _, n := range []int{1, 17, 100, 1000, 1024, 32768, 32769} {
		w := alloc.Waste(n)
		fmt.Printf("%5d bytes -> %5d (%4.1f%% lost); with pointers %5d\n",
			n, alloc.ClassOf(n), w.Percent, alloc.BlockOf(n, alloc.KindScan))
	}
	// Output:
	//     1 bytes ->     8 (87.5% lost); with pointers     8
	//    17 bytes ->    24 (29.2% lost); with pointers    24
	//   100 bytes ->   112 (10.7% lost); with pointers   112
	//  1000 bytes ->  1024 ( 2.3% lost); with pointers  1024
	//  1024 bytes ->  1024 ( 0.0% lost); with pointers  1152
	// 32768 bytes -> 32768 ( 0.0% lost); with pointers 32768
	// 32769 bytes -> 40960 (20.0% lost); with pointers 40960
}

// Measure asks the heap rather than the class table: ten thousand 100-byte
// objects kept alive grow the live heap by 112 bytes each.
func ExampleMeasure() {
	r, err := alloc.Measure(context.Background(), alloc.MeasureConfig{Size: 100, Count: 10_000})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d objects of %d bytes: %.0f heap bytes each (class %d)\n",
		r.Objects, r.Size, r.PerObject(), alloc.ClassOf(r.Size))
	// Output:
	// 10000 objects of 100 bytes: 112 heap bytes each (class 112)
}

// Compare the ways of getting a short-lived object. The figures depend on
// the machine, so this example is compiled but not run.
func ExampleReuse() {
	for _, impl := range alloc.Impls() {
		r, err := alloc.Reuse(context.Background(), alloc.ReuseConfig{Impl: impl, Size: 1024})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(r)
	}
}
