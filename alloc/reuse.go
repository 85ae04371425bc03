package alloc

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"unsafe"
)

// Arena is a bump-pointer allocator over one pointer-free slab: a small
// model of the new space (nursery) of V8 and other generational
// JavaScript engines. Allocating moves an offset forward; nothing is freed
// one by one; Reset frees everything at once, as a scavenge does once the
// survivors have been copied out (this model has no survivors).
//
// The slab is a single []byte, so the garbage collector sees one noscan
// object and never looks inside it, however many objects live there. The
// price is the model's rule: nothing allocated before a Reset may be used
// after it. An Arena is not safe for concurrent use.
type Arena struct {
	slab []byte
	off  int
}

// NewArena returns an Arena over a slab of capacity bytes, allocated once.
func NewArena(capacity int) (*Arena, error) {
	if capacity <= 0 {
		return nil, fmt.Errorf("alloc: arena capacity %d must be > 0", capacity)
	}
	return &Arena{slab: make([]byte, capacity)}, nil
}

// Alloc returns n zeroed bytes from the slab, 8-byte aligned, or nil if
// they do not fit in what is left (call Reset). It zeroes the bytes as the
// Go allocator does, so timings compare like with like. The result has
// capacity n: appending to it copies rather than spilling into a neighbour.
func (a *Arena) Alloc(n int) []byte {
	if n < 0 || n > len(a.slab)-a.off {
		return nil
	}
	b := a.slab[a.off : a.off+n : a.off+n]
	a.off += roundUp(n, wordSize)
	if a.off > len(a.slab) {
		a.off = len(a.slab)
	}
	clear(b)
	return b
}

// Reset frees every object of the arena at once.
func (a *Arena) Reset() { a.off = 0 }

// Used is the number of bytes allocated since the last Reset, alignment
// included.
func (a *Arena) Used() int { return a.off }

// Cap is the size of the slab.
func (a *Arena) Cap() int { return len(a.slab) }

// Impl names a way of getting a short-lived object, the impl= key of
// BenchmarkAllocReuse.
type Impl string

const (
	// ImplNew allocates every object afresh and leaves it to the GC.
	ImplNew Impl = "new"
	// ImplPool takes objects from a sync.Pool and puts them back.
	ImplPool Impl = "pool"
	// ImplBump takes objects from an Arena, resetting it when full.
	ImplBump Impl = "bump"
)

// Impls lists every Impl, in the order the benchmarks show them (a new
// slice each call).
func Impls() []Impl { return []Impl{ImplNew, ImplPool, ImplBump} }

// String is "new", "pool" or "bump", the value of the impl= key.
func (i Impl) String() string { return string(i) }

// Source hands out objects of one size and takes them back when the caller
// is done with them. Put must be given only what Get returned, and the
// object must not be used after Put. A Source is not safe for concurrent
// use.
type Source interface {
	Get() []byte
	Put([]byte)
}

// DefaultArenaBytes is the slab of the bump Source: 1 MiB, the order of V8's
// initial semi-space.
const DefaultArenaBytes = 1 << 20

// NewSource returns a Source of size-byte pointer-free objects implemented
// by impl. For ImplBump the arena's slab is DefaultArenaBytes (or one
// object, if larger) and is reset whenever the next object does not fit:
// that is this model's scavenge, and why a bump object must not be kept
// after Put.
func NewSource(impl Impl, size int) (Source, error) {
	if size <= 0 {
		return nil, fmt.Errorf("alloc: object size %d must be > 0", size)
	}
	switch impl {
	case ImplNew:
		return newSource(size), nil
	case ImplPool:
		p := &poolSource{size: size}
		p.pool.New = func() any { return New(size, KindNoscan) }
		return p, nil
	case ImplBump:
		a, err := NewArena(max(DefaultArenaBytes, size))
		if err != nil {
			return nil, err
		}
		return &bumpSource{arena: a, size: size}, nil
	}
	return nil, fmt.Errorf("alloc: impl %q is not one of %v", impl, Impls())
}

type newSource int

func (s newSource) Get() []byte {
	return unsafe.Slice((*byte)(New(int(s), KindNoscan)), int(s))
}

func (newSource) Put([]byte) {}

// poolSource keeps unsafe.Pointers in its pool rather than []byte: a
// pointer fits in an interface without boxing, a slice header would cost an
// allocation on every Put.
type poolSource struct {
	pool sync.Pool
	size int
}

func (p *poolSource) Get() []byte {
	return unsafe.Slice((*byte)(p.pool.Get().(unsafe.Pointer)), p.size)
}

func (p *poolSource) Put(b []byte) {
	p.pool.Put(unsafe.Pointer(unsafe.SliceData(b)))
}

type bumpSource struct {
	arena *Arena
	size  int
}

func (s *bumpSource) Get() []byte {
	b := s.arena.Alloc(s.size)
	if b == nil {
		s.arena.Reset()
		b = s.arena.Alloc(s.size)
	}
	return b
}

func (*bumpSource) Put([]byte) {}

// ReuseConfig is one run of Reuse. The zero value gets and puts back
// 64-byte objects with ImplNew.
type ReuseConfig struct {
	Impl Impl // the way objects are got; "" means ImplNew
	Size int  // bytes per object; 0 means 64
	// Ops is the number of objects got and put back; 0 means enough for
	// 256 MiB, between a thousand and a million.
	Ops int
}

// ReuseResult is the cost of getting and releasing one short-lived object
// through a Source.
type ReuseResult struct {
	Impl Impl
	Size int
	OpStats
}

// String is one line: the implementation, the size and the per-op
// figures.
func (r ReuseResult) String() string {
	return fmt.Sprintf("impl=%v size=%d: %v", r.Impl, r.Size, r.OpStats)
}

// Reuse gets cfg.Ops objects of cfg.Size bytes from a Source of cfg.Impl,
// writes their first and last byte and puts each back at once: the loop
// of BenchmarkAllocReuse. ImplNew leaves every object to the GC and causes
// cycles in proportion to its bytes (GCsPerMobj); ImplPool and ImplBump
// allocate nothing once warm. One op before the count warms the source.
func Reuse(ctx context.Context, cfg ReuseConfig) (ReuseResult, error) {
	if cfg.Impl == "" {
		cfg.Impl = ImplNew
	}
	if !slices.Contains(Impls(), cfg.Impl) {
		return ReuseResult{}, fmt.Errorf("alloc: ReuseConfig.Impl %q is not one of %v", cfg.Impl, Impls())
	}
	n, ops, err := opsOrDefault("ReuseConfig", cfg.Size, cfg.Ops)
	if err != nil {
		return ReuseResult{}, err
	}
	if err := canceled(ctx, "Reuse"); err != nil {
		return ReuseResult{}, err
	}
	src, err := NewSource(cfg.Impl, n)
	if err != nil {
		return ReuseResult{}, err
	}
	op := func() {
		p := src.Get()
		p[0], p[n-1] = 1, 2
		src.Put(p)
	}
	// Warm the source before counting: a sync.Pool's first Put allocates
	// its per-P array (128 bytes per P, 9.3 KiB at GOMAXPROCS 64: 0.96
	// B/op over 10,000 ops, counted as the ops' own).
	op()
	st := countOps(ops, func() {
		for range ops {
			op()
		}
	})
	return ReuseResult{Impl: cfg.Impl, Size: n, OpStats: st}, nil
}
