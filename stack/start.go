package stack

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/rtlab/rtlab/internal/rtmetrics"
)

// SpawnResult is the cost of starting goroutines and the stack each starts
// with.
type SpawnResult struct {
	N       int           // goroutines started
	Elapsed time.Duration // to start them all and see them finish (not the probe of the start stack)
	// StartBytes is the stack a new goroutine gets, as the runtime reports
	// it (/gc/stack/starting-size:bytes): 2 KiB, or more once adaptive
	// start sizes (see StartSize) have seen deeper stacks.
	StartBytes int
	// FirstGrowthBytes is measured: the stack bytes in use when a fresh
	// goroutine's stack was first copied. It is below StartBytes by the
	// runtime's guard at the bottom of every stack (928 bytes on
	// linux/amd64) and the frames above the probe.
	FirstGrowthBytes int
}

// PerSpawn is the time per goroutine.
func (r SpawnResult) PerSpawn() time.Duration { return r.Elapsed / time.Duration(max(r.N, 1)) }

// String summarises the result on one line.
func (r SpawnResult) String() string {
	return fmt.Sprintf("%d goroutines in %v (%v each), start stack %d bytes, first copied at %d bytes",
		r.N, r.Elapsed, r.PerSpawn(), r.StartBytes, r.FirstGrowthBytes)
}

// spawnBatch bounds the goroutines alive at once, so that n can be large
// without n stacks in memory.
const spawnBatch = 1024

// SpawnConfig sets up Spawn. The zero value starts 10,000 goroutines.
type SpawnConfig struct {
	N int // goroutines to start; 10,000 if 0
}

// defaultSpawns is SpawnConfig's N when N is 0.
const defaultSpawns = 10_000

// Spawn starts cfg.N goroutines that do nothing but finish, in batches that
// it waits for, and measures the start stack as well. ctx is checked before
// it starts, not during the timing.
func Spawn(ctx context.Context, cfg SpawnConfig) (SpawnResult, error) {
	if err := ctx.Err(); err != nil {
		return SpawnResult{}, fmt.Errorf("stack: Spawn: %w", err)
	}
	n := cfg.N
	if n < 0 {
		return SpawnResult{}, fmt.Errorf("stack: SpawnConfig.N %d must be > 0", n)
	}
	if n == 0 {
		n = defaultSpawns
	}
	var wg sync.WaitGroup
	start := time.Now()
	for left := n; left > 0; left -= spawnBatch {
		k := min(left, spawnBatch)
		wg.Add(k)
		for range k {
			go wg.Done()
		}
		wg.Wait()
	}
	r := SpawnResult{N: n, Elapsed: time.Since(start)}
	first, startBytes, err := firstGrowth()
	r.FirstGrowthBytes, r.StartBytes = first, startBytes
	return r, err
}

// firstGrowth recurses in a fresh goroutine until its stack is copied once
// and returns the bytes in use at that moment with the start size reported
// when the goroutine was made.
func firstGrowth() (used, startBytes int, err error) {
	r, _ := run(config{target: math.MaxInt, frame: FrameSmall, limit: goUsable, firstCopy: true})
	if r.Growths == 0 {
		return 0, r.StartBytes, fmt.Errorf("stack: no stack growth within %d bytes", goUsable)
	}
	return r.Steps[0].StackBytes, r.StartBytes, nil
}

// StartSizeConfig sets up StartSize. The zero value runs with adaptive
// start sizes, the runtime's default.
type StartSizeConfig struct {
	// AdaptiveOff runs the child with GODEBUG=adaptivestackstart=0, the
	// runtime of Go before 1.19: every goroutine starts with 2 KiB.
	AdaptiveOff bool
}

// StartSizeResult is what a child process saw of goroutine start sizes
// under one GODEBUG setting.
type StartSizeResult struct {
	GODEBUG string // the setting the child ran with
	// Depth is how deep each goroutine recursed with FrameSmall frames, and
	// UsedBytes the stack that took: the workload's typical stack.
	Depth     int
	UsedBytes int
	// StartBytes is /gc/stack/starting-size:bytes after the warm-up: the
	// stack every new goroutine got during the measurement.
	StartBytes int
	// Growths is the stack copies per fresh goroutine to reach Depth,
	// averaged over Spawned goroutines.
	Growths float64
	Spawned int
	// SpawnNs is the time per fresh goroutine: start, recurse to Depth,
	// finish.
	SpawnNs float64
}

