package procmem

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"syscall"
	"time"
)

func read(pid int) (Stats, error) {
	dir := "/proc/self"
	if pid != 0 {
		if pid < 0 {
			return Stats{}, fmt.Errorf("procmem: pid %d is negative", pid)
		}
		dir = "/proc/" + strconv.Itoa(pid)
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return Stats{}, fmt.Errorf("procmem: %w", err)
	}
	var s Stats
	var okRSS, okVSS bool
	if s.RSS, okRSS, err = kbField(status, "VmRSS:"); err != nil {
		return Stats{}, err
	}
	if s.VSS, okVSS, err = kbField(status, "VmSize:"); err != nil {
		return Stats{}, err
	}
	if !okRSS || !okVSS {
		// Zombies and kernel threads have no VmRSS line.
		return Stats{}, fmt.Errorf("procmem: %s/status has no VmRSS/VmSize (zombie or kernel thread?)", dir)
	}
	if s.CPU, err = cpuTime(dir); err != nil {
		return Stats{}, err
	}
	rollup, err := os.ReadFile(dir + "/smaps_rollup")
	switch {
	case err == nil:
		if s.PSS, s.HasPSS, err = kbField(rollup, "Pss:"); err != nil {
			return Stats{}, err
		}
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		// Old kernel or another user's process: PSS is simply unknown.
	default:
		return Stats{}, fmt.Errorf("procmem: %w", err)
	}
	return s, nil
}

// kbField finds "name   123 kB" in a /proc file and returns it in bytes.
func kbField(data []byte, name string) (uint64, bool, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Bytes()
		rest, ok := bytes.CutPrefix(line, []byte(name))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, false, fmt.Errorf("procmem: cannot parse %q", line)
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("procmem: cannot parse %q: %w", line, err)
		}
		return kb << 10, true, nil
	}
	return 0, false, sc.Err()
}

// userHZ is the unit of the times in /proc/<pid>/stat: USER_HZ, 100 on
// every architecture Linux runs Go on.
const userHZ = 100

// cpuTime reads utime+stime from dir/stat.
func cpuTime(dir string) (time.Duration, error) {
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, fmt.Errorf("procmem: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is the first, utime the 12th, stime the 13th.
	i := bytes.LastIndexByte(stat, ')')
	f := bytes.Fields(stat[i+1:])
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("procmem: %s/stat: %d fields after the command name", dir, len(f))
	}
	var ticks uint64
	for _, b := range f[11:13] {
		n, err := strconv.ParseUint(string(b), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procmem: %s/stat: %w", dir, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

func fdLimit() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return -1
	}
	return int(min(lim.Cur, math.MaxInt32)) // RLIM_INFINITY is all ones
}
