package channels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPingPong(t *testing.T) {
	for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
		for _, impl := range PingPongImpls() {
			t.Run(fmt.Sprintf("procs=%d/impl=%s", procs, impl), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				r, err := MeasurePingPong(impl, 500)
				require.NoError(t, err)
				assert.Equal(t, impl, r.Impl)
				assert.Equal(t, 500, r.Rounds)
				assert.Positive(t, r.PerRound())
				t.Logf("GOMAXPROCS=%d %s: %v per round trip", procs, impl, r.PerRound())
			})
		}
	}
}

// TestPingPongWrap runs the word protocol across the point where its round
// count wraps, with a small wrap, and checks every value the two sides
// published, in order: the pinger's odd counts, each answered by the echo's
// even one, back to 1 after the wrap, and the stop value last. A protocol
// that lost a wake-up would hang: the test fails after a minute instead.
func TestPingPongWrap(t *testing.T) {
	const wrap, rounds = 5, 20
	var wn WaitNotify
	var mu sync.Mutex
	var seen []int32
	wait := func(word *atomic.Int32, v int32) { wn.Wait(word, v) }
	notify := func(word *atomic.Int32) {
		mu.Lock()
		seen = append(seen, word.Load()) // only the notifier writes the word now
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
		t.Fatalf("ping-pong hung; values published: %v", seen)
	}
	stop()
	wg.Wait()
	var want []int32
	for i := range rounds {
		odd := int32(2*(i%3) + 1) // 1, 3, 5, then wrap: 7 > 5
		want = append(want, odd, odd+1)
	}
	want = append(want, -1)
	assert.Equal(t, want, seen)
}

func TestPingPongBadInput(t *testing.T) {
	_, err := NewPingPong("smoke-signal")
	assert.ErrorContains(t, err, `channels: ping-pong impl "smoke-signal"`)
	_, err = MeasurePingPong(PingChan, 0)
	assert.ErrorContains(t, err, "channels: rounds 0 must be > 0")
}
