package channels

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// barrierProg holds one tiny function per operation whose machine code the
// package doc quotes. noinline keeps each a function of its own.
const barrierProg = `package main

import (
	"sync"
	"sync/atomic"
)

//go:noinline
func atomicStore(p *int64) { atomic.StoreInt64(p, 1) }

//go:noinline
func atomicAdd(p *int64) int64 { return atomic.AddInt64(p, 1) }

//go:noinline
func atomicLoad(p *int64) int64 { return atomic.LoadInt64(p) }

//go:noinline
func plainStore(p *int64) { *p = 1 }

//go:noinline
func mutexLock(mu *sync.Mutex) { mu.Lock() }

//go:noinline
func mutexUnlock(mu *sync.Mutex) { mu.Unlock() }

//go:noinline
func chanSend(c chan int) { c <- 1 }

func main() {
	var x int64
	var mu sync.Mutex
	atomicStore(&x)
	atomicAdd(&x)
	plainStore(&x)
	mutexLock(&mu)
	mutexUnlock(&mu)
	c := make(chan int, 1)
	chanSend(c)
	println(atomicLoad(&x), <-c)
}
`

// TestBarrierInstructions builds barrierProg and disassembles it with go
// tool objdump, then checks which instruction each operation uses to order
// memory on amd64: XCHG for an atomic store, LOCK XADD for an atomic add,
// a plain MOV for an atomic load, LOCK CMPXCHG for sync.Mutex.Lock, and for
// a channel send a call into the runtime that takes the channel's lock
// (runtime.lock2) with an XCHG. Run it with -v to see the instructions:
//
//	go test -run TestBarrierInstructions -v ./channels/
func TestBarrierInstructions(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("the instructions checked are amd64's; this is %s", runtime.GOARCH)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the probe with: %v", err)
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module barrierprobe\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(barrierProg), 0o644))
	bin := filepath.Join(dir, "probe")
	run := func(args ...string) []byte {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0", "GOARCH=amd64")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
		return out
	}
	run("build", "-o", bin, ".")
	fns := disassemble(run("tool", "objdump", "-s",
		`^(main\.(atomic|plain|mutex|chan)|runtime\.(chansend1|chansend|lock2|unlock2))`, bin))

	ordering := func(fn string) []string {
		return slices.DeleteFunc(slices.Clone(fns[fn]), func(ins string) bool { return !orders(ins) })
	}
	first := func(fn, prefix string) string {
		i := slices.IndexFunc(fns[fn], func(ins string) bool { return strings.HasPrefix(ins, prefix) })
		if i < 0 {
			t.Errorf("%s: no %s instruction in %q", fn, prefix, fns[fn])
			return ""
		}
		return fns[fn][i]
	}

	store, add := first("main.atomicStore", "XCHG"), first("main.atomicAdd", "LOCK XADD")
	lock, unlock := first("main.mutexLock", "LOCK CMPXCHG"), first("main.mutexUnlock", "LOCK XADD")
	assert.Empty(t, ordering("main.atomicLoad"), "an atomic load is a plain MOV on amd64 (TSO)")
	assert.Empty(t, ordering("main.plainStore"), "a plain store orders nothing")
	call := first("main.chanSend", "CALL runtime.chansend1")
	first("runtime.chansend1", "CALL runtime.chansend")
	chanLock := first("runtime.chansend", "CALL runtime.lock")
	first("runtime.chansend", "CALL runtime.unlock")
	lock2 := ordering("runtime.lock2")
	unlock2 := ordering("runtime.unlock2")
	require.NotEmpty(t, lock2, "runtime.lock2 must use a locked instruction")
	require.NotEmpty(t, unlock2, "runtime.unlock2 must use a locked instruction")
	// Claim C29 says a send issues MFENCE; the locked XCHG already orders
	// memory on amd64, and no function of the send path has a fence.
	for _, fn := range []string{"main.chanSend", "runtime.chansend1", "runtime.chansend", "runtime.lock2", "runtime.unlock2"} {
		for _, ins := range fns[fn] {
			assert.NotContains(t, ins, "FENCE", "%s: %s", fn, ins)
		}
	}
	spins := slices.ContainsFunc(fns["runtime.lock2"], func(ins string) bool { return strings.Contains(ins, "runtime.procyield") })
	t.Logf("atomic.StoreInt64: %s", store)
	t.Logf("atomic.AddInt64:   %s", add)
	t.Logf("atomic.LoadInt64:  %q (no fence)", fns["main.atomicLoad"])
	t.Logf("plain store:       %q", fns["main.plainStore"])
	t.Logf("sync.Mutex.Lock:   %s; Unlock: %s", lock, unlock)
	t.Logf("c <- v:            %s -> runtime.chansend -> %s", call, chanLock)
	t.Logf("runtime.lock2:     %s (first), all: %q", lock2[0], lock2)
	t.Logf("runtime.unlock2:   %s (first), all: %q", unlock2[0], unlock2)
	t.Logf("runtime.lock2 calls runtime.procyield (PAUSE) while spinning: %v", spins)
}

// disassemble splits go tool objdump output into the instructions (Go
// assembler syntax, operands included) of each function.
func disassemble(out []byte) map[string][]string {
	fns := map[string][]string{}
	var cur string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "TEXT "); ok {
			cur, _, _ = strings.Cut(name, "(SB)")
			continue
		}
		// file:line, address, encoding, instruction; tab separated.
		f := strings.FieldsFunc(line, func(r rune) bool { return r == '\t' })
		if cur != "" && len(f) >= 4 {
			fns[cur] = append(fns[cur], strings.TrimSpace(f[3]))
		}
	}
	return fns
}

// orders reports whether an amd64 instruction orders memory: a LOCK-prefixed
// read-modify-write, an XCHG with memory (implicitly locked) or a fence.
func orders(ins string) bool {
	return strings.HasPrefix(ins, "LOCK ") || strings.HasSuffix(ins, "FENCE") ||
		strings.HasPrefix(ins, "XCHG") && strings.Contains(ins, "(")
}
