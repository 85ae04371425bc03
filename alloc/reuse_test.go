package alloc

import (
	"fmt"
	"runtime/debug"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArena(t *testing.T) {
	a, err := NewArena(64)
	require.NoError(t, err)
	assert.Equal(t, 64, a.Cap())

	x := a.Alloc(5)
	require.Len(t, x, 5)
	assert.Equal(t, 5, cap(x), "appending must not spill into the next object")
	assert.Equal(t, 8, a.Used(), "offsets stay word-aligned")
	x[0], x[4] = 0xff, 0xff

	y := a.Alloc(56)
	require.Len(t, y, 56)
	assert.Equal(t, 64, a.Used())
	assert.Equal(t, uintptr(8), uintptr(unsafe.Pointer(&y[0]))-uintptr(unsafe.Pointer(&x[0])))
	assert.Nil(t, a.Alloc(1), "full arena")
	assert.Nil(t, a.Alloc(-1))

	a.Reset()
	assert.Zero(t, a.Used())
	z := a.Alloc(5)
	assert.Equal(t, &x[0], &z[0], "Reset reuses the slab from the start")
	assert.Equal(t, []byte{0, 0, 0, 0, 0}, z, "objects come zeroed")

	_, err = NewArena(0)
	assert.EqualError(t, err, "alloc: arena capacity 0 must be > 0")
}

func TestSources(t *testing.T) {
	for _, impl := range Impls() {
		for _, n := range []int{1, 24, 64, 1024, DefaultArenaBytes + 1} {
			t.Run(fmt.Sprintf("impl=%s/size=%d", impl, n), func(t *testing.T) {
				s, err := NewSource(impl, n)
				require.NoError(t, err)
				// Enough objects to fill the bump arena three times over.
				for range 3 * (DefaultArenaBytes/max(n, 64) + 1) {
					p := s.Get()
					if len(p) != n {
						t.Fatalf("Get returned %d bytes, want %d", len(p), n)
					}
					p[0], p[n-1] = 1, 2
					s.Put(p)
				}
			})
		}
	}
	_, err := NewSource("slab", 8)
	assert.EqualError(t, err, `alloc: impl "slab" is not one of [new pool bump]`)
	_, err = NewSource(ImplNew, 0)
	assert.EqualError(t, err, "alloc: object size 0 must be > 0")
}

// TestSourceAllocs is the claim behind BenchmarkAllocReuse: only fresh
// allocation touches the heap once the pool is warm.
func TestSourceAllocs(t *testing.T) {
	want := map[Impl]float64{ImplNew: 1, ImplPool: 0, ImplBump: 0}
	for _, impl := range Impls() {
		t.Run("impl="+impl.String(), func(t *testing.T) {
			if raceEnabled && impl == ImplPool {
				t.Skip("the race detector makes sync.Pool drop objects at random")
			}
			s, err := NewSource(impl, 64)
			require.NoError(t, err)
			got := testing.AllocsPerRun(1000, func() { s.Put(s.Get()) })
			assert.Equal(t, want[impl], got)
		})
	}
}

// TestReuse is TestSourceAllocs through the experiment: Reuse counts one
// allocation per op for ImplNew and none for the others, whose source it
// warms before counting (a pool's per-P array grows with GOMAXPROCS). The GC is off meanwhile (see
// TestSize): a cycle allocates for the runtime, and empties the pool.
func TestReuse(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	want := map[Impl]float64{ImplNew: 1, ImplPool: 0, ImplBump: 0}
	for _, impl := range Impls() {
		t.Run("impl="+impl.String(), func(t *testing.T) {
			if raceEnabled && impl == ImplPool {
				t.Skip("the race detector makes sync.Pool drop objects at random")
			}
			r, err := Reuse(t.Context(), ReuseConfig{Impl: impl, Size: 64, Ops: 10_000})
			require.NoError(t, err)
			assert.Equal(t, impl, r.Impl)
			assert.Equal(t, 64, r.Size)
			assert.InDelta(t, want[impl], r.AllocsPerOp(), 0.01)
			assert.InDelta(t, 64*want[impl], r.BytesPerOp(), 0.64)
		})
	}
	r, err := Reuse(t.Context(), ReuseConfig{Ops: 10})
	require.NoError(t, err)
	assert.Equal(t, ImplNew, r.Impl, "the zero Impl is new")
	assert.Equal(t, 64, r.Size)
}
