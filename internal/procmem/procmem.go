// Package procmem reads the memory a process holds as the kernel sees it.
//
// It exists because the figures that matter for "memory per connection" are
// the process's resident pages, not the Go heap: stacks, runtime metadata and
// freed-but-unreturned spans all count. Only Linux exposes them through /proc;
// elsewhere every call returns ErrUnsupported rather than a misleading zero.
//
// It also counts a process's open descriptors and, under its open-files
// limit, how many more a test or a benchmark can open (FitFDs): the one
// place rtlab sizes connections, pipes and processes to that limit.
package procmem

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ErrUnsupported is returned off Linux, where /proc is not available.
var ErrUnsupported = errors.New("procmem: process memory is read from /proc, which this OS does not have")

// Stats is a process's memory in bytes.
type Stats struct {
	RSS uint64 // resident set size (VmRSS)
	VSS uint64 // virtual size (VmSize)
	// PSS is the proportional set size from /proc/<pid>/smaps_rollup: shared
	// pages are divided among the processes that map them. It is 0 when
	// HasPSS is false (kernels before 4.14, or no permission to read it).
	PSS    uint64
	HasPSS bool
	// CPU is the CPU time the process has used, user and system, all its
	// threads (utime+stime of /proc/<pid>/stat, in the kernel's 10 ms
	// ticks): not memory, but read from the same place, so that a
	// benchmark can say what a phase cost the server in CPU.
	CPU time.Duration
}

// Self returns the memory of the calling process.
func Self() (Stats, error) { return Read(0) }

// Read returns the memory of process pid; pid 0 means the calling process.
func Read(pid int) (Stats, error) { return read(pid) }

// OpenFDs counts the calling process's open file descriptors, or returns
// -1 where /proc/self/fd cannot be read. Tests compare it before and after
// a server runs to show that nothing it opened stays open.
func OpenFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// FDSpare is how many descriptors FitFDs leaves free for a process's own
// use beside what it fits: stdio, the runtime's poller, a listener and its
// epoll, pipes to a parent or children, a file being read (Node's too).
const FDSpare = 256

// FDLimit returns the calling process's open-files limit (the soft
// RLIMIT_NOFILE), or -1 where it cannot be read. The Go runtime raises the
// soft limit to the hard one when a process starts (Go 1.19+), and so does
// Node, so unless the process lowered it this is the hard limit, and the
// Go and Node processes it starts, which raise theirs, get the same.
func FDLimit() int { return fdLimit() }

// FitFDs returns how many of want things, each holding per descriptors,
// fit under FDLimit in a process that already holds held descriptors
// (OpenFDs() for the calling process; 0 for a child process about to
// start, whose own are within FDSpare), leaving FDSpare free: want, or
// fewer, down to 0. When fewer than want fit, why says so, naming the
// limit and what the things are, for a test to log or a skip to give;
// otherwise it is "". Where the limit cannot be read, all of want fit.
func FitFDs(want, per, held int, what string) (n int, why string) {
	limit := FDLimit()
	if limit < 0 {
		return want, ""
	}
	n = min(want, max(0, (limit-held-FDSpare)/per))
	if n < want {
		why = fmt.Sprintf("the open-files limit is %d (ulimit -n): %d of %d %s fit, at %d fd each, with %d open and %d spare",
			limit, n, want, what, per, held, FDSpare)
	}
	return n, why
}

// RSSBatch is how many bytes of RSS one CPU folds into a process's total
// at once: the kernel counts RSS in per-CPU counters that each CPU adds to
// the total every batch pages, batch = max(32, 2 x online CPUs)
// (lib/percpu_counter.c), and a read sees only the total. Two reads a
// moment apart differ by a fold or two of this.
func RSSBatch() uint64 {
	return uint64(max(32, 2*OnlineCPUs()) * os.Getpagesize())
}

// RSSSkew bounds how far one read of a process's RSS can be from the
// pages it has: a batch (RSSBatch) not yet folded on every CPU the process
// may run on (runtime.NumCPU, its affinity). The batch is sized by every
// online CPU: in a container given 2 of 64 CPUs the skew is 4 times what
// 2 CPUs alone would make it.
func RSSSkew() uint64 { return RSSBatch() * uint64(runtime.NumCPU()) }

// OnlineCPUs counts the CPUs the kernel has online, from
// /sys/devices/system/cpu/online; at least runtime.NumCPU, which it is
// where that file cannot be read.
func OnlineCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return runtime.NumCPU()
	}
	return max(countCPUList(string(b)), runtime.NumCPU())
}

// countCPUList counts the CPUs in a kernel CPU list ("0-63", "0,2-5",
// "3"); 0 if it cannot be read as one.
func countCPUList(list string) int {
	n := 0
	for _, r := range strings.Split(strings.TrimSpace(list), ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		z, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || z < a {
			return 0
		}
		n += z - a + 1
	}
	return n
}
