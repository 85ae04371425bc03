package gc

import (
	"fmt"
	"math"
)

// Density is how many pointers the objects of a heap carry.
type Density int

// The pointer densities a Shape can have. Every density allocates the same
// 512 bytes per unit (the thing that survives or dies as a whole); only the
// objects inside the unit and their pointers differ.
const (
	// DensityNone: one pointer-free 512-byte block per unit. The collector
	// never looks inside it; the only pointers are the heap's table of
	// units.
	DensityNone Density = iota
	// DensityLow: two 256-byte structs per unit, each a pointer (to the
	// other) followed by 248 bytes of data: one pointer per 256 bytes.
	DensityLow
	// DensityHigh: eight 64-byte linked nodes per unit, each seven pointers
	// (to the other nodes of its unit) and one data word: mostly pointers.
	DensityHigh
)

// Densities lists every Density, lowest first (a new slice each call).
func Densities() []Density { return []Density{DensityNone, DensityLow, DensityHigh} }

// String is "none", "low" or "high", the value of the ptrs= key of the
// benchmarks.
func (d Density) String() string {
	switch d {
	case DensityNone:
		return "none"
	case DensityLow:
		return "low"
	case DensityHigh:
		return "high"
	}
	return fmt.Sprintf("Density(%d)", int(d))
}

// unitBytes is the heap a unit's objects take. All three layouts are exact
// size classes (512, 2x256, 8x64), so no byte is lost to rounding and the
// live size by construction is what the runtime counts.
const unitBytes = 512

// slotBytes is the table's pointer to a unit.
const slotBytes = 8

// ptrsPerUnit is the number of non-nil pointers inside a unit's objects.
func (d Density) ptrsPerUnit() int {
	switch d {
	case DensityLow:
		return 2
	case DensityHigh:
		return 8 * 7
	}
	return 0
}

type noneUnit [unitBytes]byte

type lowNode struct {
	next *lowNode  // first, as in most structs
	_    [248]byte // the data
}

type highNode struct {
	next [7]*highNode
	val  uint64
}

// Shape is a heap to build and churn. The zero value of every field means
// its default, so the zero Shape is 32 MiB of pointer-free units none of
// whose successors survive.
type Shape struct {
	// Live is the heap to keep alive, in bytes (at least 520: one unit and
	// its table slot); 0 means DefaultLive.
	Live int64
	// Survival is the fraction, from 0 to 1, of newly allocated units that
	// stay alive. Each survivor replaces the oldest live unit, so the live
	// heap stays at Live whatever the survival: the dial moves only how long
	// objects live (the generational hypothesis says most die young). 0
	// means none survive.
	Survival float64
	// PointerDensity chooses the objects a unit is made of; the zero value
	// is DensityNone.
	PointerDensity Density
	// Alloc is the bytes Run allocates while churning: the fixed work of one
	// run. 0 means 8 x Live.
	Alloc int64
}

// String is "live=<bytes>/survival=<fraction>/ptrs=<density>", in the
// key=value form of benchmark names.
func (s Shape) String() string {
	return fmt.Sprintf("live=%d/survival=%g/ptrs=%v", s.Live, s.Survival, s.PointerDensity)
}

// DefaultLive is the live heap of a Shape whose Live is 0: big enough that
// marking it dominates a cycle (the root suite's, without -short).
const DefaultLive = 32 << 20

// withDefaults returns s with Live and Alloc filled in, or an error naming
// the bad field as field.Live, field.Survival, ... (field is "Shape" or
// the config field that holds the shape).
func (s Shape) withDefaults(field string) (Shape, error) {
	if s.Live == 0 {
		s.Live = DefaultLive
	}
	if s.Alloc == 0 {
		s.Alloc = 8 * s.Live
	}
	switch {
	case s.Live < unitBytes+slotBytes:
		return s, fmt.Errorf("gc: %s.Live %d must be >= %d bytes (one unit)", field, s.Live, unitBytes+slotBytes)
	case !(s.Survival >= 0 && s.Survival <= 1): // also rejects NaN
		return s, fmt.Errorf("gc: %s.Survival %v must be in [0, 1]", field, s.Survival)
	case s.PointerDensity < DensityNone || s.PointerDensity > DensityHigh:
		return s, fmt.Errorf("gc: %s.PointerDensity %v must be DensityNone, DensityLow or DensityHigh", field, s.PointerDensity)
	case s.Alloc < 0:
		return s, fmt.Errorf("gc: %s.Alloc %d must be >= 0", field, s.Alloc)
	}
	return s, nil
}