// String summarises the result on one line.
func (r StartSizeResult) String() string {
	return fmt.Sprintf("GODEBUG=%s: start stack %d bytes for %d used, %.4g growths and %.0f ns per goroutine",
		r.GODEBUG, r.StartBytes, r.UsedBytes, r.Growths, r.SpawnNs)
}

// startHoldersFor is how many goroutines park at startDepth so that the
// average stack a GC scans is theirs: the runtime averages every stack it
// scans (runtime/stack.go, gcComputeStartingStackSize), including a mark
// worker per P and a few system goroutines that use well under 1 KiB. With
// ten holders per other goroutine the average falls short of a holder's
// stack by under a tenth of it, less than the stack guard the runtime adds
// (928 bytes on linux/amd64), so the start size still covers the workload
// at any GOMAXPROCS.
func startHoldersFor(procs int) int { return max(startHolders, 10*(procs+8)) }

// Workload of StartSize: startHoldersFor(GOMAXPROCS) goroutines (at least
// startHolders) park startDepth frames deep during two GCs, so that the
// runtime sees their stacks; then startSpawns fresh goroutines each recurse
// as deep.
const (
	// FrameSmall frames: about 8 KiB, which with the guard the runtime
	// adds rounds up to a 16 KiB start, leaving room for the larger frames
	// of a race build.
	startDepth   = 160
	startHolders = 100
	startSpawns  = 2000
)

// StartSize runs, in a child process with GODEBUG=adaptivestackstart=1 (or
// =0 with cfg.AdaptiveOff), a program whose goroutines typically use about
// 8 KiB of stack. With adaptive start sizes (the default since Go 1.19)
// every GC sets the start size to the average stack it scanned, rounded up
// to a power of two, so after a warm-up new goroutines start big enough and
// grow no more; with =0 they start at 2 KiB and are copied on the way to 8
// KiB every time.
func StartSize(ctx context.Context, cfg StartSizeConfig) (StartSizeResult, error) {
	return runReport(ctx, startChild, "adaptivestackstart", !cfg.AdaptiveOff)
}

var startChild = child.RegisterJSON("stack.start", func(struct{}) (StartSizeResult, error) {
	release := make(chan struct{})
	holders := startHoldersFor(runtime.GOMAXPROCS(0))
	var parked sync.WaitGroup
	parked.Add(holders)
	for range holders {
		// descend directly, not run: the GCs must see goroutines holding
		// the workload's stack, not run's goroutines waiting near the top.
		go descend(config{target: startDepth, frame: FrameSmall, limit: goUsable, bottom: func() {
			parked.Done()
			<-release
		}})
	}
	parked.Wait()
	runtime.GC() // scans the parked stacks and sets the start size from them
	runtime.GC()
	// No GC during the spawns: each would set the start size again from the
	// stacks it happened to scan. The measurement is of the size these two
	// set.
	debug.SetGCPercent(-1)
	rep := StartSizeResult{GODEBUG: os.Getenv("GODEBUG"), Depth: startDepth, Spawned: startSpawns,
		StartBytes: int(rtmetrics.Uint64(startingSize))}
	growths := 0
	t0 := time.Now()
	for range startSpawns {
		r, err := run(config{target: startDepth, frame: FrameSmall, limit: goUsable, bareGo: true})
		if err != nil {
			return StartSizeResult{}, fmt.Errorf("stack.start: %w", err)
		}
		growths += r.Growths
		rep.UsedBytes = r.StackBytes
	}
	rep.SpawnNs = float64(time.Since(t0).Nanoseconds()) / startSpawns
	rep.Growths = float64(growths) / startSpawns
	close(release)
	return rep, nil
})

// ShrinkConfig sets up Shrink. The zero value runs with stack shrinking,
// the runtime's default.
type ShrinkConfig struct {
	// ShrinkOff runs the child with GODEBUG=gcshrinkstackoff=1: GCs leave
	// every stack its size.
	ShrinkOff bool
}

