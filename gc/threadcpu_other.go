//go:build !linux

package gc

import "time"

// threadCPU is unavailable off Linux (no RUSAGE_THREAD); the Sampler falls
// back to wall time. Part of the Sampler: moves with sampler.go.
func threadCPU() (time.Duration, bool) { return 0, false }
