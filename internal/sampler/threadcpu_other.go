//go:build !linux

package sampler

import "time"

// threadCPU is unavailable off Linux: Series.CPU stays 0 and Overhead falls
// back to Busy.
func threadCPU() (time.Duration, bool) { return 0, false }
