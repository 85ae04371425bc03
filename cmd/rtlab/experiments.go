package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rtlab/rtlab/alloc"
	"github.com/rtlab/rtlab/channels"
	"github.com/rtlab/rtlab/gc"
	"github.com/rtlab/rtlab/sched"
	"github.com/rtlab/rtlab/stack"
	"github.com/rtlab/rtlab/wsconn/load"
)

// An experiment is one benchmark of the root suite run by the command: the
// same name, keys and units, so rtlab run -o and go test -bench write files
// benchstat pairs.
type experiment struct {
	name   string   // the command's name: "stack-recurse"
	bench  string   // the suite's: "StackRecurse"
	desc   string   // one line
	claims []string // the CLAIMS.md rows it decides
	// define adds the experiment's flags to fs and returns what, once they
	// are parsed, lists its steps.
	define func(fs *flag.FlagSet) func() ([]step, error)
}

// A step is one row of an experiment: its sub-benchmark name and the
// measurement that fills it, or (rows set) a run of the root suite that
// fills several rows, named as the suite names them.
type step struct {
	name string // "frame=small/depth=1000"
	run  func(ctx context.Context) ([]Metric, error)
	rows func(ctx context.Context) ([]Row, error)
}

func ns(d time.Duration) float64 { return float64(d.Nanoseconds()) }

