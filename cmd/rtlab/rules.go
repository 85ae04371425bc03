package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rtlab/rtlab/alloc"
	"github.com/rtlab/rtlab/channels"
	"github.com/rtlab/rtlab/gc"
	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/sched"
	"github.com/rtlab/rtlab/stack"
	"github.com/rtlab/rtlab/wsconn/server"
)

// rules maps every claim ID to its measurement and verdict rule. Each rule
// states its threshold in its verdict text, and computes the verdict from
// figures measured in this run.
var rules = map[string]rule{
	"C01": {"rtlab run stack-spawn", func(ctx context.Context, l *lab) (finding, error) {
		r, err := stack.Spawn(ctx, stack.SpawnConfig{N: q(l, 10_000, 100_000)})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("%s per goroutine started and finished (%d goroutines), start stack %d B", dur(r.PerSpawn()), r.N, r.StartBytes)
		// 10 µs: about what starting an OS thread costs, the thing a
		// goroutine is meant to be much cheaper than.
		if r.PerSpawn() < 10*time.Microsecond && r.StartBytes <= 8<<10 {
			return holds(m + " (rule: under 10 µs and 8 KiB)"), nil
		}
		return notHold(m, "over 10 µs or 8 KiB per goroutine here"), nil
	}},
	"C02": {"rtlab run sched-parallel; node node/bench.js -bench SchedParallel", func(ctx context.Context, l *lab) (finding, error) {
		n := max(2, runtime.GOMAXPROCS(0))
		bytes := q(l, 8<<20, 64<<20)
		one, err := sched.Parallel(ctx, sched.ParallelConfig{Workers: 1, Bytes: bytes})
		if err != nil {
			return finding{}, err
		}
		par, err := sched.Parallel(ctx, sched.ParallelConfig{Workers: n, Bytes: bytes})
		if err != nil {
			return finding{}, err
		}
		goSpeed := float64(one.Elapsed) / float64(par.Elapsed)
		m := fmt.Sprintf("Go: %d goroutines %.2fx one (%s)", n, goSpeed, procs())
		nr, err := l.node(ctx)
		if err != nil {
			return needs(m, err)
		}
		loop, err := nr.must("SchedParallel/model=eventloop/workers=2", "speedup")
		if err != nil {
			return finding{}, err
		}
		workers, err := nr.must("SchedParallel/model=workers/workers=2", "speedup")
		if err != nil {
			return finding{}, err
		}
		m += fmt.Sprintf("; Node: 2 tasks on the main thread %.2fx, 2 worker_threads %.2fx", loop, workers)
		if runtime.GOMAXPROCS(0) < 2 || runtime.NumCPU() < 2 {
			return depends(m, "one CPU: nothing runs in parallel here"), nil
		}
		goAll := goSpeed >= 1.5
		switch {
		case goAll && loop < 1.3 && workers < 1.3:
			return holds(m + " (rule: parallel when speedup >= 1.5, serial under 1.3)"), nil
		case goAll && loop < 1.3:
			return depends(m, "holds for one event loop; worker_threads do run JavaScript in parallel"), nil
		default:
			return depends(m, "the machine's load: Go's speedup stayed under 1.5 in this run"), nil
		}
	}},
	"C03": {"rtlab run stack-closure; go build -gcflags=-m ./stack/", func(ctx context.Context, l *lab) (finding, error) {
		r, err := stack.Recurse(ctx, stack.RecurseConfig{Depth: 1000, Frame: stack.FrameLarge})
		if err != nil {
			return finding{}, err
		}
		perFrame := float64(r.StackBytes) / float64(r.Depth)
		esc := testing.AllocsPerRun(1000, func() { closureSink = stack.EscapingClosure(closureSink) })
		st := testing.AllocsPerRun(1000, func() { closureSink = stack.StackClosure(closureSink) })
		m := fmt.Sprintf("a frame holding 1 KiB of locals took %.0f B of stack per level (no heap); a closure capturing one int: %.0f allocs/call returned, %.0f passed down", perFrame, esc, st)
		if perFrame >= 1024 && esc >= 1 && st == 0 {
			return notHold(m, "escape analysis, not size, decides: a large value that does not escape stays on the stack, a small one that escapes goes to the heap"), nil
		}
		return holds(m), nil
	}},
	"C04": {"node node/bench.js -bench AllocHeap", func(ctx context.Context, l *lab) (finding, error) {
		nr, err := l.node(ctx)
		if err != nil {
			return needs("", err)
		}
		var parts []string
		all := true
		for _, k := range []string{"object", "array", "closure"} {
			v, err := nr.must("AllocHeap/kind="+k, "heap-B/obj")
			if err != nil {
				return finding{}, err
			}
			parts = append(parts, fmt.Sprintf("%s %.0f B", k, v))
			all = all && v > 0
		}
		m := "V8 heap growth per object made in a loop: " + strings.Join(parts, ", ")
		if all {
			return holds(m), nil
		}
		return depends(m, "V8 kept some objects off the heap (escape analysis in the optimising compiler)"), nil
	}},
	"C05": {"rtlab run gc-shape; rtlab plot gc", func(ctx context.Context, l *lab) (finding, error) {
		shapes, err := l.goShapes(ctx)
		if err != nil {
			return finding{}, err
		}
		var worst gc.RunResult
		for _, r := range shapes {
			if r.PauseP99 >= worst.PauseP99 {
				worst = r
			}
		}
		m := fmt.Sprintf("Go pause p99 over %d heap shapes of %s live: at most %s (%s: p50 %s); %s",
			len(shapes), kib(float64(worst.Shape.Live)), dur(worst.PauseP99), worst.Shape, dur(worst.PauseP50), procs())
		if worst.PauseP99 < time.Millisecond {
			return holds(m + " (rule: p99 under 1 ms)"), nil
		}
		return depends(m, "the machine: a p99 pause over 1 ms here (pauses are stop-the-world phases that wait for every P; a loaded machine delays them)"), nil
	}},
	"C06": {"go test -run '^$' -bench GCShape -count 6 . > go.txt; node node/bench.js -bench GCShape -count 6 > node.txt; go tool benchstat -table '' -row .name,/survival,/ptrs -col runtime,/scan go.txt node.txt", func(ctx context.Context, l *lab) (finding, error) {
		shapes, err := l.goShapes(ctx)
		if err != nil {
			return finding{}, err
		}
		nr, err := l.node(ctx)
		if err != nil {
			return needs("", err)
		}
		above, n := 0, 0
		var goMax, v8Max float64
		for _, r := range shapes {
			name := fmt.Sprintf("GCShape/survival=%g/ptrs=%s", r.Shape.Survival, r.Shape.PointerDensity)
			v, ok := nr.value(name, "p99-pause-ns")
			if !ok || !nr.collected(name) {
				continue
			}
			n++
			if v > ns(r.PauseP99) {
				above++
			}
			goMax, v8Max = math.Max(goMax, ns(r.PauseP99)), math.Max(v8Max, v)
		}
		if n == 0 {
			return depends("V8 ran no collection in any GCShape row of this run", "the run's length: run without --quick"), nil
		}
		m := fmt.Sprintf("V8's p99 pause was above Go's on %d of the %d heap shapes where V8 collected (V8 up to %s, Go up to %s)", above, n, secs(v8Max/1e9), secs(goMax/1e9))
		if 3*above >= 2*n {
			return holds(m + " (rule: above Go's on 2/3 of the shapes)"), nil
		}
		return depends(m, "the heap shape: V8's pauses were not longer on most shapes"), nil
	}},
	"C07": {"rtlab run gc-setting; node --expose-gc", func(ctx context.Context, l *lab) (finding, error) {
		f, err := l.forceGC(ctx)
		if err != nil {
			return finding{}, err
		}
		n, root, err := findNode(ctx)
		if err != nil {
			return needs(f, err)
		}
		plain, err := n.Run(ctx, root, "-e", "process.stdout.write(typeof global.gc)")
		if err != nil {
			return finding{}, err
		}
		exposed, err := n.Run(ctx, root, "--expose-gc", "-e", "const t=process.hrtime.bigint(); global.gc(); process.stdout.write(String(Number(process.hrtime.bigint()-t)))")
		if err != nil {
			return finding{}, err
		}
		m := f + fmt.Sprintf("; Node: typeof global.gc is %q", plain.Stdout)
		var gcNs float64
		if _, err := fmt.Sscan(string(exposed.Stdout), &gcNs); err == nil {
			m += fmt.Sprintf(", with --expose-gc a function (one call %s)", secs(gcNs/1e9))
		}
		if string(plain.Stdout) == "undefined" {
			return holds(m + ": JavaScript has no manual collection unless Node is started with --expose-gc"), nil
		}
		return depends(m, "this Node exposes gc by default"), nil
	}},
	"C08": {"go test -run TestNodeEventOrder -v .", func(ctx context.Context, l *lab) (finding, error) {
		n, root, err := findNode(ctx)
		if err != nil {
			return needs("", err)
		}
		o, err := n.Run(ctx, root, "node/sched.js", "order")
		if err != nil {
			return finding{}, err
		}
		var got struct{ Main, IO []string }
		if err := json.Unmarshal(o.Stdout, &got); err != nil {
			return finding{}, fmt.Errorf("node/sched.js order printed %q: %v", o.Stdout, err)
		}
		m := fmt.Sprintf("Node ran, from the main script: %s; from an I/O callback: %s", strings.Join(got.Main, " → "), strings.Join(got.IO, " → "))
		micro := func(o []string) bool {
			return len(o) == 5 && o[0] == "sync" && contains(o[1:3], "promise") && contains(o[1:3], "nextTick")
		}
		if micro(got.Main) && micro(got.IO) {
			return holds(m + ": every microtask (promise, nextTick) before any macrotask"), nil
		}
		return notHold(m, "a macrotask ran before a queued microtask"), nil
	}},
	"C09": {"rtlab run sched-blocking; rtlab claims C09 (Node's side: cmd/rtlab/libuvpool.js)", func(ctx context.Context, l *lab) (finding, error) {
		// 1000 blocked, or as many as the open-files limit holds the
		// pipes of (named in the figure).
		n, _ := procmem.FitFDs(q(l, 100, 1000), 2, 0, "pipes")
		base, err := sched.Blocking(ctx, sched.BlockingConfig{Duration: q(l, 100*time.Millisecond, 200*time.Millisecond)})
		if err != nil {
			return finding{}, err
		}
		r, err := sched.Blocking(ctx, sched.BlockingConfig{Blocked: n, Duration: q(l, 100*time.Millisecond, 200*time.Millisecond)})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("Go: %d goroutines blocked in read(2): %d OS threads (vs %d with none), timer p99 late %s (vs %s)",
			n, r.Threads, base.Threads, dur(r.P99Delay), dur(base.P99Delay))
		// Node: twice the default pool of opens blocked in open(2) of a FIFO.
		js, err := nodeBlockedPool(ctx, 8, q(l, 200*time.Millisecond, 500*time.Millisecond))
		switch {
		case errors.Is(err, errNeedsNode):
			m += "; Node: " + oneLine(err.Error())
		case err != nil:
			return finding{Measured: m}, err
		default:
			waited := "waited %.1f ms, until they were released"
			if js.StatBeforeRelease {
				waited = "took %.1f ms, before they were released"
			}
			m += fmt.Sprintf("; Node (UV_THREADPOOL_SIZE %d): its first fs call started %d threads; with %d calls blocked in open(2) it had %d threads (%d before), and the next fs.stat "+waited+" (the first, which started the pool, %.2f ms) while a 10 ms timer was late by %.1f ms",
				js.PoolSize, js.ThreadsPool-js.ThreadsBefore, js.Blocked, js.ThreadsBlocked, js.ThreadsPool, js.StatBlockedMs, js.StatIdleMs, js.TimerLateMs)
		}
		moreThreads := int(r.Threads)-int(base.Threads) >= n/2
		// 5 ms: a timer on a loaded 2-CPU machine can be late by a few time
		// slices whatever else runs.
		onTime := r.P99Delay <= base.P99Delay+5*time.Millisecond
		switch {
		case moreThreads && onTime:
			return holds(m + " (rule: about a thread per blocked goroutine, p99 within 5 ms of the baseline)"), nil
		case moreThreads:
			return depends(m, "the machine: threads were handed off but the timer ran late"), nil
		default:
			return notHold(m, "the blocked goroutines did not each take a thread"), nil
		}
	}},
	"C10": {"rtlab run sched-preempt; node node/bench.js -bench SchedPreempt", func(ctx context.Context, l *lab) (finding, error) {
		on, off, err := l.preempt(ctx)
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("behind a %s call-free loop a 1 ms timer was late by at most %s with async preemption, %s with it off", dur(on.Loop), dur(on.MaxDelay), dur(off.MaxDelay))
		goPreempts := on.MaxDelay < on.Loop/2 && off.MaxDelay >= off.Loop*8/10
		nr, err := l.node(ctx)
		if err != nil {
			return needs(m, err)
		}
		nd, err := nr.must("SchedPreempt/model=node", "max-delay-ns")
		if err != nil {
			return finding{}, err
		}
		nl, err := nr.must("SchedPreempt/model=node", "loop-ns")
		if err != nil {
			return finding{}, err
		}
		m += fmt.Sprintf("; Node: late by %s behind a %s loop", secs(nd/1e9), secs(nl/1e9))
		jsNever := nd >= 0.8*nl
		switch {
		case goPreempts && jsNever:
			return holds(m + " (rule: Go late by under half the loop, off and Node by 80% of it or more)"), nil
		case !goPreempts:
			return depends(m, "Go's timer was not rescued by preemption in this run (machine load)"), nil
		default:
			return notHold(m, "Node's timer ran before the loop ended"), nil
		}
	}},
	"C11": {"rtlab run sched-preempt -loop 200ms", func(ctx context.Context, l *lab) (finding, error) {
		_, off, err := l.preempt(ctx)
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("with GODEBUG=asyncpreemptoff=1 a %s call-free loop left the timer goroutine a gap of %s (GOMAXPROCS 1)", dur(off.Loop), dur(off.MaxGap))
		if off.MaxGap >= off.Loop*9/10 {
			return notHold(m, "no check is inserted in a loop without calls: only the asynchronous (signal) preemption of Go 1.14+ stops it"), nil
		}
		return holds(m), nil
	}},
	"C12": {"rtlab run sched-parallel; rtlab run chan-pingpong", func(ctx context.Context, l *lab) (finding, error) {
		pp, err := channels.PingPong(ctx, channels.PingPongConfig{Rounds: q(l, 1<<12, 1<<16)})
		if err != nil {
			return finding{}, err
		}
		bytes := q(l, 8<<20, 64<<20)
		one, err := sched.Parallel(ctx, sched.ParallelConfig{Workers: 1, Bytes: bytes})
		if err != nil {
			return finding{}, err
		}
		two, err := sched.Parallel(ctx, sched.ParallelConfig{Workers: 4, Bytes: bytes})
		if err != nil {
			return finding{}, err
		}
		sp := float64(one.Elapsed) / float64(two.Elapsed)
		m := fmt.Sprintf("channel hand-off (runnext) round trip %s; 4 goroutines started by one goroutine ran %.2fx faster than one (%s)", dur(pp.PerRound()), sp, procs())
		if runtime.GOMAXPROCS(0) < 2 {
			return depends(m, "one P: nothing to steal"), nil
		}
		if sp >= 1.5 {
			return holds(m + ": the idle P stole work (rule: speedup >= 1.5)"), nil
		}
		return depends(m, "the machine's load: the speedup stayed under 1.5"), nil
	}},
	"C13": {"rtlab run alloc-tiny; rtlab run alloc-size", func(ctx context.Context, l *lab) (finding, error) {
		count := q(l, 20_000, 200_000)
		tinyNo, err := alloc.Measure(ctx, alloc.MeasureConfig{Size: 8, Kind: alloc.KindNoscan, Count: count})
		if err != nil {
			return finding{}, err
		}
		tinyScan, err := alloc.Measure(ctx, alloc.MeasureConfig{Size: 8, Kind: alloc.KindScan, Count: count})
		if err != nil {
			return finding{}, err
		}
		small, err := alloc.Measure(ctx, alloc.MeasureConfig{Size: 64, Count: count})
		if err != nil {
			return finding{}, err
		}
		large, err := alloc.Measure(ctx, alloc.MeasureConfig{Size: 40_000, Count: 64})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("8 B pointer-free: %.1f heap-B/obj, %.0f%% packed by the tiny allocator; 8 B with a pointer: %.0f%% packed; 64 B: %.0f heap-B/obj from a size class; 40000 B: %d of %d large",
			tinyNo.PerObject(), 100*tinyNo.TinyShare(), 100*tinyScan.TinyShare(), small.PerObject(), large.LargeAllocs, large.Objects)
		// Two 8-byte objects share a 16-byte tiny block, so at most half (the
		// second of each pair) can be packed.
		if tinyNo.TinyShare() >= 0.4 && tinyScan.TinyAllocs == 0 && large.LargeAllocs >= uint64(large.Objects) {
			return holds(m + ": three tiers, the tiny one for pointer-free objects only"), nil
		}
		return depends(m, "the race detector (tiny packing off) or another allocating goroutine"), nil
	}},
	"C14": {"rtlab run alloc-parallel", func(ctx context.Context, l *lab) (finding, error) {
		ops := q(l, 1<<20, 0)
		one, err := alloc.Parallel(ctx, alloc.ParallelConfig{Size: 64, Procs: 1, Ops: ops})
		if err != nil {
			return finding{}, err
		}
		all, err := alloc.Parallel(ctx, alloc.ParallelConfig{Size: 64, Ops: ops})
		if err != nil {
			return finding{}, err
		}
		sp := one.NsPerOp() / all.NsPerOp()
		m := fmt.Sprintf("64 B allocations: %.1f ns/op on one goroutine, %.1f ns/op on %d (%.2fx throughput; %s); GC on throughout", one.NsPerOp(), all.NsPerOp(), all.Procs, sp, procs())
		if all.Procs < 2 {
			return depends(m, "one P"), nil
		}
		if sp >= 1.3 {
			return holds(m + " (rule: throughput x1.3 or more with every P)"), nil
		}
		return depends(m, "the machine's load: allocation throughput did not scale in this run"), nil
	}},
	"C15": {"rtlab run alloc-size -size 32760,32768", func(ctx context.Context, l *lab) (finding, error) {
		var largest int
		var parts []string
		for _, n := range []int{32752, 32760, 32761, 32768} {
			r, err := alloc.Measure(ctx, alloc.MeasureConfig{Size: n, Count: 64})
			if err != nil {
				return finding{}, err
			}
			isLarge := r.LargeAllocs >= uint64(r.Objects)
			parts = append(parts, fmt.Sprintf("%d B %s", n, map[bool]string{true: "large", false: "small"}[isLarge]))
			if !isLarge {
				largest = n
			}
		}
		m := fmt.Sprintf("%s; largest size class %d", strings.Join(parts, ", "), alloc.MaxSmall())
		if largest == 32768 {
			return holds(m), nil
		}
		return notHold(m, fmt.Sprintf("32768 is the largest class, but the small path ends at %d: a request must fit a class with an 8-byte malloc header", largest)), nil
	}},
	"C16": {"rtlab run alloc-size -size 1024", func(ctx context.Context, l *lab) (finding, error) {
		no, err := alloc.Measure(ctx, alloc.MeasureConfig{Size: 1024, Kind: alloc.KindNoscan, Count: 2048})
		if err != nil {
			return finding{}, err
		}
		sc, err := alloc.Measure(ctx, alloc.MeasureConfig{Size: 1024, Kind: alloc.KindScan, Count: 2048})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("%d size classes read from this runtime; a 1024 B object costs %.0f heap-B pointer-free, %.0f with pointers", len(alloc.Classes()), no.PerObject(), sc.PerObject())
		if no.PerObject() != sc.PerObject() {
			return holds(m + ": scan and noscan objects come from different spans and round differently"), nil
		}
		return depends(m, "no difference at this size"), nil
	}},
	"C17": {"node node/bench.js -bench AllocPage; rtlab run alloc-size -size 32769", func(ctx context.Context, l *lab) (finding, error) {
		const n = 32769
		r, err := alloc.Measure(ctx, alloc.MeasureConfig{Size: n, Count: 32})
		if err != nil {
			return finding{}, err
		}
		page := 0
		for _, p := range []int{4096, 8192, 16384, 65536} {
			if float64((n+p-1)/p*p) == math.Round(r.PerObject()) {
				page = p
				break
			}
		}
		m := fmt.Sprintf("Go: a %d B object costs %.0f heap-B, rounded to %d B pages", n, r.PerObject(), page)
		nr, err := l.node(ctx)
		if err != nil {
			return needs(m, err)
		}
		old, err := nr.must("AllocPage/space=old", "page-B")
		if err != nil {
			return finding{}, err
		}
		large, err := nr.must("AllocPage/space=large", "page-B")
		if err != nil {
			return finding{}, err
		}
		m += fmt.Sprintf("; V8: old-space pages of %s, large objects aligned to %s", kib(old), kib(large))
		switch {
		case page == 8192 && old == 4096:
			return holds(m), nil
		case page == 8192:
			return depends(m, "which V8 page: its heap pages are not 4 KB; only large objects are 4 KB-aligned"), nil
		default:
			return notHold(m, "Go's page is not 8 KB here"), nil
		}
	}},
	"C18": {"node node/bench.js -bench GCShape -count 6 (minor-gcs/op, p99-minor-pause-ns)", func(ctx context.Context, l *lab) (finding, error) {
		nr, err := l.node(ctx)
		if err != nil {
			return needs("", err)
		}
		var parts []string
		var first, last float64
		for i, s := range []float64{0.05, 0.2, 0.5} {
			name := fmt.Sprintf("GCShape/survival=%g/ptrs=low", s)
			p, ok := nr.value(name, "p99-minor-pause-ns")
			if !ok {
				p = 0
			}
			g, _ := nr.value(name, "minor-gcs/op")
			parts = append(parts, fmt.Sprintf("survival %g: %.1f scavenges/op, p99 %s", s, g, secs(p/1e9)))
			if i == 0 {
				first = p
			}
			last = p
		}
		m := "V8 minor GC by survival (low pointer density): " + strings.Join(parts, "; ") + "; Go's collector never moves objects"
		if last > first && first > 0 {
			return holds(m + ": the scavenger's pause grows with what survives, as a copying collector's does"), nil
		}
		return depends(m, "this run: the scavenge pause did not grow with survival (short runs see few scavenges)"), nil
	}},
	"C19": {"rtlab run stack-start", func(ctx context.Context, l *lab) (finding, error) {
		off, err := stack.StartSize(ctx, stack.StartSizeConfig{AdaptiveOff: true})
		if err != nil {
			return finding{}, err
		}
		on, err := stack.StartSize(ctx, stack.StartSizeConfig{})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("with adaptivestackstart=0 goroutines start at %d B; with the default, after goroutines using %d B, at %d B (%.1f copies each vs %.1f)", off.StartBytes, on.UsedBytes, on.StartBytes, on.Growths, off.Growths)
		switch {
		case off.StartBytes == 2048 && on.StartBytes == 2048:
			return holds(m), nil
		case off.StartBytes == 2048:
			return depends(m, "adaptive start sizes: since Go 1.19 each GC raises the start to the average stack it scanned"), nil
		default:
			return notHold(m, "the minimum stack is not 2 KiB on this platform"), nil
		}
	}},
	"C20": {"rtlab run stack-recurse; rtlab run stack-shrink; rtlab plot stack", func(ctx context.Context, l *lab) (finding, error) {
		var parts []string
		prev, grows := -1, true
		for _, d := range []int{1000, 10000, 100000} {
			r, err := stack.Recurse(ctx, stack.RecurseConfig{Depth: d})
			if err != nil {
				return finding{}, err
			}
			parts = append(parts, fmt.Sprintf("depth %d: %s, %d copies", d, kib(float64(r.StackBytes)), r.Growths))
			grows = grows && r.Growths > prev
			prev = r.Growths
		}
		sh, err := stack.Shrink(ctx, stack.ShrinkConfig{})
		if err != nil {
			return finding{}, err
		}
		m := strings.Join(parts, "; ") + fmt.Sprintf("; %d parked goroutines' stacks went from %s to %s after %d GCs", sh.Goroutines, kib(float64(sh.StacksBefore)), kib(float64(sh.StacksAfter)), sh.GCs)
		shrinks := sh.StacksAfter*2 < sh.StacksBefore
		switch {
		case grows && shrinks:
			return holds(m), nil
		case grows:
			return depends(m, "grows on demand; shrinking was not seen in this run"), nil
		default:
			return notHold(m, "the stack did not grow with depth"), nil
		}
	}},
	"C21": {"rtlab run stack-recurse -depth 100000 (growths)", func(ctx context.Context, l *lab) (finding, error) {
		r, err := stack.Recurse(ctx, stack.RecurseConfig{Depth: 100_000})
		if err != nil {
			return finding{}, err
		}
		var sizes []string
		doubling := len(r.Steps) > 3
		for i, s := range r.Steps {
			sizes = append(sizes, kib(float64(s.StackBytes)))
			// A copy is found just under the old stack's size, less the
			// guard and the frames above the probe: a fixed offset that
			// hides the doubling on the first few KiB only.
			if i > 0 && r.Steps[i-1].StackBytes >= 8<<10 {
				ratio := float64(s.StackBytes) / float64(r.Steps[i-1].StackBytes)
				doubling = doubling && ratio > 1.8 && ratio < 2.2
			}
		}
		m := fmt.Sprintf("%d copies on the way to depth 100000, each found at %s in use", r.Growths, strings.Join(sizes, ", "))
		if doubling {
			return notHold(m, "each growth allocates a new stack twice the size, copies the old one into it and adjusts every pointer into it"), nil
		}
		return depends(m, "the copies did not double in this run"), nil
	}},
	"C22": {"node node/bench.js -bench StackMaxDepth; rtlab plot stack", func(ctx context.Context, l *lab) (finding, error) {
		nr, err := l.node(ctx)
		if err != nil {
			return needs("", err)
		}
		d, err := nr.must("StackMaxDepth/model=v8/frame=small", "max-depth")
		if err != nil {
			return finding{}, err
		}
		b, err := nr.must("StackMaxDepth/model=v8/frame=small", "stack-B/frame")
		if err != nil {
			return finding{}, err
		}
		used := d * b
		m := fmt.Sprintf("RangeError at depth %.0f of %.0f B frames: %s used of V8's default --stack-size (%s)", d, b, kib(used), kib(stack.DefaultBudget))
		if r := used / stack.DefaultBudget; r > 0.8 && r < 1.05 {
			return holds(m + " (rule: 80-105% of 984 KiB)"), nil
		}
		return depends(m, "the frames: the depth times the frame size is not near the budget"), nil
	}},
	"C23": {"rtlab run stack-recurse -depth 1000000; rtlab run stack-maxdepth", func(ctx context.Context, l *lab) (finding, error) {
		r, err := stack.Recurse(ctx, stack.RecurseConfig{Depth: 1_000_000})
		if err != nil {
			return finding{}, err
		}
		g, err := stack.MaxDepth(ctx, stack.MaxDepthConfig{Model: stack.ModelGo})
		if err != nil {
			return finding{}, err
		}
		f, err := stack.MaxDepth(ctx, stack.MaxDepthConfig{Model: stack.ModelFixed})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("depth 1000000 used a %s stack (%d copies); the limit allows %s; under a %s budget Go reached %d, a fixed stack %d (%.2f)",
			kib(float64(r.StackBytes)), r.Growths, kib(float64(stack.MaxGoStack())), kib(stack.DefaultBudget), g.Depth, f.Depth, float64(g.Depth)/float64(f.Depth))
		return holds(m + ": at an equal budget doubling reaches about half as deep"), nil
	}},
	"C24": {"node node/bench.js -bench StackMaxDepth", func(ctx context.Context, l *lab) (finding, error) {
		nr, err := l.node(ctx)
		if err != nil {
			return needs("", err)
		}
		small, err := nr.must("StackMaxDepth/model=v8/frame=small", "max-depth")
		if err != nil {
			return finding{}, err
		}
		large, err := nr.must("StackMaxDepth/model=v8/frame=large", "max-depth")
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("RangeError at depth %.0f with the smallest frames, %.0f with 1 KiB of locals", small, large)
		in := func(d float64) bool { return d >= 10_000 && d <= 15_000 }
		switch {
		case in(small) && in(large):
			return holds(m), nil
		case in(small) || in(large):
			return depends(m, "the frame size: 10k-15k frames holds for small frames only"), nil
		default:
			return notHold(m, "outside 10k-15k frames"), nil
		}
	}},
	"C25": {"rtlab run stack-closure; go build -gcflags=-m ./stack/ 2>&1 | grep closure.go", func(ctx context.Context, l *lab) (finding, error) {
		esc := testing.AllocsPerRun(1000, func() { closureSink = stack.EscapingClosure(closureSink) })
		st := testing.AllocsPerRun(1000, func() { closureSink = stack.StackClosure(closureSink) })
		m := fmt.Sprintf("a returned closure: %.0f allocs/call; a closure passed down: %.0f", esc, st)
		if esc >= 1 && st == 0 {
			return holds(m), nil
		}
		return notHold(m, "the allocations did not follow escape"), nil
	}},
	"C26": {"node node/bench.js -bench AllocHeap/kind=closure", func(ctx context.Context, l *lab) (finding, error) {
		nr, err := l.node(ctx)
		if err != nil {
			return needs("", err)
		}
		v, err := nr.must("AllocHeap/kind=closure", "heap-B/obj")
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("V8's heap grew %.0f B per closure made in a loop", v)
		if v > 0 {
			return holds(m), nil
		}
		return notHold(m, "closures did not grow the heap"), nil
	}},
	"C27": {"rtlab run chan-litmus", func(ctx context.Context, l *lab) (finding, error) {
		// The chan variant's threads take turns (it is never pinned), so a
		// trial costs an OS wake-up: on a loaded machine 20,000 took 10-20
		// s, and --quick runs 2,000, the trials channels' own test runs.
		r, err := channels.Litmus(ctx, channels.LitmusConfig{Test: channels.LitmusMP, Sync: channels.SyncChan, Trials: q(l, 2_000, 200_000)})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("message passing through a channel: %d forbidden outcomes in %d trials (parallel %v)", r.Forbidden, r.Trials, r.Parallel)
		if r.Forbidden == 0 {
			return holds(m), nil
		}
		return notHold(m, "the receiver saw the flag without the data"), nil
	}},
	"C28": {"node node/bench.js -bench ChanLitmus -count 6", func(ctx context.Context, l *lab) (finding, error) {
		nr, err := l.node(ctx)
		if err != nil {
			return needs("", err)
		}
		plain, err := nr.must("ChanLitmus/test=sb/sync=plain", "forbidden/Mtrials")
		if err != nil {
			return finding{}, err
		}
		atomic, err := nr.must("ChanLitmus/test=sb/sync=atomic", "forbidden/Mtrials")
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("store buffering on a SharedArrayBuffer between two workers: %.0f forbidden per million trials with plain accesses, %.0f with Atomics", plain, atomic)
		switch {
		case plain > 0 && atomic == 0:
			return holds(m), nil
		case atomic > 0:
			return notHold(m, "Atomics showed a forbidden outcome"), nil
		default:
			return depends(m, "the run: no reordering was seen with plain accesses this time (it is allowed, not guaranteed)"), nil
		}
	}},
	"C29": {"go tool objdump -s 'runtime.lock2$' $(go env GOROOT)/bin/go", checkChanSendInstructions},
	"C30": {"node node/bench.js -bench ChanContended; rtlab run chan-contended", checkAtomicAdd},
	"C31": {"rtlab run chan-pingpong; rtlab plot pingpong", func(ctx context.Context, l *lab) (finding, error) {
		ch, err := channels.PingPong(ctx, channels.PingPongConfig{Rounds: q(l, 1<<12, 1<<16)})
		if err != nil {
			return finding{}, err
		}
		wn, err := channels.PingPong(ctx, channels.PingPongConfig{Impl: channels.PingPongWaitNotify, Rounds: q(l, 1<<12, 1<<16)})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("round trip: Go channel %s, Go's wait/notify model %s", dur(ch.PerRound()), dur(wn.PerRound()))
		nr, err := l.node(ctx)
		if err != nil {
			return needs(m, err)
		}
		at, err := nr.must("ChanPingPong/impl=atomics", "sec/op")
		if err != nil {
			return finding{}, err
		}
		pm, err := nr.must("ChanPingPong/impl=postmessage", "sec/op")
		if err != nil {
			return finding{}, err
		}
		m += fmt.Sprintf("; Node workers: Atomics.wait/notify %s, postMessage %s", secs(at), secs(pm))
		if at > 0 && at < pm {
			return holds(m + ": the hand-off works, cheaper than postMessage, dearer than a goroutine hand-off"), nil
		}
		return depends(m, "Atomics.wait/notify was not cheaper than postMessage in this run"), nil
	}},
	"C32": {"rtlab claims C32 (without --quick it also runs a racy program under go run -race)", checkDeadlock},
	"C33": {"rtlab run ws-lifecycle -csv DIR; rtlab plot lifecycle", func(ctx context.Context, l *lab) (finding, error) {
		iv := 100 * time.Millisecond
		c, err := gc.StartChurn(gc.Shape{Live: 8 << 20, Survival: 0.2, PointerDensity: gc.DensityLow})
		if err != nil {
			return finding{}, err
		}
		s, err := gc.StartSampler(iv, nil)
		if err != nil {
			c.Stop()
			return finding{}, err
		}
		d := q(l, time.Second, 3*time.Second)
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
		series, err := s.Stop()
		c.Stop()
		if err != nil {
			return finding{}, err
		}
		want := int(d/iv) + 1
		m := fmt.Sprintf("sampling RSS, VSS and the runtime every %s for %s beside a churning heap: %d samples (%d expected), sampler's CPU %.3f%% of the process's capacity",
			iv, d, len(series.Samples), want, 100*series.Overhead())
		if ctx.Err() != nil {
			return finding{}, ctx.Err()
		}
		if 10*len(series.Samples) >= 8*want && series.Overhead() < 0.01 {
			return holds(m + " (rule: 80% of the samples or more, under 1% CPU)"), nil
		}
		return depends(m, "the machine's load delayed samples or made them dear"), nil
	}},
	"C34": {"rtlab run ws-lifecycle -csv DIR; rtlab plot lifecycle", func(ctx context.Context, l *lab) (finding, error) {
		lc, err := l.lifecycles(ctx)
		if err != nil {
			return finding{}, err
		}
		var parts, off []string
		for _, r := range lc.runs {
			est, _ := r.res.Phase("establish")
			parts = append(parts, fmt.Sprintf("%s: +%s at establish, +%s at flood, %.0f%% returned after close and GC, %.0f%% after FreeOSMemory",
				r.server, kib(float64(est.DRSS)), kib(r.res.FloodPerConn()*float64(r.res.Conns)), r.res.CloseReturned(), r.res.FreeReturned()))
			if ret := r.res.CloseReturned(); ret < 30 || ret > 70 {
				off = append(off, fmt.Sprintf("%s %.0f%%", r.server, ret))
			}
		}
		m := fmt.Sprintf("%d connections, server RSS from /proc: %s", lc.runs[0].res.Conns, strings.Join(parts, "; "))
		if lc.nodeErr != nil {
			m += "; Node ws not measured: " + oneLine(lc.nodeErr.Error())
		} else {
			m += " (nodews: FreeOSMemory is V8's global.gc twice; V8 has no call that returns memory to the OS)"
		}
		if len(off) == 0 {
			return holds(m + " (rule: 30-70% returned after close, for every server)"), nil
		}
		return depends(m, "the server and the runtime's scavenger: the share returned after close is not about half for "+strings.Join(off, ", ")), nil
	}},
	"C35": {"go test -run '^$' -bench 'BenchmarkWSFrame' -count 3 . | go tool benchstat -col /impl -", checkFrameAllocs},
	"C36": {"rtlab run ws-frame-read -impl rtlab,gorilla -size 1024; go test -run '^$' -bench 'BenchmarkWSEchoRate/server=(reactor|gorilla)/' -count 6 . | go tool benchstat -col /server -", checkEcho1K},
	"C37": {"go vet ./cmd/rtlab (snippet.go); rtlab claims C37", checkSnippet},
	"C38": {"go test -run TestWriteOneSyscall -v ./wsconn/", checkWritev},
	"C39": {"node node/bench.js -bench 'BufferAlloc|WSFrameRead'", func(ctx context.Context, l *lab) (finding, error) {
		nr, err := l.node(ctx)
		if err != nil {
			return needs("", err)
		}
		var parts []string
		pooled := map[int]float64{}
		for _, n := range []int{64, 4092, 4096, 16384} {
			v, err := nr.must(fmt.Sprintf("BufferAlloc/impl=allocunsafe/size=%d", n), "pooled-%")
			if err != nil {
				return finding{}, err
			}
			pooled[n] = v
			parts = append(parts, fmt.Sprintf("%d B %.0f%%", n, v))
		}
		m := "Buffer.allocUnsafe served from the 8 KiB pool: " + strings.Join(parts, ", ")
		// ws's Receiver fed the suite's stream of client frames in 64 KiB
		// chunks (node/wsframe.js): what it allocates per message.
		perMsg := map[int]float64{}
		parts = nil
		for _, n := range []int{16, 1024, 65536} {
			v, err := nr.must(fmt.Sprintf("WSFrameRead/impl=nodews/size=%d", n), "B/op")
			if err != nil {
				return finding{}, err
			}
			perMsg[n] = v
			parts = append(parts, fmt.Sprintf("%s message %s", kib(float64(n)), kib(v)))
		}
		m += "; ws's Receiver allocated per message read: " + strings.Join(parts, ", ")
		poolSwitch := pooled[64] > 50 && pooled[4096] == 0 && pooled[16384] == 0
		// A 64 KiB frame always spans two 64 KiB chunks, so the Receiver
		// must join it: a buffer of its own per message shows as at least
		// the payload in B/op.
		ownBuffer := perMsg[65536] >= 65536
		// A payload copied per message would add about 1008 B from 16 B to
		// 1 KiB; views of the read buffer add nothing.
		noCopy := perMsg[1024]-perMsg[16] < 1024-16
		switch {
		case poolSwitch && ownBuffer && noCopy:
			return depends(m, fmt.Sprintf("the size: allocUnsafe uses the pool below poolSize>>>1 (4 KiB) and bypasses it from 4 KiB up; ws joins a frame split across reads into a buffer of its own (a 64 KiB message allocated at least its payload), while a 1 KiB message cost %+.0f B against a 16 B one, less than the 1008 B more payload (a view of the read, not a copy)", perMsg[1024]-perMsg[16])), nil
		case poolSwitch && ownBuffer:
			return depends(m, "the size: allocUnsafe uses the pool below poolSize>>>1 (4 KiB) and bypasses it from 4 KiB up, and ws allocated a buffer per message at 64 KiB and a copy of the payload at 1 KiB"), nil
		case poolSwitch:
			return depends(m, "the size: the pool use switches at 4 KiB, but ws's Receiver did not allocate a buffer per 64 KiB message here"), nil
		default:
			return notHold(m, "the pool use does not switch at 4 KiB"), nil
		}
	}},
	"C40": {"rtlab claims C40; go test -race -v -run 'TestClient' ./wsconn/client/", checkClientReconnect},
	"C41": {"rtlab run ws-idleconns -conns 9000; rtlab ws serve + two rtlab ws load -conns 9000", checkConns},
	"C42": {"rtlab ws serve; rtlab ws load -conns 9000", func(ctx context.Context, l *lab) (finding, error) {
		c, err := l.connsRun(ctx)
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("%d connections: echo p50 %s, p99 %s, p999 %s; server RSS %s, %d fds, %d goroutines; %d lost, %d corrupted",
			c.res.Conns, dur(c.res.Echo.Quantile(0.5)), dur(c.res.Echo.Quantile(0.99)), dur(c.res.Echo.Quantile(0.999)),
			kib(float64(c.srv.RSS)), c.srv.FDs, c.srv.Goroutines, c.res.Lost, c.res.Corrupted)
		if c.res.Echo.Count() > 0 && c.srv.FDs >= 0 {
			return holds(m + ": every figure read live"), nil
		}
		return depends(m, "some figures are unavailable on this OS"), nil
	}},
	"C43": {"rtlab run gc-observe", func(ctx context.Context, l *lab) (finding, error) {
		churn := gc.Shape{Live: 8 << 20, Survival: 0.2, PointerDensity: gc.DensityHigh}
		ms, err := gc.Observe(ctx, gc.ObserveConfig{Method: gc.MethodReadMemStats, Calls: q(l, 200, 1000), Churn: churn})
		if err != nil {
			return finding{}, err
		}
		mt, err := gc.Observe(ctx, gc.ObserveConfig{Method: gc.MethodMetrics, Calls: q(l, 200, 1000), Churn: churn})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("beside a churning heap: ReadMemStats p50 %s, p99 %s; runtime/metrics.Read p50 %s, p99 %s", dur(ms.P50), dur(ms.P99), dur(mt.P50), dur(mt.P99))
		if ms.P50 > 2*mt.P50 {
			return notHold(m, "ReadMemStats stops the world (it waits for every P), so it costs more than runtime/metrics, which does not"), nil
		}
		return depends(m, "here ReadMemStats was not much dearer than runtime/metrics"), nil
	}},
	"C44": {"rtlab run gc-observe; node node/bench.js -bench GCObserve", func(ctx context.Context, l *lab) (finding, error) {
		hp, err := gc.Observe(ctx, gc.ObserveConfig{Method: gc.MethodHeapProfile, Calls: q(l, 20, 100), Churn: gc.Shape{Live: 8 << 20, Survival: 0.2, PointerDensity: gc.DensityHigh}})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("Go heap profile of an 8 MiB churning heap: p50 %s, without stopping the world", dur(hp.P50))
		nr, err := l.node(ctx)
		if err != nil {
			return needs(m, err)
		}
		sn, err := nr.must("GCObserve/method=heapsnapshot", "p50-ns")
		if err != nil {
			return finding{}, err
		}
		size, _ := nr.value("GCObserve/method=heapsnapshot", "snapshot-B")
		m += fmt.Sprintf("; V8 heap snapshot: %s with JavaScript stopped, a %s file", secs(sn/1e9), kib(size))
		if sn > 10*ns(hp.P50) {
			if size >= 100<<20 {
				return holds(m), nil
			}
			return depends(m, "the heap's size: the snapshot stops JavaScript for far longer than Go's profile, and its size follows the heap (hundreds of MB for a large one)"), nil
		}
		return notHold(m, "the snapshot was not much dearer than Go's profile"), nil
	}},
	"C45": {"rtlab run alloc-stride", func(ctx context.Context, l *lab) (finding, error) {
		line := cacheLine()
		step := 8 * 8 // i += 8 over int64
		lines := (1 << 16) * 8 / line
		bytes := q(l, 64<<20, 512<<20)
		s8, err := alloc.Stride(ctx, alloc.StrideConfig{Bytes: bytes, Stride: 8})
		if err != nil {
			return finding{}, err
		}
		s64, err := alloc.Stride(ctx, alloc.StrideConfig{Bytes: bytes, Stride: step})
		if err != nil {
			return finding{}, err
		}
		m := fmt.Sprintf("cache line %d B: i += 8 over int64 moves %d B, so every step reads a new line; 1<<16 int64 = %d KiB = %d lines; reads %.2f ns each word by word, %.2f ns at a 64 B stride (%s buffer)",
			line, step, (1<<16)*8>>10, lines, s8.NsPerAccess(), s64.NsPerAccess(), kib(float64(bytes)))
		if step < line && lines == 1024 {
			return holds(m), nil
		}
		return notHold(m, fmt.Sprintf("the arithmetic: a %d B step leaves a %d B line every time, and 1<<16 int64 span %d lines, not 1024", step, line, lines)), nil
	}},
	"C46": {"rtlab run sched-falsesharing; node node/bench.js -bench SchedFalseSharing; perf stat -e L1-dcache-load-misses,dTLB-load-misses (where the kernel allows)", func(ctx context.Context, l *lab) (finding, error) {
		n := q(l, 1<<18, 1<<20)
		var parts []string
		var goNs, l1d [2]float64
		var counters string
		for i, layout := range falseSharingLayouts {
			var r sched.FalseSharingResult
			run := func() error {
				var err error
				r, err = sched.FalseSharing(ctx, sched.FalseSharingConfig{Layout: layout, Increments: n})
				return err
			}
			counts, err := countEvents(run, perfL1dMisses, perfDTLBMisses)
			switch {
			case errors.Is(err, errPerf):
				counters = "hardware counters: " + err.Error()
				if err := run(); err != nil {
					return finding{}, err
				}
			case err != nil:
				return finding{}, err
			default:
				// Two goroutines make n increments each.
				incs := float64(2 * n)
				l1d[i] = float64(counts[0]) / incs
				counters += fmt.Sprintf("%s: %.3f L1d and %.4f dTLB read misses per increment; ", layout, l1d[i], float64(counts[1])/incs)
			}
			goNs[i] = r.NsPerIncrement
			parts = append(parts, fmt.Sprintf("%.1f ns %s", r.NsPerIncrement, layout))
		}
		m := fmt.Sprintf("Go: two goroutines incrementing their own counters: %s (%.1fx); %s (%s)",
			strings.Join(parts, ", "), goNs[0]/goNs[1], strings.TrimSuffix(counters, "; "), procs())
		nr, err := l.node(ctx)
		if err != nil {
			return needs(m, err)
		}
		var nodeNs [2]float64
		for i, layout := range falseSharingLayouts {
			if nodeNs[i], err = nr.must("SchedFalseSharing/model=node/layout="+layout.String(), "ns/op"); err != nil {
				return finding{}, err
			}
		}
		m += fmt.Sprintf("; Node: two worker_threads doing Atomics.add on their own BigInt64Array slots: %.1f ns packed, %.1f ns pad128 (%.1fx)",
			nodeNs[0], nodeNs[1], nodeNs[0]/nodeNs[1])
		return falseSharingVerdict(m, runtime.NumCPU(), runtime.GOMAXPROCS(0), goNs, l1d, nodeNs), nil
	}},
	"C47": {"rtlab run gc-shape; rtlab plot gc", func(ctx context.Context, l *lab) (finding, error) {
		shapes, err := l.goShapes(ctx)
		if err != nil {
			return finding{}, err
		}
		var xs, ys []float64
		for _, r := range shapes {
			xs, ys = append(xs, r.PtrsPerKiB), append(ys, 100*r.GCCPUShare)
		}
		slope := 10 * fitSlope(xs, ys)
		m := fmt.Sprintf("Go: GC CPU share over %d shapes (survival 0.05-0.5, %.0f-%.0f ptrs/KiB): %+.2f points per +10 ptrs/KiB", len(shapes), minOf(xs), maxOf(xs), slope)
		nr, nerr := l.node(ctx)
		if nerr == nil {
			var nx, ny []float64
			for _, r := range shapes {
				name := fmt.Sprintf("GCShape/survival=%g/ptrs=%s", r.Shape.Survival, r.Shape.PointerDensity)
				x, ok1 := nr.value(name, "ptrs/KiB")
				y, ok2 := nr.value(name, "gc-cpu-%")
				if ok1 && ok2 && nr.collected(name) {
					nx, ny = append(nx, x), append(ny, y)
				}
			}
			if len(nx) > 1 {
				m += fmt.Sprintf("; V8: %+.2f points per +10 ptrs/KiB", 10*fitSlope(nx, ny))
			}
		}
		if slope >= 1.05 && slope <= 4.2 {
			return holds(m + " (rule: within a factor 2 of the article's +2.1)"), nil
		}
		if slope > 0 {
			return depends(m, "the heap: pointers raise the GC's cost, but not by the article's +2.1% per 10 ptrs/KiB here"), nil
		}
		return notHold(m, "more pointers did not cost more GC CPU here"), nil
	}},
	"C48": {"rtlab run ws-idleconns; rtlab run gc-setting", func(ctx context.Context, l *lab) (finding, error) {
		lc, err := l.lifecycles(ctx)
		if err != nil {
			return finding{}, err
		}
		per := map[string]float64{}
		var parts []string
		for _, r := range lc.runs {
			per[r.server] = r.res.EstablishPerConn()
			parts = append(parts, fmt.Sprintf("%s %s/conn", r.server, kib(per[r.server])))
		}
		m := "what rtlab can compare: server RSS per established connection " + strings.Join(parts, ", ")
		if js := per[serverNodeWS]; js > 0 {
			var vs []string
			for _, d := range []string{string(server.DesignReactor), string(server.DesignGoroutine)} {
				vs = append(vs, fmt.Sprintf("%s %+.0f%%", d, 100*(per[d]/js-1)))
			}
			m += " (Go against Node ws: " + strings.Join(vs, ", ") + ")"
		} else if lc.nodeErr != nil {
			m += "; Node ws not measured: " + oneLine(lc.nodeErr.Error())
		}
		return depends(m, "a baseline the article does not give: its 23% cannot be reproduced; the gap depends on the server design measured"), nil
	}},
}

