package main

import (
	"bytes"
	"context"
	"debug/elf"
	"debug/gosym"
	_ "embed"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn"
	"golang.org/x/arch/x86/x86asm"
)

// disasm decodes the machine code of the named functions in the running
// binary (amd64 only) and counts what C29 and C30 ask about.
type disasm struct {
	Found                      []string
	MFENCE, XCHG, PAUSE, LOCKs int
	Calls                      []string // functions called
}

func disassemble(names ...string) (disasm, error) {
	var d disasm
	if runtime.GOARCH != "amd64" {
		return d, fmt.Errorf("disassembly is implemented for amd64 only, not %s", runtime.GOARCH)
	}
	exe, err := os.Executable()
	if err != nil {
		return d, err
	}
	f, err := elf.Open(exe)
	if err != nil {
		return d, fmt.Errorf("reading %s: %w", exe, err)
	}
	defer f.Close()
	text := f.Section(".text")
	pcln := f.Section(".gopclntab")
	if text == nil || pcln == nil {
		return d, errors.New("no .text or .gopclntab section")
	}
	code, err := text.Data()
	if err != nil {
		return d, err
	}
	pc, err := pcln.Data()
	if err != nil {
		return d, err
	}
	// The function table of the runtime's own pclntab is in every Go
	// binary, even one linked without a symbol table (go test's).
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(pc, text.Addr))
	if err != nil {
		return d, fmt.Errorf("reading the function table of %s: %w", exe, err)
	}
	byAddr := map[uint64]string{}
	for _, fn := range tab.Funcs {
		byAddr[fn.Entry] = strings.TrimSuffix(fn.Name, ".abi0")
	}
	for _, fn := range tab.Funcs {
		// Assembly functions may carry the ABI0 suffix.
		name := strings.TrimSuffix(fn.Name, ".abi0")
		if !contains(names, name) || fn.End <= fn.Entry || fn.End-text.Addr > uint64(len(code)) {
			continue
		}
		d.Found = append(d.Found, name)
		b := code[fn.Entry-text.Addr : fn.End-text.Addr]
		for pc := 0; pc < len(b); {
			in, err := x86asm.Decode(b[pc:], 64)
			if err != nil {
				pc++
				continue
			}
			switch in.Op {
			case x86asm.MFENCE:
				d.MFENCE++
			case x86asm.XCHG:
				d.XCHG++
			case x86asm.PAUSE:
				d.PAUSE++
			case x86asm.CALL:
				if rel, ok := in.Args[0].(x86asm.Rel); ok {
					target := fn.Entry + uint64(pc+in.Len) + uint64(int64(rel))
					if n, ok := byAddr[target]; ok && !contains(d.Calls, n) {
						d.Calls = append(d.Calls, n)
					}
				}
			}
			for _, p := range in.Prefix {
				if p&0xFF == x86asm.PrefixLOCK&0xFF && p != 0 {
					d.LOCKs++
				}
			}
			pc += in.Len
		}
	}
	if len(d.Found) == 0 {
		return d, fmt.Errorf("none of %s in %s", strings.Join(names, ", "), exe)
	}
	return d, nil
}

// checkChanSendInstructions is C29: what a channel send's lock executes.
func checkChanSendInstructions(ctx context.Context, l *lab) (finding, error) {
	lock, err := disassemble("runtime.lock2")
	if err != nil {
		return skip("", err.Error()), nil
	}
	send, err := disassemble("runtime.chansend")
	if err != nil {
		return skip("", err.Error()), nil
	}
	spin, _ := disassemble("runtime.procyield", "runtime.procyieldAsm")
	calls := contains(lock.Calls, "runtime.procyield") || contains(lock.Calls, "runtime.procyieldAsm")
	m := fmt.Sprintf("runtime.lock2 (taken by chansend): %d XCHG, %d MFENCE, %d LOCK-prefixed, calls procyield: %v (%d PAUSE in it); runtime.chansend itself: %d MFENCE",
		lock.XCHG, lock.MFENCE, lock.LOCKs, calls, spin.PAUSE, send.MFENCE)
	if lock.MFENCE+send.MFENCE > 0 {
		return holds(m), nil
	}
	return notHold(m, "no MFENCE: the lock is taken with XCHG, a full barrier on x86 by itself; procyield (PAUSE) is in the spin of a contended lock"), nil
}