// Heap is a live heap of a given Shape, kept alive until Release. It is not
// safe for concurrent use.
type Heap struct {
	shape Shape
	units int
	churn func(units int)
	free  func()
}

// NewHeap allocates the live heap of shape s (its zero fields meaning
// their defaults). Everything it allocates stays reachable from the Heap
// until Release.
func NewHeap(s Shape) (*Heap, error) {
	s, err := s.withDefaults("Shape")
	if err != nil {
		return nil, err
	}
	return newHeap(s), nil
}

// newHeap is NewHeap for a shape withDefaults has checked.
func newHeap(s Shape) *Heap {
	h := &Heap{shape: s, units: int(s.Live / (unitBytes + slotBytes))}
	switch s.PointerDensity {
	case DensityNone:
		h.churn, h.free = newStore(h.units, s.Survival, func() *noneUnit { return new(noneUnit) })
	case DensityLow:
		h.churn, h.free = newStore(h.units, s.Survival, newLowUnit)
	case DensityHigh:
		h.churn, h.free = newStore(h.units, s.Survival, newHighUnit)
	}
	return h
}

func newLowUnit() *lowNode {
	a, b := new(lowNode), new(lowNode)
	a.next, b.next = b, a
	return a
}

func newHighUnit() *highNode {
	var n [8]*highNode
	for i := range n {
		n[i] = &highNode{val: uint64(i)}
	}
	for i, x := range n {
		for j := range x.next {
			x.next[j] = n[(i+j+1)%len(n)] // the seven others
		}
	}
	return n[0]
}

// Shape returns the shape the heap was built with, defaults filled in.
func (h *Heap) Shape() Shape { return h.shape }

// LiveBytes is the live heap by construction: units of 512 bytes plus the
// table that holds them.
func (h *Heap) LiveBytes() int64 { return int64(h.units) * (unitBytes + slotBytes) }

// Pointers is the number of non-nil pointers in the live heap: one per unit
// in the table plus those inside the units.
func (h *Heap) Pointers() int64 {
	return int64(h.units) * int64(1+h.shape.PointerDensity.ptrsPerUnit())
}

// PtrsPerKiB is Pointers per KiB of LiveBytes: the shape's real pointer
// density (about 2, 6 and 110 for none, low and high).
func (h *Heap) PtrsPerKiB() float64 {
	return float64(h.Pointers()) / (float64(h.LiveBytes()) / 1024)
}

// Churn allocates about n bytes of new units (rounded up to whole units) and
// keeps Survival of them alive in place of the oldest live ones.
func (h *Heap) Churn(n int64) {
	if n <= 0 {
		return
	}
	h.churn(int((n + unitBytes - 1) / unitBytes))
}

// Release drops the live heap; the next GC frees it. The Heap is empty after.
func (h *Heap) Release() {
	h.free()
	h.units = 0
}

// newStore builds a FIFO table of units made by mk and returns its churn and
// free functions. Generic over the unit type so each density allocates its
// own concrete objects with no interface boxing in the way.
func newStore[T any](units int, survival float64, mk func() *T) (churn func(int), free func()) {
	slots := make([]*T, units)
	for i := range slots {
		slots[i] = mk()
	}
	// batch holds a batch of new units so they are heap objects that die
	// only when overwritten by the next batch (or cleared at the end).
	batch := make([]*T, 64)
	next := 0  // the oldest slot, replaced by the next survivor
	acc := 0.0 // fractional survivors carried between batches
	churn = func(n int) {
		for n > 0 {
			k := min(n, len(batch))
			for i := range k {
				batch[i] = mk()
			}
			acc += survival * float64(k)
			keep := int(math.Floor(acc))
			acc -= float64(keep)
			for i := range keep {
				if len(slots) > 0 {
					slots[next] = batch[i]
					next = (next + 1) % len(slots)
				}
			}
			n -= k
		}
		clear(batch)
	}
	free = func() {
		clear(slots)
		slots = slots[:0]
	}
	return churn, free
}
