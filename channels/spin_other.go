//go:build !linux

package channels

import "time"

// osYield gives the CPU back to the OS for a moment; without sched_yield at
// hand a short sleep does it (a parked goroutine may resume on any P).
func osYield() { time.Sleep(20 * time.Microsecond) }
