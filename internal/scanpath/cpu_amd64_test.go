package scanpath

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/cpu"
)

// TestProbeMatchesCPU checks the measured path against the runtime's rule
// (internal/runtime/gc/scan, avx512ScanPackedReqsMet) applied to the CPU
// flags as x/sys/cpu reads them, GODEBUG cpu.* settings included: the
// vector path runs exactly when Green Tea is the collector and the CPU has
// AVX512VL, BW, DQ, VBMI, BITALG and GFNI.
func TestProbeMatchesCPU(t *testing.T) {
	if v := os.Getenv("GODEBUG"); strings.Contains(v, "cpu.") && !onlyKnownCPUOptions(v) {
		t.Skipf("GODEBUG=%s sets a cpu option x/sys/cpu may not know; the prediction could differ from the runtime's", v)
	}
	x := cpu.X86
	want := Scalar
	if greenTea() && x.HasAVX512VL && x.HasAVX512BW && x.HasAVX512DQ && x.HasAVX512VBMI && x.HasAVX512BITALG && x.HasAVX512GFNI {
		want = Vector
	}
	got, ratio := Probe()
	assert.Equal(t, want, got, "ratio %.4f", ratio)
}

// onlyKnownCPUOptions reports whether every cpu.* setting in godebug names
// an option that the runtime and x/sys/cpu both know under one name.
func onlyKnownCPUOptions(godebug string) bool {
	known := map[string]bool{"all": true, "avx512f": true, "avx512bw": true, "avx512dq": true, "avx512vl": true, "avx512cd": true}
	for _, kv := range strings.Split(godebug, ",") {
		k, _, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if name, ok := strings.CutPrefix(k, "cpu."); ok && !known[name] {
			return false
		}
	}
	return true
}

func greenTea() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return true
	}
	for _, s := range bi.Settings {
		if s.Key == "GOEXPERIMENT" && strings.Contains(s.Value, "nogreenteagc") {
			return false
		}
	}
	return true
}