// atomicAdd keeps a body of sync/atomic.AddInt32 (the compiler's wrapper
// around its intrinsic) in the binary for checkAtomicAdd to disassemble.
var atomicAdd = atomic.AddInt32

var atomicCounter int32

// checkAtomicAdd is C30: the instruction of an atomic add, and its cost
// against a plain add in Node.
func checkAtomicAdd(ctx context.Context, l *lab) (finding, error) {
	atomicAdd(&atomicCounter, 1)
	d, err := disassemble("sync/atomic.AddInt32", "sync/atomic.AddInt64", "internal/runtime/atomic.Xadd64", "internal/runtime/atomic.Xadd")
	m := ""
	if err == nil {
		m = fmt.Sprintf("%s: %d LOCK-prefixed instruction(s), %d MFENCE", strings.Join(d.Found, ", "), d.LOCKs, d.MFENCE)
	} else {
		m = "disassembly: " + err.Error()
	}
	nr, err := l.node(ctx)
	if err != nil {
		return needs(m, err)
	}
	at1, err := nr.must("ChanContended/impl=atomic/procs=1", "sec/op")
	if err != nil {
		return finding{}, err
	}
	pl1, err := nr.must("ChanContended/impl=plain/procs=1", "sec/op")
	if err != nil {
		return finding{}, err
	}
	atN, _ := nr.value("ChanContended/impl=atomic/procs=all", "sec/op")
	lost, _ := nr.value("ChanContended/impl=plain/procs=all", "lost-%")
	m += fmt.Sprintf("; Node, one worker: Atomics.add %s vs plain %s per increment; all workers on one word: Atomics.add %s, plain increments lost %.1f%%", secs(at1), secs(pl1), secs(atN), lost)
	if d.LOCKs > 0 {
		return depends(m, "which half: a LOCK-prefixed add is a full barrier, but it flushes no cache line; the line stays in the core's cache, and what costs is moving it between cores when they share it"), nil
	}
	return depends(m, "the architecture: no LOCK-prefixed add found to show the barrier"), nil
}

// checkDeadlock is C32: the runtime's deadlock exit in a child process,
// and, without --quick, the race detector on a racy program.
//
// The child is this binary, asked to deadlock. A binary linked with cgo
// (the default where a C compiler is installed: package net uses it) has
// threads the runtime cannot see idle, so it cannot prove a deadlock and
// the child hangs; then a pure-Go build of the same program is tried with
// the go command, and the row says which was detected.
func checkDeadlock(ctx context.Context, l *lab) (finding, error) {
	exe, err := os.Executable()
	if err != nil {
		return finding{}, err
	}
	self, selfOK, err := runDeadlock(ctx, exe, nil, 3*time.Second)
	if err != nil {
		return finding{}, err
	}
	m := "this binary, deadlocked on purpose: " + self
	pureOK := false
	if !selfOK {
		var pure string
		pure, pureOK = deadlockPureGo(ctx)
		m += "; " + pure
	}
	race := "race detector not run in --quick (it builds a program with go build -race)"
	raceFound := false
	if !l.quick {
		race, raceFound = runRaceDetector(ctx)
	}
	m += "; " + race + "; JavaScript's plain SharedArrayBuffer races pass silently (C28)"
	switch {
	case (selfOK || pureOK) && (raceFound || l.quick):
		if selfOK {
			return holds(m), nil
		}
		return depends(m, "cgo: a binary linked with C cannot prove a deadlock (C threads may wake it); a pure-Go one exits with the runtime's message"), nil
	case selfOK || pureOK:
		return depends(m, "the toolchain: deadlocks are detected by the runtime, races only by a -race build"), nil
	default:
		return notHold(m, "the runtime did not report the deadlock"), nil
	}
}

// runDeadlock runs cmd with deadlockEnv set and says how it ended: whether
// the runtime reported "all goroutines are asleep" before the timeout.
func runDeadlock(ctx context.Context, exe string, args []string, timeout time.Duration) (string, bool, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe, args...)
	cmd.Env = append(os.Environ(), deadlockEnv+"=1")
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", false, ctx.Err()
	}
	if cctx.Err() != nil {
		return fmt.Sprintf("still blocked after %v, killed", timeout), false, nil
	}
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		return "", false, err
	}
	detected := strings.Contains(stderr.String(), "all goroutines are asleep - deadlock!")
	return fmt.Sprintf("exit %d, %q", code, firstLine(stderr.String())), detected, nil
}