var experiments = []experiment{
	{"stack-recurse", "StackRecurse", "stack bytes and copies of a recursion by depth, on Go's growable stack", []string{"C20", "C21", "C23"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			frames := enumList(fs, "frame", names(stack.Frames()), "frame sizes")
			depths := intList(fs, "depth", []int{1000, 10000, 100000}, "recursion depths")
			return func() ([]step, error) {
				var s []step
				for _, f := range *frames {
					for _, d := range *depths {
						cfg := stack.RecurseConfig{Depth: d, Frame: lookup(stack.Frames(), f)}
						s = append(s, step{name: fmt.Sprintf("frame=%s/depth=%d", f, d), run: func(ctx context.Context) ([]Metric, error) {
							r, err := stack.Recurse(ctx, cfg)
							if err != nil {
								return nil, err
							}
							return []Metric{{ns(r.Elapsed), "ns/op"}, {float64(r.StackBytes), "stack-B"}, {float64(r.Growths), "growths"}}, nil
						}})
					}
				}
				return s, nil
			}
		}},
	{"stack-maxdepth", "StackMaxDepth", "deepest recursion under a fixed budget: Go (child process) vs the fixed JS-like model", []string{"C22", "C23", "C24"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			models := enumList(fs, "model", names(stack.Models()), "stack models")
			frames := enumList(fs, "frame", names(stack.Frames()), "frame sizes")
			budget := fs.Int("budget", stack.DefaultBudget, "stack budget in bytes")
			return func() ([]step, error) {
				if *budget <= 0 {
					return nil, usagef("-budget %d: want a positive number of bytes", *budget)
				}
				var s []step
				for _, m := range *models {
					for _, f := range *frames {
						cfg := stack.MaxDepthConfig{Model: lookup(stack.Models(), m), Frame: lookup(stack.Frames(), f), Budget: *budget}
						s = append(s, step{name: fmt.Sprintf("model=%s/frame=%s", m, f), run: func(ctx context.Context) ([]Metric, error) {
							r, err := stack.MaxDepth(ctx, cfg)
							if err != nil {
								return nil, err
							}
							return []Metric{{0, "ns/op"}, {float64(r.Depth), "max-depth"}}, nil
						}})
					}
				}
				return s, nil
			}
		}},
	{"stack-spawn", "StackSpawn", "the cost of starting a goroutine and the stack it starts with", []string{"C01", "C19"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			n := fs.Int("n", 10000, "goroutines to start")
			return func() ([]step, error) {
				if *n <= 0 {
					return nil, usagef("-n %d: want a positive count", *n)
				}
				return []step{{name: "", run: func(ctx context.Context) ([]Metric, error) {
					r, err := stack.Spawn(ctx, stack.SpawnConfig{N: *n})
					if err != nil {
						return nil, err
					}
					return []Metric{{ns(r.PerSpawn()), "ns/op"}, {float64(r.StartBytes), "stack-B"}}, nil
				}}}, nil
			}
		}},
	{"stack-start", "StackStart", "goroutine start size with adaptive stack start on and off (child processes)", []string{"C19"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			return func() ([]step, error) {
				var s []step
				for _, off := range []bool{false, true} {
					s = append(s, step{name: "adaptivestackstart=" + onOff(!off), run: func(ctx context.Context) ([]Metric, error) {
						r, err := stack.StartSize(ctx, stack.StartSizeConfig{AdaptiveOff: off})
						if err != nil {
							return nil, err
						}
						return []Metric{{0, "ns/op"}, {float64(r.StartBytes), "start-B"}, {float64(r.UsedBytes), "used-B"}, {r.Growths, "growths"}, {r.SpawnNs, "ns/spawn"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"stack-shrink", "StackShrink", "stack memory of parked goroutines before and after GC, shrinking on and off (child processes)", []string{"C20"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			return func() ([]step, error) {
				var s []step
				for _, off := range []bool{false, true} {
					s = append(s, step{name: "gcshrinkstackoff=" + onOff(off), run: func(ctx context.Context) ([]Metric, error) {
						r, err := stack.Shrink(ctx, stack.ShrinkConfig{ShrinkOff: off})
						if err != nil {
							return nil, err
						}
						return []Metric{{0, "ns/op"}, {float64(r.StacksBefore), "stacks-before-B"}, {float64(r.StacksAfter), "stacks-after-B"}, {r.Regrowths, "regrowths"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"stack-closure", "StackClosure", "a closure returned (heap) vs one passed down (stack): allocations per call", []string{"C03", "C25"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			return func() ([]step, error) {
				var s []step
				for _, v := range []struct {
					name string
					f    func(int) int
				}{{"escaping", stack.EscapingClosure}, {"stack", stack.StackClosure}} {
					s = append(s, step{name: "closure=" + v.name, run: func(ctx context.Context) ([]Metric, error) {
						r := testing.Benchmark(func(b *testing.B) {
							b.ReportAllocs()
							x := 0
							for b.Loop() {
								x = v.f(x)
							}
							closureSink = x
						})
						return []Metric{{float64(r.NsPerOp()), "ns/op"}, {float64(r.AllocedBytesPerOp()), "B/op"}, {float64(r.AllocsPerOp()), "allocs/op"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"alloc-size", "AllocSize", "cost and rounding of one allocation by size and pointer kind", []string{"C13", "C15", "C16"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			kinds := enumList(fs, "kind", names(alloc.Kinds()), "pointer kinds")
			sizes := intList(fs, "size", []int{8, 16, 64, 512, 1024, 4096, 32760, 32768, 65536}, "object sizes in bytes")
			ops := fs.Int("ops", 0, "allocations per row (0: enough for 256 MiB)")
			return func() ([]step, error) {
				var s []step
				for _, k := range *kinds {
					for _, n := range *sizes {
						cfg := alloc.SizeConfig{Size: n, Kind: lookup(alloc.Kinds(), k), Ops: *ops}
						s = append(s, step{name: fmt.Sprintf("kind=%s/size=%d", k, n), run: func(ctx context.Context) ([]Metric, error) {
							r, err := alloc.Size(ctx, cfg)
							if err != nil {
								return nil, err
							}
							return []Metric{{r.NsPerOp(), "ns/op"}, {r.BytesPerOp(), "B/op"}, {r.AllocsPerOp(), "allocs/op"}, {r.Waste.Percent, "waste-%"}}, nil
						}})
					}
				}
				return s, nil
			}
		}},
	{"alloc-tiny", "AllocTiny", "heap bytes per object of tiny sizes: the tiny allocator packs pointer-free ones", []string{"C13"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			count := fs.Int("count-objects", 200_000, "objects kept alive per row")
			return func() ([]step, error) {
				var s []step
				for _, k := range alloc.Kinds() {
					for _, n := range []int{1, 8, 12} {
						cfg := alloc.MeasureConfig{Size: n, Kind: k, Count: *count}
						s = append(s, step{name: fmt.Sprintf("kind=%s/size=%d", k, n), run: func(ctx context.Context) ([]Metric, error) {
							// ns/op is one allocation of the size and kind,
							// as the suite's loop of alloc.New times it.
							sz, err := alloc.Size(ctx, alloc.SizeConfig{Size: cfg.Size, Kind: cfg.Kind})
							if err != nil {
								return nil, err
							}
							r, err := alloc.Measure(ctx, cfg)
							if err != nil {
								return nil, err
							}
							return []Metric{{sz.NsPerOp(), "ns/op"}, {r.PerObject(), "heap-B/obj"}, {100 * r.TinyShare(), "tiny-%"}}, nil
						}})
					}
				}
				return s, nil
			}
		}},
	{"alloc-parallel", "AllocParallel", "allocation throughput on one goroutine vs one per P (per-P caches)", []string{"C14"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			sizes := intList(fs, "size", []int{64, 65536}, "object sizes in bytes")
			return func() ([]step, error) {
				var s []step
				for _, n := range *sizes {
					for _, p := range []int{1, 0} {
						name := fmt.Sprintf("size=%d/procs=%d", n, p)
						if p == 0 {
							name = fmt.Sprintf("size=%d/procs=all", n)
						}
						s = append(s, step{name: name, run: func(ctx context.Context) ([]Metric, error) {
							r, err := alloc.Parallel(ctx, alloc.ParallelConfig{Size: n, Procs: p})
							if err != nil {
								return nil, err
							}
							return []Metric{{r.NsPerOp(), "ns/op"}}, nil
						}})
					}
				}
				return s, nil
			}
		}},
	{"alloc-reuse", "AllocReuse", "one short-lived object got and put back per op: fresh from the heap, from a sync.Pool, from a bump arena", nil,
		func(fs *flag.FlagSet) func() ([]step, error) {
			impls := enumList(fs, "impl", names(alloc.Impls()), "ways of getting an object")
			sizes := intList(fs, "size", []int{64, 1024}, "object sizes in bytes")
			ops := fs.Int("ops", 0, "objects per row (0: enough for 256 MiB)")
			return func() ([]step, error) {
				if *ops < 0 {
					return nil, usagef("-ops %d: want 0 or a positive count", *ops)
				}
				var s []step
				for _, im := range *impls {
					for _, n := range *sizes {
						cfg := alloc.ReuseConfig{Impl: lookup(alloc.Impls(), im), Size: n, Ops: *ops}
						s = append(s, step{name: fmt.Sprintf("impl=%s/size=%d", im, n), run: func(ctx context.Context) ([]Metric, error) {
							r, err := alloc.Reuse(ctx, cfg)
							if err != nil {
								return nil, err
							}
							return []Metric{{r.NsPerOp(), "ns/op"}, {r.BytesPerOp(), "B/op"}, {r.AllocsPerOp(), "allocs/op"}, {r.GCsPerMobj(), "gcs/Mobj"}}, nil
						}})
					}
				}
				return s, nil
			}
		}},
	{"alloc-stride", "AllocStride", "time per read by stride: cache lines and pages", []string{"C45"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			strides := intList(fs, "stride", []int{8, 64, 4096}, "strides in bytes")
			mib := fs.Int("mib", 256, "buffer size in MiB")
			return func() ([]step, error) {
				var s []step
				for _, st := range *strides {
					if st%8 != 0 {
						return nil, usagef("-stride %d: want a multiple of 8", st)
					}
					s = append(s, step{name: fmt.Sprintf("stride=%d", st), run: func(ctx context.Context) ([]Metric, error) {
						r, err := alloc.Stride(ctx, alloc.StrideConfig{Bytes: *mib << 20, Stride: st})
						if err != nil {
							return nil, err
						}
						return []Metric{{0, "ns/op"}, {r.NsPerAccess(), "ns/access"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"gc-shape", "GCShape", "GC pauses and CPU share by survival rate and pointer density", []string{"C05", "C47"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			survs := floatList(fs, "survival", []float64{0.05, 0.2, 0.5}, 0, 1, "survival rates")
			dens := enumList(fs, "ptrs", names(gc.Densities()), "pointer densities")
			live := fs.Int("live-mib", 32, "live heap in MiB")
			return func() ([]step, error) {
				if *live <= 0 {
					return nil, usagef("-live-mib %d: want a positive size", *live)
				}
				var s []step
				for _, sv := range *survs {
					for _, d := range *dens {
						shape := gc.Shape{Live: int64(*live) << 20, Survival: sv, PointerDensity: lookup(gc.Densities(), d)}
						s = append(s, step{name: fmt.Sprintf("survival=%g/ptrs=%s", sv, d), run: func(ctx context.Context) ([]Metric, error) {
							r, err := gc.Run(ctx, gc.RunConfig{Shape: shape})
							if err != nil {
								return nil, err
							}
							ops := float64(r.Shape.Alloc) / float64(r.Shape.Live)
							return []Metric{{ns(r.Elapsed) / ops, "ns/op"}, {ns(r.PauseP50), "p50-pause-ns"}, {ns(r.PauseP99), "p99-pause-ns"},
								{100 * r.GCCPUShare, "gc-cpu-%"}, {float64(r.ScanHeap), "scan-B/cycle"}, {float64(r.GCCycles) / ops, "gcs/op"}, {r.PtrsPerKiB, "ptrs/KiB"}}, nil
						}})
					}
				}
				return s, nil
			}
		}},
	{"gc-setting", "GCSetting", "one heap churned under GOGC 50, 100, 200 and off with a memory limit: GC CPU, peak RSS, cycles", []string{"C07", "C48"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			live := fs.Int("live-mib", 32, "live heap in MiB")
			return func() ([]step, error) {
				if *live <= 0 {
					return nil, usagef("-live-mib %d: want a positive size", *live)
				}
				l := int64(*live) << 20
				var s []step
				for _, set := range gc.Settings(l) {
					shape := gc.Shape{Live: l, Survival: 0.2, PointerDensity: gc.DensityLow}
					s = append(s, step{name: "gogc=" + set.Name, run: func(ctx context.Context) ([]Metric, error) {
						r, err := gc.Run(ctx, gc.RunConfig{Shape: shape, Setting: set.Setting})
						if err != nil {
							return nil, err
						}
						ops := float64(r.Shape.Alloc) / float64(r.Shape.Live)
						return []Metric{{ns(r.Elapsed) / ops, "ns/op"}, {100 * r.GCCPUShare, "gc-cpu-%"}, {float64(r.PeakRSS), "peak-RSS-B"}, {float64(r.GCCycles) / ops, "gcs/op"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"gc-observe", "GCObserve", "the cost of looking at the heap: ReadMemStats vs runtime/metrics vs a heap profile", []string{"C43", "C44"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			calls := fs.Int("calls", 1000, "looks per method")
			return func() ([]step, error) {
				var s []step
				for _, m := range gc.Methods() {
					s = append(s, step{name: "method=" + m.String(), run: func(ctx context.Context) ([]Metric, error) {
						r, err := gc.Observe(ctx, gc.ObserveConfig{Method: m, Calls: *calls, Churn: gc.Shape{Live: 8 << 20, Survival: 0.2, PointerDensity: gc.DensityHigh}})
						if err != nil {
							return nil, err
						}
						return []Metric{{0, "ns/op"}, {ns(r.P50), "p50-ns"}, {ns(r.P99), "p99-ns"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"gc-sampler", "GCSampler", "the cost of sampling RSS, VSS and the runtime every interval beside a churning heap", []string{"C33"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			ivs := durationList(fs, "interval", []time.Duration{10 * time.Millisecond, 100 * time.Millisecond}, "sampling intervals")
			live := fs.Int("live-mib", 32, "live heap in MiB")
			churns := fs.Int("churns", 20, "times the live heap is churned per row")
			return func() ([]step, error) {
				if *live <= 0 {
					return nil, usagef("-live-mib %d: want a positive size", *live)
				}
				if *churns <= 0 {
					return nil, usagef("-churns %d: want a positive count", *churns)
				}
				var s []step
				for _, iv := range *ivs {
					s = append(s, step{name: "interval=" + iv.String(), run: func(ctx context.Context) ([]Metric, error) {
						series, err := sampleBesideChurn(ctx, int64(*live)<<20, iv, *churns)
						if err != nil {
							return nil, err
						}
						m := []Metric{{0, "ns/op"}, {100 * series.Overhead(), "overhead-%"}}
						if n := len(series.Samples) - 1; n > 0 && series.CPU > 0 {
							m = append(m, Metric{ns(series.CPU) / float64(n), "cpu-ns/sample"})
						}
						return m, nil
					}})
				}
				return s, nil
			}
		}},
	{"chan-litmus", "ChanLitmus", "memory-model litmus tests: forbidden outcomes per million trials by synchronisation", []string{"C27"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			trials := fs.Int("trials", 100000, "trials per row")
			return func() ([]step, error) {
				var s []step
				for _, l := range channels.LitmusTests() {
					for _, sy := range channels.Syncs() {
						cfg := channels.LitmusConfig{Test: l, Sync: sy, Trials: *trials}
						s = append(s, step{name: fmt.Sprintf("test=%s/sync=%s", l, sy), run: func(ctx context.Context) ([]Metric, error) {
							r, err := channels.Litmus(ctx, cfg)
							if err != nil {
								return nil, err
							}
							return []Metric{{0, "ns/op"}, {r.PerMillion(), "forbidden/Mtrials"}, {r.TrialsPerSec(), "trials/s"}}, nil
						}})
					}
				}
				return s, nil
			}
		}},
	{"chan-pingpong", "ChanPingPong", "round trip between two goroutines by hand-off mechanism", []string{"C31"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			impls := enumList(fs, "impl", names(channels.PingPongImpls()), "mechanisms")
			rounds := fs.Int("rounds", 1<<14, "round trips per row")
			return func() ([]step, error) {
				var s []step
				for _, im := range *impls {
					cfg := channels.PingPongConfig{Impl: lookup(channels.PingPongImpls(), im), Rounds: *rounds}
					s = append(s, step{name: "impl=" + im, run: func(ctx context.Context) ([]Metric, error) {
						r, err := channels.PingPong(ctx, cfg)
						if err != nil {
							return nil, err
						}
						return []Metric{{ns(r.PerRound()), "ns/op"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"chan-throughput", "ChanThroughput", "one producer to one consumer through a channel by capacity, one int per send or 64 as a slice", nil,
		func(fs *flag.FlagSet) func() ([]step, error) {
			caps := intListFrom(fs, "cap", []int{0, 1, 64, 1024}, 0, "channel capacities")
			batches := intList(fs, "batch", []int{1, 64}, "ints per send")
			msgs := fs.Int("msgs", 1<<16, "ints sent per row")
			return func() ([]step, error) {
				if *msgs <= 0 {
					return nil, usagef("-msgs %d: want a positive count", *msgs)
				}
				var s []step
				for _, c := range *caps {
					for _, b := range *batches {
						cfg := channels.ThroughputConfig{Cap: c, Batch: b, Msgs: *msgs}
						s = append(s, step{name: fmt.Sprintf("cap=%d/batch=%d", c, b), run: func(ctx context.Context) ([]Metric, error) {
							// The first run starts the consumer cold; the
							// figure is the second's.
							if _, err := channels.Throughput(ctx, cfg); err != nil {
								return nil, err
							}
							r, err := channels.Throughput(ctx, cfg)
							if err != nil {
								return nil, err
							}
							if want := cfg.Msgs * (cfg.Msgs - 1) / 2; r.Msgs != cfg.Msgs || r.Sum != want {
								return nil, fmt.Errorf("the consumer got %d ints summing to %d, want %d summing to %d", r.Msgs, r.Sum, cfg.Msgs, want)
							}
							return []Metric{{ns(r.Elapsed) / float64(r.Msgs), "ns/op"}, {r.MsgsPerSec(), "msgs/s"}}, nil
						}})
					}
				}
				return s, nil
			}
		}},
	{"chan-contended", "ChanContended", "producers handing messages to one channel, mutex queue or atomic counter", []string{"C30"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			return func() ([]step, error) {
				var s []step
				for _, im := range channels.ContendedImpls() {
					s = append(s, step{name: "impl=" + im.String() + "/procs=all", run: func(ctx context.Context) ([]Metric, error) {
						r, err := channels.Contended(ctx, channels.ContendedConfig{Impl: im})
						if err != nil {
							return nil, err
						}
						return []Metric{{ns(r.PerMsg()), "ns/op"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"sched-preempt", "SchedPreempt", "timer lateness behind a call-free loop, asynchronous preemption on and off (child processes)", []string{"C10", "C11"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			loop := fs.Duration("loop", 200*time.Millisecond, "length of the call-free loop")
			return func() ([]step, error) {
				var s []step
				for _, on := range []bool{true, false} {
					s = append(s, step{name: "asyncpreempt=" + onOff(on), run: func(ctx context.Context) ([]Metric, error) {
						r, err := sched.Preempt(ctx, sched.PreemptConfig{Loop: *loop, AsyncPreemptOff: !on})
						if err != nil {
							return nil, err
						}
						return []Metric{{0, "ns/op"}, {ns(r.P50Delay), "p50-delay-ns"}, {ns(r.MaxDelay), "max-delay-ns"}, {ns(r.Loop), "loop-ns"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"sched-parallel", "SchedParallel", "CPU-bound work split over goroutines vs the tasks of one event loop: speedup", []string{"C02", "C12"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			mib := fs.Int("mib", 64, "MiB hashed per row")
			workers := intList(fs, "workers", []int{1, 2, 4}, "worker counts")
			return func() ([]step, error) {
				var s []step
				bytes := *mib << 20
				for _, m := range sched.Models() {
					for _, w := range *workers {
						s = append(s, step{name: fmt.Sprintf("model=%s/workers=%d", m, w), run: func(ctx context.Context) ([]Metric, error) {
							one, err := sched.Parallel(ctx, sched.ParallelConfig{Model: sched.ModelGoroutines, Workers: 1, Bytes: bytes})
							if err != nil {
								return nil, err
							}
							r, err := sched.Parallel(ctx, sched.ParallelConfig{Model: m, Workers: w, Bytes: bytes})
							if err != nil {
								return nil, err
							}
							return []Metric{{ns(r.Elapsed), "ns/op"}, {float64(bytes) / r.Elapsed.Seconds() / 1e6, "MB/s"}, {float64(one.Elapsed) / float64(r.Elapsed), "speedup"}}, nil
						}})
					}
				}
				return s, nil
			}
		}},
	{"sched-blocking", "SchedBlocking", "goroutines blocked in read(2): threads used and timer lateness (child processes)", []string{"C09"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			blocked := intList(fs, "blocked", []int{1, 100, 1000}, "goroutines blocked")
			return func() ([]step, error) {
				var s []step
				for _, n := range append([]int{0}, *blocked...) {
					s = append(s, step{name: fmt.Sprintf("blocked=%d", n), run: func(ctx context.Context) ([]Metric, error) {
						r, err := sched.Blocking(ctx, sched.BlockingConfig{Blocked: n})
						if err != nil {
							return nil, err
						}
						return []Metric{{0, "ns/op"}, {ns(r.P99Delay), "p99-delay-ns"}, {float64(r.Threads), "threads"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"sched-falsesharing", "SchedFalseSharing", "two goroutines incrementing their own counters, packed in one cache line or padded", []string{"C46"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			return func() ([]step, error) {
				var s []step
				for _, l := range sched.Layouts() {
					s = append(s, step{name: "model=go/layout=" + l.String(), run: func(ctx context.Context) ([]Metric, error) {
						r, err := sched.FalseSharing(ctx, sched.FalseSharingConfig{Layout: l})
						if err != nil {
							return nil, err
						}
						return []Metric{{r.NsPerIncrement, "ns/op"}}, nil
					}})
				}
				return s, nil
			}
		}},
	{"sched-looptask", "SchedLoopTask", "the cost of one macrotask and the microtask it queues on sched.Loop, the JavaScript-model event loop", []string{"C08"},
		func(fs *flag.FlagSet) func() ([]step, error) {
			return func() ([]step, error) {
				return []step{{name: "", run: func(ctx context.Context) ([]Metric, error) {
					var l sched.Loop
					nop := func() {}
					task := func() { l.Microtask(nop) }
					var err error
					r := testing.Benchmark(func(b *testing.B) {
						b.ReportAllocs()
						for b.Loop() && err == nil {
							l.Post(task)
							err = l.Run(ctx)
						}
					})
					if err != nil {
						return nil, err
					}
					return []Metric{{float64(r.NsPerOp()), "ns/op"}, {float64(r.AllocedBytesPerOp()), "B/op"}, {float64(r.AllocsPerOp()), "allocs/op"}}, nil
				}}}, nil
			}
		}},
	{"ws-frame-read", "WSFrameRead", "one message read per op from in-memory client frames: rtlab, its peers, the copy+unmask floor (go test in the clone)", []string{"C35", "C36"},
		defineSuiteFrames("WSFrameRead")},
	{"ws-frame-write", "WSFrameWrite", "one message written per op as a server frame: rtlab and its peers (go test in the clone)", []string{"C35", "C38"},
		defineSuiteFrames("WSFrameWrite")},
	{"ws-idleconns", "WSIdleConns", "server RSS per idle WebSocket connection, by server, ws:// and wss:// (server and clients in child processes)", []string{"C41", "C48"},
		defineWSIdleConns},
	{"ws-echo", "WSEcho", "echo latency and throughput, one message in flight per connection (closed loop), by server", []string{"C36", "C42"},
		defineWSEcho},
	{"ws-echo-rate", "WSEchoRate", "echo latency at a fixed total rate (open loop), from each message's scheduled send, by server", []string{"C42"},
		defineWSEchoRate},
	{"ws-lifecycle", "WSLifecycle", "server RSS through establish, flood, idle, close, GC, free, ws:// and wss://; -csv writes the trace", []string{"C33", "C34"},
		defineWSLifecycle},
	{"ws-reconnect", "WSReconnect", "a reconnect storm: every client drops and redials at once, ws://, wss:// and wss:// resuming its session", nil,
		defineWSReconnect},
}

var closureSink int

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func findExperiment(name string) (*experiment, error) {
	var all []string
	for i := range experiments {
		if experiments[i].name == name {
			return &experiments[i], nil
		}
		all = append(all, experiments[i].name)
	}
	return nil, usagef("unknown experiment %q: want one of %s (rtlab list describes them)", name, strings.Join(all, ", "))
}

func writeLifecycleCSV(path string, r load.LifecycleResult) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = r.WriteCSV(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// cmdList prints every experiment with its description and claims, then
// the plots.
func cmdList(e *env, args []string) error {
	fs := newFlagSet(e, "list", "", "list names every experiment with a one-line description and the claims it decides.")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("list takes no arguments, got %q", fs.Args())
	}
	return writeList(e.stdout)
}

// runExperiment runs the steps count times with progress and returns the rows.
func runExperiment(ctx context.Context, e *env, x *experiment, steps []step, count int) ([]Row, error) {
	p := e.startProgress(count * len(steps))
	defer p.Finish()
	var rows []Row
	for i := 0; i < count; i++ {
		for _, s := range steps {
			name := x.bench
			if s.name != "" {
				name += "/" + s.name
			}
			p.Step(fmt.Sprintf("%s %d/%d", name, i+1, count))
			var got []Row
			var err error
			if s.rows != nil {
				got, err = s.rows(ctx)
			} else {
				var m []Metric
				m, err = s.run(ctx)
				got = []Row{{Name: name, Metrics: m}}
			}
			if err != nil {
				if ctx.Err() != nil {
					return rows, ctx.Err()
				}
				return rows, fmt.Errorf("%s: %w", name, err)
			}
			rows = append(rows, got...)
			p.Done()
		}
	}
	return rows, nil
}

// cmdRun runs one experiment and prints it as a table; -o also writes it
// as benchfmt.
func cmdRun(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprintln(e.stdout, "usage: rtlab run <experiment> [flags]")
			fmt.Fprintln(e.stdout)
			_ = writeList(e.stdout)
			return errHelp
		}
		return usagef("run needs an experiment first: rtlab run <experiment> [flags] (rtlab list names them)")
	}
	x, err := findExperiment(args[0])
	if err != nil {
		return err
	}
	fs := newFlagSet(e, "run "+x.name, "[flags]", x.desc+".\nThe table goes to stdout; -o writes benchfmt that benchstat reads.")
	out := fs.String("o", "", "also write the results as Go benchmark format to `file`")
	count := fs.Int("count", 1, "run every row `n` times")
	build := x.define(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("run %s: unexpected arguments %q", x.name, fs.Args())
	}
	if *count <= 0 {
		return usagef("-count %d: want a positive count", *count)
	}
	steps, err := build()
	if err != nil {
		return err
	}
	var f *os.File
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
	}
	rows, err := runExperiment(ctx, e, x, steps, *count)
	if err != nil {
		if f != nil {
			f.Close()
			os.Remove(*out)
		}
		return err
	}
	cfg := configLines()
	if f != nil {
		err := writeBenchfmt(f, cfg, rows, runtime.GOMAXPROCS(0))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(*out)
			return err
		}
	}
	return writeTable(e.stdout, x.name+": "+x.desc, cfg, rows)
}

// writeList writes the list of experiments and plots.
func writeList(w interface{ Write([]byte) (int, error) }) error {
	var b strings.Builder
	b.WriteString("Experiments (rtlab run <name> [flags]; -h lists the flags):\n\n")
	for _, x := range experiments {
		claims := "claims " + strings.Join(x.claims, " ")
		if len(x.claims) == 0 {
			claims = "claims none: a figure of the suite that no row of the ledger reads"
		}
		fmt.Fprintf(&b, "  %-19s %s\n  %-19s %s\n", x.name, x.desc, "", claims)
	}
	b.WriteString("\nPlots (rtlab plot <name> -o file.svg|.png):\n\n")
	for _, p := range plots {
		fmt.Fprintf(&b, "  %-19s %s\n", p.name, p.desc)
	}
	_, err := w.Write([]byte(b.String()))
	if err != nil {
		return errors.Join(err)
	}
	return nil
}
