package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A perfEvent is a counter perf_event_open(2) can open.
type perfEvent struct {
	name   string
	typ    uint32
	config uint64
}

// The hardware cache events of C46: read misses of the L1 data cache and of
// the data TLB.
var (
	perfL1dMisses = perfEvent{"L1d read misses", unix.PERF_TYPE_HW_CACHE,
		unix.PERF_COUNT_HW_CACHE_L1D | unix.PERF_COUNT_HW_CACHE_OP_READ<<8 | unix.PERF_COUNT_HW_CACHE_RESULT_MISS<<16}
	perfDTLBMisses = perfEvent{"dTLB read misses", unix.PERF_TYPE_HW_CACHE,
		unix.PERF_COUNT_HW_CACHE_DTLB | unix.PERF_COUNT_HW_CACHE_OP_READ<<8 | unix.PERF_COUNT_HW_CACHE_RESULT_MISS<<16}
	// perfTaskClock is a software event every kernel with perf events has:
	// the tests check the counting with it.
	perfTaskClock = perfEvent{"task clock", unix.PERF_TYPE_SOFTWARE, unix.PERF_COUNT_SW_TASK_CLOCK}
)

// errPerf wraps why a counter cannot be opened here.
var errPerf = errors.New("unsupported here")

// countEvents counts each event, in user space, on every thread of this
// process and on the threads they start (the inherit bit), while f runs,
// and returns the totals in the order of evs. A kernel, a virtual machine
// or a security policy that refuses a counter makes an error wrapping
// errPerf that names the errno: "unsupported here: ENOENT (no such file or
// directory)".
func countEvents(f func() error, evs ...perfEvent) ([]uint64, error) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errPerf, err)
	}
	fds := make([][]int, len(evs))
	defer func() {
		for _, ev := range fds {
			for _, fd := range ev {
				unix.Close(fd)
			}
		}
	}()
	for i, ev := range evs {
		attr := unix.PerfEventAttr{Type: ev.typ, Config: ev.config,
			Bits: unix.PerfBitDisabled | unix.PerfBitInherit | unix.PerfBitExcludeKernel | unix.PerfBitExcludeHv}
		attr.Size = uint32(unsafe.Sizeof(attr))
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			fd, err := unix.PerfEventOpen(&attr, tid, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
			if errors.Is(err, unix.ESRCH) {
				continue // the thread has exited
			}
			if err != nil {
				var errno unix.Errno
				if errors.As(err, &errno) {
					return nil, fmt.Errorf("%w: %s (%v) opening %s", errPerf, unix.ErrnoName(errno), err, ev.name)
				}
				return nil, fmt.Errorf("%w: %v", errPerf, err)
			}
			fds[i] = append(fds[i], fd)
		}
	}
	ioctlAll := func(req uint) error {
		for _, ev := range fds {
			for _, fd := range ev {
				if err := unix.IoctlSetInt(fd, req, 0); err != nil {
					return fmt.Errorf("perf event ioctl: %w", err)
				}
			}
		}
		return nil
	}
	if err := ioctlAll(unix.PERF_EVENT_IOC_ENABLE); err != nil {
		return nil, err
	}
	ferr := f()
	if err := ioctlAll(unix.PERF_EVENT_IOC_DISABLE); err != nil {
		return nil, err
	}
	if ferr != nil {
		return nil, ferr
	}
	out := make([]uint64, len(evs))
	var b [8]byte
	for i, ev := range fds {
		for _, fd := range ev {
			if n, err := unix.Read(fd, b[:]); err != nil || n != len(b) {
				return nil, fmt.Errorf("reading a %s counter: %d bytes, %v", evs[i].name, n, err)
			}
			out[i] += binary.NativeEndian.Uint64(b[:])
		}
	}
	return out, nil
}
