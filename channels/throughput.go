package channels

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// ThroughputConfig is one producer-to-one-consumer run through a channel.
// The zero value sends 65536 ints one at a time through an unbuffered
// channel.
type ThroughputConfig struct {
	Cap   int // capacity of the channel; 0 is unbuffered
	Batch int // ints per send (one slice of them when > 1); 1 if 0
	Msgs  int // ints to send; 65536 if 0
}

const defaultMsgs = 1 << 16

// ThroughputResult is one producer-to-one-consumer run through a channel.
type ThroughputResult struct {
	Cap, Batch int
	// Msgs is how many messages the consumer received and Sum the sum of
	// their values (0..Msgs-1), so a caller can check none was lost.
	Msgs    int
	Sum     int
	Elapsed time.Duration
}

// PerMsg returns the mean time per message.
func (r ThroughputResult) PerMsg() time.Duration { return per(r.Elapsed, r.Msgs) }

// MsgsPerSec returns the message rate.
func (r ThroughputResult) MsgsPerSec() float64 {
	return rate(r.Msgs, r.Elapsed)
}

// String summarizes r on one line: "throughput cap=64 batch=64: 65536
// msgs in 1.2ms, 54613333 msgs/s".
func (r ThroughputResult) String() string {
	return fmt.Sprintf("throughput cap=%d batch=%d: %d msgs in %v, %.0f msgs/s",
		r.Cap, r.Batch, r.Msgs, r.Elapsed.Round(time.Microsecond), r.MsgsPerSec())
}

