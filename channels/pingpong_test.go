package channels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

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
// count wraps, with a small wrap.
func TestPingPongWrap(t *testing.T) {
	var wn WaitNotify
	wait := func(word *atomic.Int32, v int32) { wn.Wait(word, v) }
	notify := func(word *atomic.Int32) { wn.Notify(word, 1) }
	round, stop, echo := wordPingPong(wait, notify, 5)
	var wg sync.WaitGroup
	wg.Go(echo)
	for range 20 {
		round()
	}
	stop()
	wg.Wait()
}

func TestPingPongBadInput(t *testing.T) {
	_, err := NewPingPong("smoke-signal")
	assert.ErrorContains(t, err, `channels: ping-pong impl "smoke-signal"`)
	_, err = MeasurePingPong(PingChan, 0)
	assert.ErrorContains(t, err, "channels: rounds 0 must be > 0")
}
