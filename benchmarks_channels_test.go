package rtlab

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rtlab/rtlab/channels"
)

// BenchmarkChanLitmus counts the forbidden outcome of the SB and MP litmus
// tests per million trials, for each synchronization compiled in (plain, a
// data race on purpose, is left out of -race builds). The loop time means
// nothing; trials/s includes the per-trial barrier.
func BenchmarkChanLitmus(b *testing.B) {
	trials := 100_000
	if testing.Short() {
		trials = 10_000
	}
	for _, l := range channels.LitmusTests() {
		b.Run("test="+l.String(), func(b *testing.B) {
			for _, s := range channels.Syncs() {
				b.Run("sync="+s.String(), func(b *testing.B) {
					cfg := channels.LitmusConfig{Test: l, Sync: s, Trials: trials}
					var total, forbidden int
					var elapsed time.Duration
					for b.Loop() {
						r, err := channels.Litmus(context.Background(), cfg)
						if err != nil {
							b.Fatal(err)
						}
						total += r.Trials
						forbidden += r.Forbidden
						elapsed += r.Elapsed
					}
					b.ReportMetric(0, "ns/op")
					b.ReportMetric(float64(forbidden)*1e6/float64(total), "forbidden/Mtrials")
					b.ReportMetric(float64(total)/elapsed.Seconds(), "trials/s")
				})
			}
		})
	}
}

// BenchmarkChanPingPong times round trips (ping and pong) between two
// goroutines, in a child process with GOMAXPROCS=procs (1 or 2): ns/op is
// per round trip, two hand-offs. The channels and the Cond cost about the
// same with one P or two; the spin needs two, the yield is cheapest with
// one.
func BenchmarkChanPingPong(b *testing.B) {
	rounds := 1 << 16
	if testing.Short() {
		rounds = 1 << 10
	}
	for _, impl := range channels.PingPongImpls() {
		b.Run("impl="+impl.String(), func(b *testing.B) {
			for _, procs := range []int{1, 2} {
				b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
					cfg := channels.PingPongConfig{Impl: impl, Rounds: rounds, Procs: procs}
					chanPerMsg(b, func() (int, time.Duration, error) {
						r, err := channels.PingPong(context.Background(), cfg)
						return r.Rounds, r.Elapsed, err
					})
				})
			}
		})
	}
}

// BenchmarkChanThroughput sends ints from one producer to one consumer
// through a channel of each capacity, one per send (batch=1) or 64 per
// send as a slice (batch=64): ns/op is per message.
func BenchmarkChanThroughput(b *testing.B) {
	msgs := 1 << 16
	if testing.Short() {
		msgs = 1 << 12
	}
	for _, capacity := range []int{0, 1, 64, 1024} {
		b.Run(fmt.Sprintf("cap=%d", capacity), func(b *testing.B) {
			for _, batch := range []int{1, 64} {
				b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
					cfg := channels.ThroughputConfig{Cap: capacity, Batch: batch, Msgs: msgs}
					total, elapsed := chanPerMsg(b, func() (int, time.Duration, error) {
						r, err := channels.Throughput(context.Background(), cfg)
						return r.Msgs, r.Elapsed, err
					})
					b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
				})
			}
		})
	}
}

// BenchmarkChanContended hands messages from procs producer goroutines (1,
// or GOMAXPROCS for procs=all) to one channel, one mutex-protected queue or
// one atomic counter: ns/op is per message.
func BenchmarkChanContended(b *testing.B) {
	msgs := 1 << 16
	if testing.Short() {
		msgs = 1 << 12
	}
	for _, impl := range channels.ContendedImpls() {
		b.Run("impl="+impl.String(), func(b *testing.B) {
			for _, procs := range []string{"1", "all"} {
				producers := 1
				if procs == "all" {
					producers = runtime.GOMAXPROCS(0)
				}
				b.Run("procs="+procs, func(b *testing.B) {
					cfg := channels.ContendedConfig{Impl: impl, Producers: producers, Msgs: msgs}
					chanPerMsg(b, func() (int, time.Duration, error) {
						r, err := channels.Contended(context.Background(), cfg)
						return r.Msgs, r.Elapsed, err
					})
				})
			}
		})
	}
}

// chanPerMsg calls run (one timed run of many messages) in b.Loop, reports
// ns/op per message from the runs' own clocks (which leave out setup) and
// returns the totals.
func chanPerMsg(b *testing.B, run func() (msgs int, elapsed time.Duration, err error)) (int, time.Duration) {
	var total int
	var elapsed time.Duration
	for b.Loop() {
		n, d, err := run()
		if err != nil {
			b.Fatal(err)
		}
		total += n
		elapsed += d
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(total), "ns/op")
	return total, elapsed
}