const deadlockProgram = `package main

func main() {
	var ch chan int
	<-ch
}
`

// deadlockPureGo builds and runs deadlockProgram with CGO_ENABLED=0.
func deadlockPureGo(ctx context.Context) (string, bool) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "a pure-Go build not tried: go is not on PATH", false
	}
	dir, err := os.MkdirTemp("", "rtlab-deadlock-")
	if err != nil {
		return "a pure-Go build not tried: " + err.Error(), false
	}
	defer os.RemoveAll(dir)
	src, bin := filepath.Join(dir, "main.go"), filepath.Join(dir, "deadlock")
	if err := os.WriteFile(src, []byte(deadlockProgram), 0o644); err != nil {
		return "a pure-Go build not tried: " + err.Error(), false
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	build := exec.CommandContext(cctx, goBin, "build", "-o", bin, src)
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Sprintf("a pure-Go build failed: %v: %s", err, firstLine(string(out))), false
	}
	out, ok, err := runDeadlock(ctx, bin, nil, 10*time.Second)
	if err != nil {
		return "a pure-Go build: " + err.Error(), false
	}
	return "the same program built with CGO_ENABLED=0: " + out, ok
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

const racyProgram = `package main

import "fmt"

func main() {
	n := 0
	done := make(chan bool)
	go func() { n++; done <- true }()
	n++
	<-done
	fmt.Println(n)
}
`

// runRaceDetector builds and runs a racy program with -race.
func runRaceDetector(ctx context.Context) (string, bool) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "race detector not run: go is not on PATH", false
	}
	dir, err := os.MkdirTemp("", "rtlab-race-")
	if err != nil {
		return "race detector not run: " + err.Error(), false
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(racyProgram), 0o644); err != nil {
		return "race detector not run: " + err.Error(), false
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, goBin, "run", "-race", "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=off")
	out, _ := cmd.CombinedOutput()
	if bytes.Contains(out, []byte("WARNING: DATA RACE")) {
		return "go run -race on a racy program: WARNING: DATA RACE", true
	}
	return "go run -race on a racy program reported no race: " + firstLine(string(out)), false
}

// loopConn is an io.ReadWriter whose reads replay one frame forever and
// whose writes are discarded: the frame path without a socket.
type loopConn struct {
	frame []byte
	off   int
}

func (c *loopConn) Read(p []byte) (int, error) {
	n := copy(p, c.frame[c.off:])
	c.off = (c.off + n) % len(c.frame)
	return n, nil
}

func (c *loopConn) Write(p []byte) (int, error) { return len(p), nil }

// frameAllocs is allocations per 1 KiB message read (masked client frame)
// and written back through wsconn's frame path.
func frameAllocs(size int) (read, write float64, err error) {
	var buf bytes.Buffer
	payload := bytes.Repeat([]byte("x"), size)
	if err := ws.WriteFrame(&buf, ws.MaskFrame(ws.NewBinaryFrame(payload))); err != nil {
		return 0, 0, err
	}
	c := &loopConn{frame: buf.Bytes()}
	var mr wsconn.MessageReader
	var fw wsconn.FrameWriter
	msg := make([]byte, 0, size)
	var rerr error
	read = testing.AllocsPerRun(1000, func() {
		_, msg, rerr = mr.ReadMessage(c, msg[:0])
	})
	if rerr != nil {
		return 0, 0, rerr
	}
	if len(msg) != size {
		return 0, 0, fmt.Errorf("read %d bytes, want %d", len(msg), size)
	}
	write = testing.AllocsPerRun(1000, func() { rerr = fw.WriteMessage(io.Discard, ws.OpBinary, msg) })
	return read, write, rerr
}

