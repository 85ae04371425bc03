package alloc

import (
	"fmt"
	"math"
	"runtime/metrics"
	"slices"
	"sync"
)

// PageSize is the unit in which the runtime sizes spans and large objects:
// 8 KiB on every platform Go supports (runtime._PageSize). A request above
// the largest size class gets a span of its own, rounded up to whole pages.
// The runtime exports no metric for it; TestCrossCheck confirms it by heap
// growth.
const PageSize = 8192

// mallocHeaderSize and minSizeForMallocHeader are the runtime's rule for
// where a pointerful object keeps its pointer bitmap: objects of up to 512
// bytes (64 words on 64-bit) have it at the end of their span, larger ones
// carry an 8-byte header holding their type, which is added to the request
// before it is rounded to a class. TestCrossCheck confirms it by heap growth.
const (
	mallocHeaderSize       = 8
	minSizeForMallocHeader = 512
	wordSize               = 8
)

// classesMetric is the runtime/metrics histogram whose bucket boundaries are
// the size classes: bucket i holds requests of sizes (class[i-1], class[i]],
// written as [class[i-1]+1, class[i]+1).
const classesMetric = "/gc/heap/allocs-by-size:bytes"

// sizeClasses derives the class table once: it is a property of the running
// runtime and never changes during a process.
var sizeClasses = sync.OnceValue(func() []int {
	c, err := deriveClasses(readBuckets())
	if err != nil {
		panic(err)
	}
	return c
})

func readBuckets() []float64 {
	s := []metrics.Sample{{Name: classesMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return s[0].Value.Float64Histogram().Buckets
}

// deriveClasses turns the bucket boundaries of classesMetric into class
// sizes: every finite boundary after the first is one more than a class.
func deriveClasses(buckets []float64) ([]int, error) {
	n := len(buckets)
	if n < 3 || buckets[0] != 1 || !math.IsInf(buckets[n-1], 1) {
		return nil, fmt.Errorf("alloc: %s has unexpected buckets %v: this runtime does not publish its size classes", classesMetric, buckets)
	}
	classes := make([]int, 0, n-2)
	for _, b := range buckets[1 : n-1] {
		c := int(b) - 1
		if float64(c+1) != b || c <= 0 || (len(classes) > 0 && c <= classes[len(classes)-1]) {
			return nil, fmt.Errorf("alloc: %s bucket boundary %v is not one more than a size class", classesMetric, b)
		}
		classes = append(classes, c)
	}
	return classes, nil
}

// Classes returns the size classes of the running runtime in increasing
// order, from the smallest (8 bytes) to the largest small object (32 KiB on
// current Go). It reads them from the bucket boundaries of the
// runtime/metrics histogram /gc/heap/allocs-by-size:bytes, so the table is
// the one this binary's runtime uses, not a copy. The caller owns the slice.
func Classes() []int {
	return slices.Clone(sizeClasses())
}

// MaxSmall is the largest size class: requests above it are large objects,
// served straight from the heap in whole pages.
func MaxSmall() int {
	c := sizeClasses()
	return c[len(c)-1]
}

// ClassOf returns the number of bytes a pointer-free request of n bytes
// really gets: the smallest size class that holds n, or for a large request
// (over MaxSmall) n rounded up to whole pages. ClassOf(0) is 0: zero-size
// allocations all share one address and take no heap.
//
// Pointer-free requests under 16 bytes are, in practice, packed together by
// the tiny allocator (see Measure); ClassOf gives the class they would get
// alone. Pointerful objects over 512 bytes also carry a header: see BlockOf.
// ClassOf panics if n is negative, as make does.
func ClassOf(n int) int {
	if n < 0 {
		panic(fmt.Sprintf("alloc: size %d must be >= 0", n))
	}
	if n == 0 {
		return 0
	}
	c := sizeClasses()
	if n > c[len(c)-1] {
		return roundUp(n, PageSize)
	}
	i, _ := slices.BinarySearch(c, n)
	return c[i]
}

// IsLarge reports whether a request of n bytes is served as a large object,
// with a span of its own taken from the page heap under its lock, rather
// than from a size class through the P's cache. The boundary is not
// MaxSmall but MaxSmall-8 (32760 bytes), for pointer-free and pointerful
// objects alike: the runtime keeps the small path for sizes that still fit
// a class after an 8-byte malloc header. A 32768-byte []byte is therefore
// large, though its block is 32768 bytes either way. Measure counts large
// allocations, and the tests check this boundary with it.
func IsLarge(n int) bool {
	return n > MaxSmall()-mallocHeaderSize
}

// BlockOf returns the heap block an object of n bytes of kind k occupies.
// For KindNoscan it is ClassOf(n). A KindScan object is made of whole
// pointer words, so n is first rounded up to a multiple of 8; above 512
// bytes the runtime prepends an 8-byte header holding the object's type,
// which moves some sizes into the next class (a 1024-byte pointerful object
// takes 1152 bytes) and makes every request over 32760 bytes large. BlockOf
// panics if n is negative.
func BlockOf(n int, k Kind) int {
	if n < 0 {
		panic(fmt.Sprintf("alloc: size %d must be >= 0", n))
	}
	if n == 0 {
		return 0
	}
	switch k {
	case KindNoscan:
		return ClassOf(n)
	case KindScan:
		n = roundUp(n, wordSize)
		switch {
		case n <= minSizeForMallocHeader:
			return ClassOf(n)
		case !IsLarge(n):
			return ClassOf(n + mallocHeaderSize)
		default:
			return roundUp(n, PageSize)
		}
	}
	panic(fmt.Sprintf("alloc: kind %d is neither KindNoscan nor KindScan", int(k)))
}

// Loss is what rounding a request up to its block costs.
type Loss struct {
	Request int     // bytes asked for
	Block   int     // bytes the heap set aside
	Bytes   int     // Block - Request: bytes nobody can use
	Percent float64 // Bytes as a share of Block, 0 to 100
}

// Waste returns the bytes and the percentage of the block lost when a
// pointer-free request of n bytes is rounded up to ClassOf(n).
func Waste(n int) Loss {
	return lossOf(n, ClassOf(n))
}

// WasteOf is Waste for an object of kind k, using BlockOf: for KindScan
// objects the loss includes the malloc header.
func WasteOf(n int, k Kind) Loss {
	return lossOf(n, BlockOf(n, k))
}

func lossOf(n, block int) Loss {
	l := Loss{Request: n, Block: block, Bytes: block - n}
	if block > 0 {
		l.Percent = 100 * float64(l.Bytes) / float64(block)
	}
	return l
}

func roundUp(n, to int) int {
	return (n + to - 1) / to * to
}