// falseSharingLayouts are the layouts C46 compares: packed, then padded.
var falseSharingLayouts = [2]sched.Layout{sched.LayoutPacked, sched.LayoutPad128}

// falseSharingVerdict is C46's verdict on the measured text m from the ns
// per increment of packed and pad128 counters in Go (goNs) and Node
// (nodeNs), and Go's L1d read misses per increment (goL1d, zero where not
// counted). A runtime pays for false sharing when its packed counters take
// 1.3x the time of padded ones, or, for Go, 2x the L1d misses.
func falseSharingVerdict(m string, cpus, goProcs int, goNs, goL1d, nodeNs [2]float64) finding {
	goPays := goNs[0] >= 1.3*goNs[1] || (goL1d[1] > 0 && goL1d[0] >= 2*goL1d[1])
	nodePays := nodeNs[0] >= 1.3*nodeNs[1]
	const rule = " (rule: packed 1.3x the time of pad128, or for Go 2x its L1d misses)"
	switch {
	case cpus < 2:
		return depends(m, "the machine: with one CPU neither runtime's two threads run at once, so no cache line travels between cores")
	case goProcs < 2:
		return depends(m, "the machine: with one P Go's two goroutines never run at once, so no cache line travels between cores")
	case goPays && nodePays:
		return depends(m, fmt.Sprintf("the data layout, in Go and JavaScript alike: counters in one cache line cost both runtimes more (Go %.1fx, Node %.1fx)%s, and neither runtime decides where data two threads share lies",
			goNs[0]/goNs[1], nodeNs[0]/nodeNs[1], rule))
	case goPays:
		return depends(m, fmt.Sprintf("the data layout: Go's packed counters cost %.1fx its padded ones here and Node's %.1fx%s; a Node increment took %.1f ns padded against Go's %.1f ns, so JavaScript did not pay more for the shared line in this run",
			goNs[0]/goNs[1], nodeNs[0]/nodeNs[1], rule, nodeNs[1], goNs[1]))
	case nodePays:
		return depends(m, fmt.Sprintf("the data layout: Node's packed counters cost %.1fx its padded ones here and Go's %.1fx%s; one run of a loaded machine may hide it on either side, and neither runtime decides where data two threads share lies",
			nodeNs[0]/nodeNs[1], goNs[0]/goNs[1], rule))
	default:
		return depends(m, fmt.Sprintf("the machine: neither runtime's packed counters took 1.3x the time of padded ones here (Go %.1f vs %.1f ns, Node %.1f vs %.1f ns: other load, or CPUs that share a cache), so this run shows no locality difference between them",
			goNs[0], goNs[1], nodeNs[0], nodeNs[1]))
	}
}

// cacheLine is the L1 data cache line size from sysfs, 64 where unknown.
func cacheLine() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/cpu0/cache/index0/coherency_line_size")
	if err == nil {
		var n int
		if _, err := fmt.Sscan(string(b), &n); err == nil && n > 0 {
			return n
		}
	}
	return 64
}

// fitSlope is the least-squares slope of ys over xs.
func fitSlope(xs, ys []float64) float64 {
	mx, my := mean(xs), mean(ys)
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}
