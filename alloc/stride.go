package alloc

import "fmt"

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
	if strideBytes <= 0 || strideBytes%wordSize != 0 || strideBytes > len(buf)*wordSize {
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
