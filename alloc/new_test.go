package alloc

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// suiteSizes are the sizes of BenchmarkAllocSize at the root.
var suiteSizes = []int{8, 16, 24, 32, 48, 64, 128, 512, 1024, 4096, 8192, 32760, 32768, 32769, 65536}

// TestNewAllocates proves that every benchmark built on New measures a heap
// allocation, not a stack one: exactly one allocation per call.
func TestNewAllocates(t *testing.T) {
	for _, k := range Kinds() {
		for _, n := range append([]int{1, 12}, suiteSizes...) {
			t.Run(fmt.Sprintf("kind=%v/size=%d", k, n), func(t *testing.T) {
				assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { New(n, k) }))
			})
		}
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { New(0, KindScan) }), "zero-size objects take no heap")
}

func TestNewLength(t *testing.T) {
	// The object is usable over its whole length and zeroed.
	for _, k := range Kinds() {
		for _, n := range []int{1, 8, 9, 1000} {
			b := unsafe.Slice((*byte)(New(n, k)), n)
			for i := range b {
				assert.Zero(t, b[i])
			}
		}
	}
}