// ShrinkResult is what a child process saw of stack shrinking at GC under
// one GODEBUG setting.
type ShrinkResult struct {
	GODEBUG    string // the setting the child ran with
	Goroutines int
	Depth      int     // FrameSmall frames each goroutine recursed, twice
	PeakBytes  int     // stack bytes each used at that depth
	Growths    float64 // stack copies per goroutine on the way down the first time
	// StacksBefore is /memory/classes/heap/stacks:bytes once the goroutines
	// were back near the top of their stacks and parked, StacksAfter the same
	// after the forced GCs.
	StacksBefore uint64
	StacksAfter  uint64
	GCs          int
	// Regrowths is the stack copies per goroutine to reach Depth again after
	// the GCs: how many times the GCs halved its stack.
	Regrowths float64
}

// String summarises the result on one line.
func (r ShrinkResult) String() string {
	return fmt.Sprintf("GODEBUG=%s: stacks %d bytes before %d GCs, %d after, %.4g regrowths per goroutine",
		r.GODEBUG, r.StacksBefore, r.GCs, r.StacksAfter, r.Regrowths)
}

// Workload of Shrink.
const (
	shrinkGoroutines = 32
	shrinkDepth      = 10000 // FrameSmall frames: about 480 KiB, on a 512 KiB stack
	shrinkGCs        = 10
)

// Shrink runs, in a child process with GODEBUG=gcshrinkstackoff=0 (or =1
// with cfg.ShrinkOff), goroutines that recurse deep (a 512 KiB stack each),
// return to the top and park while the program forces GCs, then recurse as
// deep again. Each GC halves a stack that is less than a quarter used, so
// with shrinking on (the default) the memory held by stacks falls back and
// the second descent copies the stack again as many times as it was halved;
// with gcshrinkstackoff=1 parked goroutines keep their peak stacks and the
// second descent copies nothing.
func Shrink(ctx context.Context, cfg ShrinkConfig) (ShrinkResult, error) {
	return runReport(ctx, shrinkChild, "gcshrinkstackoff", cfg.ShrinkOff)
}

var shrinkChild = child.RegisterJSON("stack.shrink", func(struct{}) (ShrinkResult, error) {
	type pair struct{ first, second RecurseResult }
	wake := make(chan struct{})
	results := make(chan pair, shrinkGoroutines)
	var parked sync.WaitGroup
	parked.Add(shrinkGoroutines)
	for range shrinkGoroutines {
		go func() {
			// descend directly, not run: both descents must be on this
			// goroutine's stack.
			c := config{target: shrinkDepth, frame: FrameSmall, limit: goUsable, steps: new([maxSteps]Growth)}
			first := descend(c)
			parked.Done()
			<-wake
			c.steps = new([maxSteps]Growth)
			results <- pair{first, descend(c)}
		}()
	}
	parked.Wait()
	rep := ShrinkResult{GODEBUG: os.Getenv("GODEBUG"), Goroutines: shrinkGoroutines, Depth: shrinkDepth, GCs: shrinkGCs}
	rep.StacksBefore = rtmetrics.Uint64(rtmetrics.StackBytes)
	for range shrinkGCs {
		runtime.GC()
	}
	rep.StacksAfter = rtmetrics.Uint64(rtmetrics.StackBytes)
	close(wake)
	var growths, regrowths int
	for range shrinkGoroutines {
		p := <-results
		if p.first.Depth != shrinkDepth || p.second.Depth != shrinkDepth {
			return ShrinkResult{}, fmt.Errorf("stack.shrink: reached depths %d and %d, not %d", p.first.Depth, p.second.Depth, shrinkDepth)
		}
		rep.PeakBytes = p.first.StackBytes
		growths += p.first.Growths
		regrowths += p.second.Growths
	}
	rep.Growths = float64(growths) / shrinkGoroutines
	rep.Regrowths = float64(regrowths) / shrinkGoroutines
	return rep, nil
})

// runReport runs a report child with GODEBUG key=1 or key=0 added to this
// process's own setting.
func runReport[R any](ctx context.Context, f child.JSON[struct{}, R], key string, on bool) (R, error) {
	r, err := f.Run(ctx, struct{}{}, child.Options{Env: []string{child.GODEBUG(child.Flag(key, on))}, Timeout: time.Minute})
	if err != nil {
		return r, fmt.Errorf("stack: %w", err)
	}
	return r, nil
}