// checkFrameAllocs is C35.
func checkFrameAllocs(ctx context.Context, l *lab) (finding, error) {
	var parts []string
	zero := true
	for _, n := range []int{64, 1024, 65536} {
		r, w, err := frameAllocs(n)
		if err != nil {
			return finding{}, err
		}
		parts = append(parts, fmt.Sprintf("%s: %.0f allocs read, %.0f write", kib(float64(n)), r, w))
		zero = zero && r == 0 && w == 0
	}
	m := "wsconn's frame path per message: " + strings.Join(parts, "; ") + " (copies and bytes/s against the copy+unmask limit: go test -bench BenchmarkWSFrame)"
	if zero {
		return holds(m), nil
	}
	return notHold(m, "the zero-copy path allocated"), nil
}

// checkEcho1K is C36: allocations and time per 1 KiB message, and echo
// latency, of rtlab's zero-copy path against gorilla/websocket. The
// zero-copy side is also measured in this process; gorilla's, a test-only
// peer, comes from the root suite's rows (gorillaRows).
func checkEcho1K(ctx context.Context, l *lab) (finding, error) {
	r, w, err := frameAllocs(1024)
	if err != nil {
		return finding{}, err
	}
	m := fmt.Sprintf("1 KiB message on rtlab's zero-copy path: %.0f allocs to read, %.0f to write", r, w)
	sr, err := l.gorillaRows(ctx)
	if err != nil {
		return needs(m+"; gorilla not measured", err)
	}
	var fig [6]float64
	for i, x := range []struct{ name, unit string }{
		{"WSFrameRead/impl=rtlab/size=1024", "allocs/op"}, {"WSFrameRead/impl=gorilla/size=1024", "allocs/op"},
		{"WSFrameRead/impl=rtlab/size=1024", "sec/op"}, {"WSFrameRead/impl=gorilla/size=1024", "sec/op"},
		{"WSEchoRate/server=reactor", "p50-ns"}, {"WSEchoRate/server=gorilla", "p50-ns"},
	} {
		if fig[i], err = sr.must(x.name, x.unit); err != nil {
			return finding{}, err
		}
	}
	ra, ga, rt, gt, rp, gp := fig[0], fig[1], fig[2], fig[3], fig[4], fig[5]
	rate := ""
	if res := sr.lookup("WSEchoRate/server=reactor"); res != nil {
		rate = " (" + strings.TrimPrefix(trimProcs(string(res.Name)), "WSEchoRate/server=reactor/") + ", 64 B messages)"
	}
	m += fmt.Sprintf("; reading one from memory (go test -bench WSFrameRead): rtlab %.0f allocs, %s, gorilla %.0f allocs, %s; echo p50 at a fixed rate over loopback%s: reactor %s, gorilla %s",
		ra, secs(rt), ga, secs(gt), rate, secs(rp/1e9), secs(gp/1e9))
	switch {
	case ga < 1 || ra > 0 || r > 0:
		return notHold(m, "the allocations: gorilla does not allocate per 1 KiB message or the zero-copy path does"), nil
	case rp < gp:
		return holds(m + " (rule: gorilla allocates per 1 KiB message, the zero-copy path does not, and the reactor's echo p50 is below gorilla's; the µs are this machine's, not the article's)"), nil
	default:
		return depends(m, "the latency: 1 malloc vs 0 holds, but the reactor's echo p50 was not below gorilla's here; over loopback the p50 is set by scheduling more than by one allocation"), nil
	}
}

//go:embed snippet.go
var snippetSrc string

