package gc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// peakRSS measures the largest RSS of an interval without sampling it: the
// kernel keeps the high-water mark (VmHWM in /proc/self/status), and
// writing 5 to /proc/self/clear_refs resets it to the current RSS (Linux
// 4.0+). internal/procmem reads VmRSS but not VmHWM, hence this file.
type peakRSS struct{ ok bool }

// startPeakRSS resets the high-water mark. Off Linux, or without the right
// to write clear_refs, the peak is unknown and reads as 0.
func startPeakRSS() peakRSS {
	return peakRSS{ok: os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil}
}

// read returns the peak since startPeakRSS, or 0 if it is unknown.
func (p peakRSS) read() uint64 {
	if !p.ok {
		return 0
	}
	hwm, err := vmHWM()
	if err != nil {
		return 0
	}
	return hwm
}

func vmHWM() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("gc: /proc/self/status: VmHWM line %q is not \"<n> kB\"", line)
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("gc: /proc/self/status: VmHWM: %w", err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("gc: /proc/self/status has no VmHWM line")
}
