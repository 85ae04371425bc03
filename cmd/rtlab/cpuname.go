package main

import (
	"bufio"
	"os"
	"strings"
)

// cpuName is the CPU as go test names it on its "cpu:" line, so that a file
// written by rtlab run -o and one written by go test -bench have the same
// configuration and benchstat pairs their rows: on amd64 the processor's
// brand string (CPUID leaves 0x80000002-4, which a virtual machine may set
// apart from /proc/cpuinfo's model name), elsewhere /proc/cpuinfo's model
// name with its clock when the name has none. "" where unknown.
func cpuName() string {
	if b := cpuBrand(); b != "" {
		return b
	}
	return procCPUName()
}

// brandString assembles a CPUID brand string from the registers of its
// three leaves, as the processor stores it: leading spaces and everything
// from the first NUL on dropped.
func brandString(regs [12]uint32) string {
	var b []byte
	for _, r := range regs {
		b = append(b, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
	}
	s := strings.TrimLeft(string(b), " ")
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s
}

// procCPUName is the model name of the first CPU in /proc/cpuinfo, with
// " @ <cpu MHz>MHz" appended when the name carries no clock.
func procCPUName() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	var name, mhz string
	s := bufio.NewScanner(f)
	for s.Scan() && s.Text() != "" { // the first CPU's block ends at a blank line
		k, v, ok := strings.Cut(s.Text(), ": ")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name", "Model Name":
			name = v
		case "cpu MHz", "CPU MHz":
			mhz = v
		}
	}
	if name == "" || mhz == "" || strings.Contains(name, "GHz") || strings.Contains(name, "MHz") {
		return name
	}
	return name + " @ " + mhz + "MHz"
}