// checkSnippet is C37: the unsafe conversions type-check, and the copy
// they avoid is measured.
func checkSnippet(ctx context.Context, l *lab) (finding, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "snippet.go", snippetSrc, 0)
	if err != nil {
		return notHold("", "the snippet does not parse: "+err.Error()), nil
	}
	conf := types.Config{Importer: unsafeOnly{}}
	if _, err := conf.Check("main", fset, []*ast.File{f}, nil); err != nil {
		return notHold("", "the snippet does not compile: "+err.Error()), nil
	}
	b := bytes.Repeat([]byte("k"), 1024)
	m := map[string]int{string(b): 1}
	copyAllocs := testing.AllocsPerRun(1000, func() { stringSink = string(b) })
	viewAllocs := testing.AllocsPerRun(1000, func() { stringSink = bytesToString(b) })
	lookupAllocs := testing.AllocsPerRun(1000, func() { intSink = m[string(b)] })
	backAllocs := testing.AllocsPerRun(1000, func() { byteSink = stringToBytes(stringSink) })
	if intSink+len(byteSink) == 0 {
		return finding{}, errors.New("the lookup and the conversion back returned nothing")
	}
	meas := fmt.Sprintf("cmd/rtlab/snippet.go (unsafe.String, unsafe.Slice) type-checks; keeping a 1 KiB string(b): %.0f allocs, through the snippet %.0f (and back to []byte %.0f); m[string(b)]: %.0f",
		copyAllocs, viewAllocs, backAllocs, lookupAllocs)
	if copyAllocs > 0 && viewAllocs == 0 {
		if lookupAllocs == 0 {
			return depends(meas, "the use: the snippet saves the copy of a string that is kept; in map lookups and comparisons the compiler already makes none"), nil
		}
		return holds(meas), nil
	}
	return notHold(meas, "there was no copy to avoid"), nil
}

var (
	stringSink string
	intSink    int
	byteSink   []byte
)

// unsafeOnly imports package unsafe, all the snippet needs.
type unsafeOnly struct{}

func (unsafeOnly) Import(path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	return nil, fmt.Errorf("the snippet may import only unsafe, not %q", path)
}

// threadWrites is the write system calls this thread has made
// (/proc/thread-self/io syscw; writev counts one).
func threadWrites() (uint64, error) {
	b, err := os.ReadFile("/proc/thread-self/io")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			var n uint64
			_, err := fmt.Sscan(v, &n)
			return n, err
		}
	}
	return 0, errors.New("no syscw in /proc/thread-self/io")
}

// checkWritev is C38: write system calls per message written by a
// FrameWriter on a TCP connection, counted by the kernel for this thread.
func checkWritev(ctx context.Context, l *lab) (finding, error) {
	if _, err := threadWrites(); err != nil {
		return skip("", "the kernel's per-thread write count is not readable here: "+err.Error()), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return finding{}, err
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(io.Discard, c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return finding{}, err
	}
	const msgs = 200
	payload := bytes.Repeat([]byte("p"), 1024)
	var fw wsconn.FrameWriter
	done := make(chan struct{})
	var before, after uint64
	var werr error
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if before, werr = threadWrites(); werr != nil {
			return
		}
		for i := 0; i < msgs && werr == nil; i++ {
			werr = fw.WriteMessage(c, ws.OpBinary, payload)
		}
		if werr == nil {
			after, werr = threadWrites()
		}
	}()
	<-done
	c.Close()
	wg.Wait()
	if werr != nil {
		return finding{}, werr
	}
	per := float64(after-before) / msgs
	m := fmt.Sprintf("%d messages of 1 KiB on a TCP connection: %.2f write system calls each (header and payload as two iovecs)", msgs, per)
	// Reading /proc/thread-self/io is itself a read, not a write; a write
	// that the kernel cut short would add one, hence the tolerance.
	if per <= 1.05 {
		return holds(m), nil
	}
	return notHold(m, "header and payload left in separate writes"), nil
}

// checkConns is C41.
func checkConns(ctx context.Context, l *lab) (finding, error) {
	c, err := l.connsRun(ctx)
	if err != nil {
		return finding{}, err
	}
	m := fmt.Sprintf("a reactor server in one process, clients in others: %d connections held, %d echoes, %d lost, %d corrupted, server RSS %s",
		c.res.Conns, c.res.Received, c.res.Lost, c.res.Corrupted, kib(float64(c.srv.RSS)))
	switch {
	case c.fit != "":
		m += "; " + c.fit
	case c.res.Conns < 10_000:
		m += "; --quick stops at 9000, one client process (the open-files limit is per process): run without --quick for 18000"
	}
	switch {
	case c.res.Lost > 0 || c.res.Corrupted > 0:
		return notHold(m, "echoes were lost or corrupted"), nil
	case c.res.Conns >= 12_000:
		return holds(m), nil
	case c.fit != "":
		return depends(m, fmt.Sprintf("the open-files limit: only %d fit in the server's process", c.res.Conns)), nil
	default:
		return depends(m, "the run: only 9000 tried in --quick; 12,000+ needs two client processes"), nil
	}
}
