package channels

import "syscall"

// osYield offers the CPU to another runnable OS thread (sched_yield): on a
// loaded machine the thread a spinner waits for may be queued behind it.
func osYield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
