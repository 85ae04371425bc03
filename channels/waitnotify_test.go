package channels

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parked waits until n goroutines are parked on addr.
func parked(t *testing.T, w *WaitNotify, addr *atomic.Int32, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return w.waiters(addr) == n }, 10*time.Second, time.Millisecond,
		"want %d waiters on the word", n)
}

// finish waits for wg or fails the test: a lost wake-up shows as a hang.
func finish(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: goroutines still parked after 30s (a lost wake-up)", what)
	}
}

func TestWaitNotEqual(t *testing.T) {
	var w WaitNotify
	var word atomic.Int32
	word.Store(1)
	assert.Equal(t, WaitResultNotEqual, w.Wait(&word, 0))
	assert.Equal(t, WaitResultNotEqual, w.WaitTimeout(&word, 0, time.Hour))
	assert.Equal(t, WaitResultNotEqual, w.WaitTimeout(&word, 0, 0))
	assert.Zero(t, w.waiters(&word))
	assert.Zero(t, w.waiting.Load())
}

func TestWaitTimeout(t *testing.T) {
	var w WaitNotify
	var word atomic.Int32
	start := time.Now()
	assert.Equal(t, WaitResultTimedOut, w.WaitTimeout(&word, 0, 5*time.Millisecond))
	assert.GreaterOrEqual(t, time.Since(start), 5*time.Millisecond)
	assert.Equal(t, WaitResultTimedOut, w.WaitTimeout(&word, 0, 0))
	assert.Zero(t, w.waiters(&word), "a timed-out waiter must leave the queue")
	assert.Zero(t, w.waiting.Load())
	assert.Zero(t, w.Notify(&word, 1), "nobody is left to wake")
}

func TestWaitResultString(t *testing.T) {
	assert.Equal(t, "ok", WaitResultWoken.String())
	assert.Equal(t, "not-equal", WaitResultNotEqual.String())
	assert.Equal(t, "timed-out", WaitResultTimedOut.String())
	assert.Equal(t, []WaitResult{WaitResultWoken, WaitResultNotEqual, WaitResultTimedOut}, WaitResults())
}

// TestNotifyCountAndOrder checks Notify wakes at most n waiters, oldest
// first, only on its own address, and reports how many it woke.
func TestNotifyCountAndOrder(t *testing.T) {
	var w WaitNotify
	var word, other atomic.Int32
	assert.Zero(t, w.Notify(&word, 1), "no waiters")

	const n = 5
	woken := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			assert.Equal(t, WaitResultWoken, w.Wait(&word, 0))
			woken <- i
		})
		parked(t, &w, &word, i+1) // queue in a known order
	}
	assert.Zero(t, w.Notify(&other, math.MaxInt), "other address")
	assert.Zero(t, w.Notify(&word, 0), "n=0 wakes none")
	assert.Zero(t, w.Notify(&word, -1), "n<0 wakes none")
	assert.Equal(t, n, w.waiters(&word))

	assert.Equal(t, 2, w.Notify(&word, 2))
	assert.Equal(t, n-2, w.waiters(&word))
	got := []int{<-woken, <-woken}
	assert.ElementsMatch(t, []int{0, 1}, got, "the two oldest waiters wake first")

	assert.Equal(t, n-2, w.Notify(&word, math.MaxInt))
	finish(t, &wg, "notify all")
	assert.Zero(t, w.waiting.Load())
	assert.Empty(t, w.queues, "empty queues are dropped")
}

// TestNoLostWakeup races a waiter's check of the word against a store and
// Notify, many times: the waiter must always end up awake.
func TestNoLostWakeup(t *testing.T) {
	rounds := 20_000
	if testing.Short() || raceEnabled {
		rounds = 2_000
	}
	var w WaitNotify
	var wg sync.WaitGroup
	for range rounds {
		var word atomic.Int32
		for range 2 {
			wg.Go(func() {
				for word.Load() == 0 {
					w.Wait(&word, 0)
				}
			})
		}
		word.Store(1)
		w.Notify(&word, math.MaxInt)
		wg.Wait() // hangs (and times out the test) on a lost wake-up
	}
	assert.Zero(t, w.waiting.Load())
}

// TestTokenRing passes a turn around k goroutines through one word; each
// parks until the word names it. A single lost wake-up stops the ring.
func TestTokenRing(t *testing.T) {
	const k = 4
	total := int32(20_000)
	if testing.Short() || raceEnabled {
		total = 2_000
	}
	var w WaitNotify
	var turn atomic.Int32
	var wg sync.WaitGroup
	var moves [k]int
	for i := range k {
		wg.Go(func() {
			for {
				v := turn.Load()
				switch {
				case v >= total:
					return
				case int(v)%k == i:
					moves[i]++
					turn.Store(v + 1)
					w.Notify(&turn, math.MaxInt)
				default:
					w.Wait(&turn, v)
				}
			}
		})
	}
	finish(t, &wg, "token ring")
	for i := range k {
		assert.Equal(t, int(total)/k, moves[i], "goroutine %d", i)
	}
}

// TestTimeoutRacesNotify checks that every wake-up Notify counts reaches
// exactly one waiter, even when waiters time out at the same moment.
func TestTimeoutRacesNotify(t *testing.T) {
	var w WaitNotify
	var word atomic.Int32
	var woken, notified atomic.Int64
	var wg sync.WaitGroup
	const waiters, each = 4, 300
	for range waiters {
		wg.Go(func() {
			for range each {
				if w.WaitTimeout(&word, 0, 20*time.Microsecond) == WaitResultWoken {
					woken.Add(1)
				}
			}
		})
	}
	stop := make(chan struct{})
	var nwg sync.WaitGroup
	nwg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			notified.Add(int64(w.Notify(&word, 1)))
			time.Sleep(time.Duration(rand.IntN(40)) * time.Microsecond)
		}
	})
	finish(t, &wg, "waiters with timeouts")
	close(stop)
	nwg.Wait()
	assert.Equal(t, notified.Load(), woken.Load(), "wake-ups sent vs received")
	assert.Zero(t, w.waiting.Load())
	t.Logf("%d of %d waits woken by Notify", woken.Load(), waiters*each)
}
