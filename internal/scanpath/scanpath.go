// Package scanpath tells which way the garbage collector of this process
// scans small objects, by measuring it.
//
// Go 1.26's Green Tea collector has two ways to scan a span of small
// objects (runtime/mgcmark_greenteagc.go, scanSpan): a packed, vectorised
// scan of the whole span with AVX-512 (internal/runtime/gc/scan,
// HasFastScanSpanPacked: AVX512VL, BW, DQ, VBMI, BITALG and GFNI, amd64
// only), taken when at least an eighth of the span's objects are marked,
// and a scalar scan object by object (scanObjectsSmall) everywhere else.
// They also count scan work differently: the packed path adds every marked
// object whole (objsMarked * elemsize), the scalar path adds each object up
// to its last pointer word. The scan work is what /gc/scan/heap reports and
// what the pacer plans with, so the two paths give different figures for
// the same heap, and which one runs depends on the CPU and on GODEBUG
// (GODEBUG=cpu.avx512bw=off turns the packed path off).
//
// Rather than guess the path from CPU flags, Probe builds a small heap of
// 256-byte objects whose only pointer is their first word and reads how
// much of it the collector counted: all of it on the vector path, 8 bytes
// in 256 on the scalar one.
package scanpath

import (
	"runtime"
	"sync"

	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// The two paths, as the gcscan configuration line and the scan= benchmark
// key name them.
const (
	// Vector is Green Tea's packed AVX-512 span scan: marked small objects
	// count whole.
	Vector = "vector"
	// Scalar is the object-by-object scan (every CPU without the AVX-512
	// set, every non-amd64 machine, and the classic collector): an object
	// counts up to its last pointer word.
	Scalar = "scalar"
)

// probeObj is 256 bytes (a size class of its own) with its only pointer
// first, so that the two paths count it as 256 and 8 bytes.
type probeObj struct {
	p *probeObj
	_ [248]byte
}

// probeObjs is enough objects that whatever else the process allocates
// between the probe's two collections is small beside the 256 bytes per
// object the vector path counts: 2 MiB of objects. A variable, so that the
// slice holding them is on the heap whatever the compiler's stack limit.
var probeObjs = 8192

// Probe measures the path: the scan work the collector counted for the
// probe heap, less the slice that holds it (a large object, counted whole
// on both paths), per byte of probe objects. The vector path gives about
// 1, the scalar path about 8/256 = 0.03; Probe calls anything above the
// midpoint vector. It runs two collections.
//
// The objects are held by one slice, so that when the collector reaches a
// span of them every object in it is already marked: the vector path is
// taken only for spans with at least an eighth of their objects marked at
// once, which a linked list (one object found at a time) never gives.
func Probe() (path string, ratio float64) {
	runtime.GC()
	base := rtmetrics.Uint64(rtmetrics.ScanHeap)
	objs := make([]*probeObj, probeObjs)
	for i := range objs {
		objs[i] = new(probeObj)
		if i > 0 {
			objs[i].p = objs[i-1] // a real pointer in the first word
		}
	}
	runtime.GC()
	counted := int64(rtmetrics.Uint64(rtmetrics.ScanHeap)) - int64(base) - int64(8*len(objs))
	runtime.KeepAlive(objs)
	ratio = float64(counted) / float64(len(objs)*256)
	if ratio > (1+8.0/256)/2 {
		return Vector, ratio
	}
	return Scalar, ratio
}

var current = sync.OnceValue(func() string {
	p, _ := Probe()
	return p
})

// Current is the path of this process, probed on the first call.
func Current() string { return current() }