// Throughput sends cfg.Msgs ints from the calling goroutine to a consumer
// goroutine through a channel of capacity cfg.Cap. With Batch 1 each int is
// one channel operation; with Batch > 1 the producer sends slices of up to
// Batch ints, so one channel operation carries Batch messages. The slices
// come from a ring of Cap+2 buffers, which is just enough that the
// producer never writes one the consumer may still be reading, so the run
// does not allocate per batch. ctx is checked before the run starts.
func Throughput(ctx context.Context, cfg ThroughputConfig) (ThroughputResult, error) {
	if err := ctx.Err(); err != nil {
		return ThroughputResult{}, err
	}
	if cfg.Batch == 0 {
		cfg.Batch = 1
	}
	if cfg.Msgs == 0 {
		cfg.Msgs = defaultMsgs
	}
	switch {
	case cfg.Cap < 0:
		return ThroughputResult{}, fmt.Errorf("channels: ThroughputConfig.Cap %d must be >= 0", cfg.Cap)
	case cfg.Batch < 0:
		return ThroughputResult{}, fmt.Errorf("channels: ThroughputConfig.Batch %d must be > 0", cfg.Batch)
	case cfg.Msgs < 0:
		return ThroughputResult{}, fmt.Errorf("channels: ThroughputConfig.Msgs %d must be > 0", cfg.Msgs)
	}
	capacity, batch, msgs := cfg.Cap, cfg.Batch, cfg.Msgs
	r := ThroughputResult{Cap: capacity, Batch: batch}
	var wg sync.WaitGroup
	var start time.Time
	if batch == 1 {
		ch := make(chan int, capacity)
		wg.Go(func() {
			for v := range ch {
				r.Sum += v
				r.Msgs++
			}
		})
		start = time.Now()
		for i := range msgs {
			ch <- i
		}
		close(ch)
	} else {
		// Sending buffer k completes only after the consumer received
		// buffer k-capacity-1, so it is done with k-capacity-2: a ring of
		// capacity+2 buffers is never written while being read.
		ring := make([][]int, capacity+2)
		for i := range ring {
			ring[i] = make([]int, batch)
		}
		ch := make(chan []int, capacity)
		wg.Go(func() {
			for buf := range ch {
				for _, v := range buf {
					r.Sum += v
				}
				r.Msgs += len(buf)
			}
		})
		start = time.Now()
		for i, k := 0, 0; i < msgs; k++ {
			buf := ring[k%len(ring)][:min(batch, msgs-i)]
			for j := range buf {
				buf[j] = i + j
			}
			ch <- buf
			i += len(buf)
		}
		close(ch)
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	return r, nil
}

// ContendedImpl names the shared place that producers hand messages to.
type ContendedImpl string

const (
	// ContendedChan is one channel of capacity ContendedCap drained by one
	// consumer goroutine.
	ContendedChan ContendedImpl = "chan"
	// ContendedMutex is a slice queue behind a sync.Mutex, with a
	// sync.Cond to wake one consumer goroutine, which swaps the whole
	// queue out at each wake-up.
	ContendedMutex ContendedImpl = "mutex"
	// ContendedAtomic is a single atomic counter each message increments:
	// no queue and no consumer, the floor of what sharing one cache line
	// costs.
	ContendedAtomic ContendedImpl = "atomic"
)

// ContendedCap is the capacity of the ContendedChan channel.
const ContendedCap = 64

// ContendedImpls returns every contention implementation, in a stable order.
func ContendedImpls() []ContendedImpl {
	return []ContendedImpl{ContendedChan, ContendedMutex, ContendedAtomic}
}

// String returns the value of the benchmark key impl: "chan", "mutex" or
// "atomic".
func (i ContendedImpl) String() string { return string(i) }

// ContendedConfig is one run of producers into one shared place. The zero
// value has GOMAXPROCS producers send 65536 messages to one channel.
type ContendedConfig struct {
	Impl      ContendedImpl // the shared place; ContendedChan if ""
	Producers int           // producer goroutines; GOMAXPROCS if 0
	Msgs      int           // messages from all producers together; 65536 if 0
}

// ContendedResult is one run of producers into one shared place.
type ContendedResult struct {
	Impl      ContendedImpl
	Producers int
	// Msgs is how many messages arrived: the consumer's count, or the
	// counter's final value for ContendedAtomic.
	Msgs    int
	Elapsed time.Duration
}

// PerMsg returns the mean time per message over all producers.
func (r ContendedResult) PerMsg() time.Duration {
	return per(r.Elapsed, r.Msgs)
}

// String summarizes r on one line: "contended mutex, 2 producers: 65536
// msgs in 7ms, 106ns per msg".
func (r ContendedResult) String() string {
	return fmt.Sprintf("contended %s, %d producers: %d msgs in %v, %v per msg",
		r.Impl, r.Producers, r.Msgs, r.Elapsed.Round(time.Microsecond), r.PerMsg())
}

// Contended runs cfg.Producers goroutines that together hand cfg.Msgs
// messages to one shared place of kind cfg.Impl, and times it until the
// last one arrived. ctx is checked before the run starts.
func Contended(ctx context.Context, cfg ContendedConfig) (ContendedResult, error) {
	if err := ctx.Err(); err != nil {
		return ContendedResult{}, err
	}
	if cfg.Impl == "" {
		cfg.Impl = ContendedChan
	}
	if cfg.Producers == 0 {
		cfg.Producers = runtime.GOMAXPROCS(0)
	}
	if cfg.Msgs == 0 {
		cfg.Msgs = defaultMsgs
	}
	impl, producers, msgs := cfg.Impl, cfg.Producers, cfg.Msgs
	switch {
	case producers < 0:
		return ContendedResult{}, fmt.Errorf("channels: ContendedConfig.Producers %d must be > 0", producers)
	case msgs < 0:
		return ContendedResult{}, fmt.Errorf("channels: ContendedConfig.Msgs %d must be > 0", msgs)
	}
	var send func(v int)
	var closeAndCount func() int
	switch impl {
	case ContendedChan:
		ch := make(chan int, ContendedCap)
		got := make(chan int)
		go func() {
			n := 0
			for range ch {
				n++
			}
			got <- n
		}()
		send = func(v int) { ch <- v }
		closeAndCount = func() int { close(ch); return <-got }
	case ContendedMutex:
		q := newMutexQueue()
		send = q.push
		closeAndCount = q.close
	case ContendedAtomic:
		var n atomic.Int64
		send = func(int) { n.Add(1) }
		closeAndCount = func() int { return int(n.Load()) }
	default:
		return ContendedResult{}, fmt.Errorf("channels: ContendedConfig.Impl %q is not one of chan, mutex, atomic", impl)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for p := range producers {
		// Producer p sends its share: msgs split as evenly as possible.
		n := msgs/producers + btoi(p < msgs%producers)
		wg.Go(func() {
			for i := range n {
				send(i)
			}
		})
	}
	wg.Wait()
	got := closeAndCount()
	return ContendedResult{Impl: impl, Producers: producers, Msgs: got, Elapsed: time.Since(start)}, nil
}

// per returns d / n, or 0 for no n.
func per(d time.Duration, n int) time.Duration {
	if n == 0 {
		return 0
	}
	return d / time.Duration(n)
}

// rate returns n per second of d, or 0 for no d.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mutexQueue is the ContendedMutex queue: producers append under the lock,
// one consumer goroutine takes the whole slice at each wake-up.
type mutexQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []int
	closed bool
	got    chan int
}

func newMutexQueue() *mutexQueue {
	q := &mutexQueue{items: make([]int, 0, ContendedCap), got: make(chan int)}
	q.cond.L = &q.mu
	go q.consume()
	return q
}

func (q *mutexQueue) push(v int) {
	q.mu.Lock()
	q.items = append(q.items, v)
	if len(q.items) == 1 {
		q.cond.Signal()
	}
	q.mu.Unlock()
}

func (q *mutexQueue) consume() {
	n := 0
	spare := make([]int, 0, ContendedCap)
	q.mu.Lock()
	for {
		for len(q.items) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.items) == 0 {
			break
		}
		batch := q.items
		q.items = spare[:0]
		q.mu.Unlock()
		n += len(batch) // a real consumer would handle the items here
		spare = batch
		q.mu.Lock()
	}
	q.mu.Unlock()
	q.got <- n
}

// close marks the queue closed and returns how many items the consumer
// took in all.
func (q *mutexQueue) close() int {
	q.mu.Lock()
	q.closed = true
	q.cond.Signal()
	q.mu.Unlock()
	return <-q.got
}
