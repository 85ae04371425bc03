package channels

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ThroughputResult is one producer-to-one-consumer run through a channel.
type ThroughputResult struct {
	Capacity, Batch int
	// Msgs is how many messages the consumer received and Sum the sum of
	// their values (0..Msgs-1), so a caller can check none was lost.
	Msgs    int
	Sum     int
	Elapsed time.Duration
}

// MsgsPerSec returns the message rate.
func (r ThroughputResult) MsgsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Msgs) / r.Elapsed.Seconds()
}

// Throughput sends msgs ints from the calling goroutine to a consumer
// goroutine through a channel of the given capacity. With batch 1 each int
// is one channel operation; with batch > 1 the producer sends slices of up
// to batch ints, so one channel operation carries batch messages. The
// slices come from a ring of capacity+2 buffers, which is just enough that
// the producer never writes one the consumer may still be reading, so the
// run does not allocate per batch.
func Throughput(capacity, batch, msgs int) (ThroughputResult, error) {
	switch {
	case capacity < 0:
		return ThroughputResult{}, fmt.Errorf("channels: capacity %d must be >= 0", capacity)
	case batch <= 0:
		return ThroughputResult{}, fmt.Errorf("channels: batch %d must be > 0", batch)
	case msgs <= 0:
		return ThroughputResult{}, fmt.Errorf("channels: msgs %d must be > 0", msgs)
	}
	r := ThroughputResult{Capacity: capacity, Batch: batch}
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
	if r.Msgs == 0 {
		return 0
	}
	return r.Elapsed / time.Duration(r.Msgs)
}

// Contended runs producers goroutines that together hand msgs messages to
// one shared place of kind impl, and times it until the last one arrived.
func Contended(impl ContendedImpl, producers, msgs int) (ContendedResult, error) {
	switch {
	case producers <= 0:
		return ContendedResult{}, fmt.Errorf("channels: producers %d must be > 0", producers)
	case msgs <= 0:
		return ContendedResult{}, fmt.Errorf("channels: msgs %d must be > 0", msgs)
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
		return ContendedResult{}, fmt.Errorf("channels: contended impl %q is not one of chan, mutex, atomic", impl)
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
