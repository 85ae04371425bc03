package alloc

import (
	"fmt"
	"unsafe"
)

// Kind is whether an object holds pointers, which decides the span it is
// allocated from: the garbage collector never looks inside a noscan span,
// while every object of a scan span must be scanned for pointers.
type Kind int

const (
	// KindNoscan objects hold no pointers ([]byte, [N]int64, strings'
	// bytes).
	KindNoscan Kind = iota
	// KindScan objects hold pointers ([]*T, structs with pointer fields).
	KindScan
)

// Kinds lists every Kind, noscan first (a new slice each call).
func Kinds() []Kind { return []Kind{KindNoscan, KindScan} }

// String returns "noscan" or "scan", the values of the kind= key of the
// benchmarks.
func (k Kind) String() string {
	switch k {
	case KindNoscan:
		return "noscan"
	case KindScan:
		return "scan"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// check returns an error naming field (as "MeasureConfig.Kind") if k is
// not a Kind.
func (k Kind) check(field string) error {
	if k != KindNoscan && k != KindScan {
		return fmt.Errorf("alloc: %s %v must be KindNoscan or KindScan", field, k)
	}
	return nil
}

// New allocates one object of n bytes of kind k on the heap and returns its
// address. A KindNoscan object is a []byte's backing array; a KindScan
// object is a []unsafe.Pointer's, n rounded up to whole words, all of them
// pointers.
//
// New is not inlined and returns the pointer, so the object escapes and
// really is allocated: since Go 1.25 the compiler keeps small make slices
// that do not escape on the stack, which would turn an allocation benchmark
// into a stack benchmark. TestNewAllocates proves one allocation per call.
// New panics if n is negative or k is not a Kind.
//
//go:noinline
func New(n int, k Kind) unsafe.Pointer {
	if n < 0 {
		panic(fmt.Sprintf("alloc: size %d must be >= 0", n))
	}
	switch k {
	case KindNoscan:
		return unsafe.Pointer(unsafe.SliceData(make([]byte, n)))
	case KindScan:
		return unsafe.Pointer(unsafe.SliceData(make([]unsafe.Pointer, (n+wordSize-1)/wordSize)))
	}
	panic(fmt.Sprintf("alloc: kind %d is neither KindNoscan nor KindScan", int(k)))
}
