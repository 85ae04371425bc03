// Package channels makes the Go memory model observable: litmus tests that
// count what two goroutines can see of each other's writes, with plain
// fields, sync/atomic, channels and mutexes.
package channels
