// Package procmem reads the memory a process holds as the kernel sees it.
//
// It exists because the figures that matter for "memory per connection" are
// the process's resident pages, not the Go heap: stacks, runtime metadata and
// freed-but-unreturned spans all count. Only Linux exposes them through /proc;
// elsewhere every call returns ErrUnsupported rather than a misleading zero.
package procmem

import (
	"errors"
	"os"
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
