package channels

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPingPong runs every implementation in this process, at GOMAXPROCS
// 1 and at the test's own.
func TestPingPong(t *testing.T) {
	for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
		for _, impl := range PingPongImpls() {
			t.Run(fmt.Sprintf("procs=%d/impl=%s", procs, impl), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				r, err := PingPong(context.Background(), PingPongConfig{Impl: impl, Rounds: 500})
				require.NoError(t, err)
				assert.Equal(t, impl, r.Impl)
				assert.Equal(t, 500, r.Rounds)
				assert.Equal(t, procs, r.GOMAXPROCS)
				assert.Positive(t, r.PerRound())
				t.Logf("GOMAXPROCS=%d %s: %v per round trip", procs, impl, r.PerRound())
			})
		}
	}
}

// TestPingPongProcs runs every implementation in a child process with
// GOMAXPROCS 1 and 2, and checks the child had the GOMAXPROCS asked for
// while this process kept its own.
func TestPingPongProcs(t *testing.T) {
	own := runtime.GOMAXPROCS(0)
	for _, procs := range []int{1, 2} {
		for _, impl := range PingPongImpls() {
			t.Run(fmt.Sprintf("procs=%d/impl=%s", procs, impl), func(t *testing.T) {
				r, err := PingPong(context.Background(), PingPongConfig{Impl: impl, Rounds: 1000, Procs: procs})
				require.NoError(t, err)
				assert.Equal(t, impl, r.Impl)
				assert.Equal(t, 1000, r.Rounds)
				assert.Equal(t, procs, r.GOMAXPROCS)
				assert.Positive(t, r.PerRound())
				t.Log(r)
			})
		}
	}
	assert.Equal(t, own, runtime.GOMAXPROCS(0))
}

// TestPingPongChildCancelled kills a child that would run for minutes.
func TestPingPongChildCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := PingPong(ctx, PingPongConfig{Impl: PingPongSpin, Rounds: 1 << 30, Procs: 1})
	require.ErrorIs(t, err, child.ErrTimeout)
	assert.ErrorContains(t, err, "channels: child: channels.pingpong")
}

func TestPingPongDefaults(t *testing.T) {
	r, err := PingPong(context.Background(), PingPongConfig{})
	require.NoError(t, err)
	assert.Equal(t, PingPongChan, r.Impl)
	assert.Equal(t, defaultPingPongRounds, r.Rounds)
	assert.Equal(t, runtime.GOMAXPROCS(0), r.GOMAXPROCS)
}

func TestPingPongString(t *testing.T) {
	r := PingPongResult{Impl: PingPongYield, Rounds: 1000, GOMAXPROCS: 2, Elapsed: 300 * time.Microsecond}
	assert.Equal(t, "ping-pong yield, GOMAXPROCS=2: 1000 round trips in 300µs, 300ns each", r.String())
	for _, impl := range PingPongImpls() {
		assert.Equal(t, string(impl), impl.String())
	}
}

// TestPingPongWrap runs the word protocol across the point where its round
// count wraps, with a small wrap, and checks every value each side published,
// in order: the pinger's odd counts, back to 1 after the wrap, the echo's
// even answer to each, and the stop value last. Each side's values are kept
// apart because the two notify calls race each other. A protocol that lost a
// wake-up would hang: the test fails after a minute instead.
func TestPingPongWrap(t *testing.T) {
	const wrap, rounds = 5, 20
	var wn WaitNotify
	var mu sync.Mutex
	var pings, echoes []int32
	wait := func(word *atomic.Int32, v int32) { wn.Wait(word, v) }
	notify := func(word *atomic.Int32, v int32) {
		mu.Lock()
		if v%2 == 0 {
			echoes = append(echoes, v)
		} else {
			pings = append(pings, v) // the pinger's odd counts, then -1
		}
		mu.Unlock()
		wn.Notify(word, 1)
	}
	round, stop, echo := wordPingPong(wait, notify, wrap)
	var wg sync.WaitGroup
	wg.Go(echo)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range rounds {
			round()
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		stop()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("ping-pong hung; pings %v, echoes %v", pings, echoes)
	}
	stop()
	wg.Wait()
	var wantPings, wantEchoes []int32
	for i := range rounds {
		odd := int32(2*(i%3) + 1) // 1, 3, 5, then wrap: 7 > 5
		wantPings = append(wantPings, odd)
		wantEchoes = append(wantEchoes, odd+1)
	}
	wantPings = append(wantPings, -1)
	assert.Equal(t, wantPings, pings)
	assert.Equal(t, wantEchoes, echoes)
}

func TestPingPongBadInput(t *testing.T) {
	ctx := context.Background()
	_, err := PingPong(ctx, PingPongConfig{Impl: "smoke-signal"})
	assert.ErrorContains(t, err, `channels: PingPongConfig.Impl "smoke-signal" is not one of`)
	_, err = newPinger("smoke-signal")
	assert.ErrorContains(t, err, `channels: PingPongConfig.Impl "smoke-signal"`)
	_, err = PingPong(ctx, PingPongConfig{Rounds: -1})
	assert.EqualError(t, err, "channels: PingPongConfig.Rounds -1 must be > 0")
	_, err = PingPong(ctx, PingPongConfig{Procs: -1})
	assert.EqualError(t, err, "channels: PingPongConfig.Procs -1 must be >= 0 (0 is this process)")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = PingPong(cancelled, PingPongConfig{})
	assert.ErrorIs(t, err, context.Canceled)
}
