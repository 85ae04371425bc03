package alloc

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassesIncrease(t *testing.T) {
	c := Classes()
	require.NotEmpty(t, c)
	assert.Equal(t, wordSize, c[0], "smallest class is one word")
	assert.Equal(t, MaxSmall(), c[len(c)-1])
	for i := 1; i < len(c); i++ {
		assert.Greater(t, c[i], c[i-1], "class %d", i)
		assert.Zero(t, c[i]%wordSize, "class %d = %d is not word-aligned", i, c[i])
	}
	c[0] = -1
	assert.Equal(t, wordSize, Classes()[0], "Classes returns a copy")
}

func TestClassOfSmall(t *testing.T) {
	classes := Classes()
	maxSmall := MaxSmall()
	for n := 1; n <= 32768; n++ {
		c := ClassOf(n)
		if c < n || ClassOf(c) != c {
			t.Fatalf("ClassOf(%d) = %d, ClassOf(%d) = %d: want >= %d and idempotent", n, c, c, ClassOf(c), n)
		}
		if n > maxSmall {
			continue
		}
		i, ok := slices.BinarySearch(classes, c)
		if !ok {
			t.Fatalf("ClassOf(%d) = %d is not a class", n, c)
		}
		if i > 0 && classes[i-1] >= n {
			t.Fatalf("ClassOf(%d) = %d, but class %d is smaller and fits", n, c, classes[i-1])
		}
	}
	assert.Zero(t, ClassOf(0))
}

func TestClassOfLarge(t *testing.T) {
	maxSmall := MaxSmall()
	for _, n := range []int{maxSmall + 1, maxSmall + PageSize, maxSmall + PageSize + 1, 1 << 20, 1<<20 + 1, 10_000_000} {
		c := ClassOf(n)
		assert.Zero(t, c%PageSize, "ClassOf(%d) = %d is not whole pages", n, c)
		assert.GreaterOrEqual(t, c, n)
		assert.Less(t, c, n+PageSize, "ClassOf(%d) = %d rounds up more than one page", n, c)
		assert.Equal(t, c, ClassOf(c))
	}
}

func TestBlockOf(t *testing.T) {
	for n := 1; n <= 3*MaxSmall(); n += 7 {
		if BlockOf(n, KindNoscan) != ClassOf(n) {
			t.Fatalf("BlockOf(%d, KindNoscan) = %d, ClassOf = %d", n, BlockOf(n, KindNoscan), ClassOf(n))
		}
		b := BlockOf(n, KindScan)
		w := roundUp(n, wordSize)
		need := w
		if n > minSizeForMallocHeader && n <= MaxSmall()-mallocHeaderSize {
			need += mallocHeaderSize // room for the header
		}
		if b < need || b < ClassOf(n) || BlockOf(b, KindNoscan) != b {
			t.Fatalf("BlockOf(%d, KindScan) = %d: want a block of at least %d and ClassOf(%d) = %d", n, b, need, n, ClassOf(n))
		}
	}
	assert.Zero(t, BlockOf(0, KindScan))
}

func TestWaste(t *testing.T) {
	for n := 1; n <= 2*MaxSmall(); n++ {
		l := Waste(n)
		if l.Request != n || l.Block != ClassOf(n) || l.Bytes != l.Block-n || l.Percent < 0 || l.Percent >= 100 {
			t.Fatalf("Waste(%d) = %+v", n, l)
		}
		if want := 100 * float64(l.Bytes) / float64(l.Block); math.Abs(l.Percent-want) > 1e-9 {
			t.Fatalf("Waste(%d).Percent = %v, want %v", n, l.Percent, want)
		}
	}
	// The claim of the package doc: above 112 bytes the classes are close
	// enough that no request loses 16% of its block.
	for n := 113; n <= MaxSmall(); n++ {
		if p := Waste(n).Percent; p >= 16 {
			t.Fatalf("Waste(%d) = %.2f%%, want < 16%%", n, p)
		}
	}
	assert.Equal(t, Loss{}, Waste(0))
	assert.Equal(t, Loss{Request: 1024, Block: BlockOf(1024, KindScan), Bytes: BlockOf(1024, KindScan) - 1024,
		Percent: 100 * float64(BlockOf(1024, KindScan)-1024) / float64(BlockOf(1024, KindScan))}, WasteOf(1024, KindScan))
}

func TestBadSize(t *testing.T) {
	assert.PanicsWithValue(t, "alloc: size -1 must be >= 0", func() { ClassOf(-1) })
	assert.PanicsWithValue(t, "alloc: size -1 must be >= 0", func() { BlockOf(-1, KindScan) })
	assert.PanicsWithValue(t, "alloc: kind 7 is neither KindNoscan nor KindScan", func() { BlockOf(1, Kind(7)) })
	assert.PanicsWithValue(t, "alloc: size -2 must be >= 0", func() { New(-2, KindNoscan) })
	assert.PanicsWithValue(t, "alloc: kind 7 is neither KindNoscan nor KindScan", func() { New(1, Kind(7)) })
}

func TestDeriveClasses(t *testing.T) {
	inf := math.Inf(1)
	c, err := deriveClasses([]float64{1, 9, 17, 33, inf})
	require.NoError(t, err)
	assert.Equal(t, []int{8, 16, 32}, c)
	for _, tc := range []struct {
		name    string
		buckets []float64
	}{
		{"empty", nil},
		{"no inf", []float64{1, 9, 17}},
		{"first not 1", []float64{0, 9, 17, inf}},
		{"not increasing", []float64{1, 17, 9, inf}},
		{"fraction", []float64{1, 9.5, inf}},
		{"zero class", []float64{1, 1, 9, inf}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deriveClasses(tc.buckets)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "alloc: ")
		})
	}
}

func TestKindString(t *testing.T) {
	assert.Equal(t, "noscan", KindNoscan.String())
	assert.Equal(t, "scan", KindScan.String())
	assert.Equal(t, "Kind(5)", Kind(5).String())
	assert.Equal(t, []Kind{KindNoscan, KindScan}, Kinds())
	Kinds()[0] = KindScan
	assert.Equal(t, KindNoscan, Kinds()[0], "a new slice each call")
}
