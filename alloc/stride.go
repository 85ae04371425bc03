package alloc

import (
	"context"
	"fmt"
	"time"
)

// NewStrideBuffer returns a buffer of bytes/8 words for Walk, every page of
// it written. Writing matters: memory the kernel has just handed over reads
// as its single shared zero page until something is stored there, and a
// walk over it would hit the cache every time.
func NewStrideBuffer(bytes int) ([]uint64, error) {
	if bytes < wordSize {
		return nil, fmt.Errorf("alloc: buffer size %d must be >= %d bytes", bytes, wordSize)
	}
	buf := make([]uint64, bytes/wordSize)
	for i := range buf {
		buf[i] = uint64(i)
	}
	return buf, nil
}

// Walk reads every word of buf exactly once, in stride order: words 0,
// stride, 2*stride, ... to the end, then 8 bytes further along from the
// start again, until all are read. It returns their sum, so the reads cannot
// be optimised away, and the sum is the same for every stride. The number
// of accesses is always len(buf); only the order changes, so the time per
// access compares the memory system's answer to each pattern:
//
//   - stride 8 reads consecutive words: eight reads per 64-byte cache line
//     and a prefetcher that sees the stream coming;
//   - stride 64 reads one word per cache line, so each access misses the
//     cache and costs a line of memory bandwidth;
//   - stride 4096 reads one word per page: no prefetcher crosses pages, and
//     each access also needs a new TLB entry.
//
// strideBytes must be a positive multiple of 8 no larger than the buffer.
func Walk(buf []uint64, strideBytes int) (uint64, error) {
	if !strideFits(strideBytes, len(buf)*wordSize) {
		return 0, fmt.Errorf("alloc: stride %d must be a positive multiple of %d no larger than the buffer (%d bytes)", strideBytes, wordSize, len(buf)*wordSize)
	}
	step := strideBytes / wordSize
	var sum uint64
	for start := range step {
		for i := start; i < len(buf); i += step {
			sum += buf[i]
		}
	}
	return sum, nil
}

// strideFits reports whether Walk can walk a buffer of bufBytes with a
// stride of strideBytes.
func strideFits(strideBytes, bufBytes int) bool {
	return strideBytes > 0 && strideBytes%wordSize == 0 && strideBytes <= bufBytes
}

// StrideConfig is one run of Stride. The zero value walks 512 MiB once,
// word by word.
type StrideConfig struct {
	// Bytes is the buffer, far larger than the CPU caches; 0 means 512 MiB.
	// It is rounded down to whole 8-byte words.
	Bytes int
	// Stride is the bytes between two reads, a positive multiple of 8 no
	// larger than Bytes; 0 means 8 (consecutive words).
	Stride int
	// Walks is the number of times every word is read; 0 means 1.
	Walks int
}

// StrideResult is the time per read of one access pattern.
type StrideResult struct {
	Bytes  int // the buffer, rounded down to whole words
	Stride int
	Walks  int
	// Accesses is the reads of one walk: one per word of the buffer.
	Accesses int
	Elapsed  time.Duration // the walks' wall time, the buffer's fill excluded
}

// NsPerAccess is Elapsed per read (ns/access).
func (r StrideResult) NsPerAccess() float64 {
	if r.Walks == 0 || r.Accesses == 0 {
		return 0
	}
	return float64(r.Elapsed.Nanoseconds()) / float64(r.Walks) / float64(r.Accesses)
}

// String is one line: the buffer, the stride and the time per read.
func (r StrideResult) String() string {
	return fmt.Sprintf("bytes=%d stride=%d: %d walks of %d reads in %v, %.3f ns/access",
		r.Bytes, r.Stride, r.Walks, r.Accesses, r.Elapsed, r.NsPerAccess())
}

// Stride fills a buffer of cfg.Bytes (NewStrideBuffer) and times
// cfg.Walks walks over it in cfg.Stride order (Walk): the loop of
// BenchmarkAllocStride. Every stride makes the same reads; only their
// order, and so the memory system's answer, changes. ctx is checked
// between walks.
func Stride(ctx context.Context, cfg StrideConfig) (StrideResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return StrideResult{}, err
	}
	if err := canceled(ctx, "Stride"); err != nil {
		return StrideResult{}, err
	}
	buf, err := NewStrideBuffer(cfg.Bytes)
	if err != nil {
		return StrideResult{}, err
	}
	r := StrideResult{Bytes: len(buf) * wordSize, Stride: cfg.Stride, Walks: cfg.Walks, Accesses: len(buf)}
	for range cfg.Walks {
		if err := canceled(ctx, "Stride"); err != nil {
			return StrideResult{}, err
		}
		t0 := time.Now()
		if _, err := Walk(buf, cfg.Stride); err != nil {
			return StrideResult{}, err
		}
		r.Elapsed += time.Since(t0)
	}
	return r, nil
}

func (c StrideConfig) withDefaults() (StrideConfig, error) {
	if c.Bytes == 0 {
		c.Bytes = 512 << 20
	}
	if c.Stride == 0 {
		c.Stride = wordSize
	}
	if c.Walks == 0 {
		c.Walks = 1
	}
	switch {
	case c.Bytes < wordSize:
		return c, fmt.Errorf("alloc: StrideConfig.Bytes %d must be >= %d", c.Bytes, wordSize)
	case !strideFits(c.Stride, c.Bytes):
		return c, fmt.Errorf("alloc: StrideConfig.Stride %d must be a positive multiple of %d no larger than Bytes (%d)", c.Stride, wordSize, c.Bytes)
	case c.Walks < 0:
		return c, fmt.Errorf("alloc: StrideConfig.Walks %d must be > 0", c.Walks)
	}
	return c, nil
}
