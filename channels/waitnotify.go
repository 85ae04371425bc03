package channels

import (
	"sync"
	"sync/atomic"
	"time"
)

// WaitResult is what a wait returned, named after the strings
// Atomics.wait returns in JavaScript.
type WaitResult int

const (
	// WaitResultWoken means a Notify on the address woke the waiter
	// ("ok").
	WaitResultWoken WaitResult = iota
	// WaitResultNotEqual means the word did not hold the expected value,
	// so the caller did not sleep ("not-equal").
	WaitResultNotEqual
	// WaitResultTimedOut means the timeout passed with no Notify
	// ("timed-out").
	WaitResultTimedOut
)

// WaitResults returns every WaitResult, in a stable order.
func WaitResults() []WaitResult {
	return []WaitResult{WaitResultWoken, WaitResultNotEqual, WaitResultTimedOut}
}

// String returns the Atomics.wait name of r: "ok", "not-equal" or
// "timed-out".
func (r WaitResult) String() string {
	switch r {
	case WaitResultWoken:
		return "ok"
	case WaitResultNotEqual:
		return "not-equal"
	case WaitResultTimedOut:
		return "timed-out"
	}
	return "WaitResult(?)"
}

// WaitNotify parks goroutines on the address of an atomic word and wakes
// them, with the semantics of JavaScript's Atomics.wait and Atomics.notify
// (and of a Linux futex): Wait sleeps only if the word still holds the
// expected value, checked atomically with joining the address's FIFO queue,
// so a Notify that follows a store to the word can never be lost.
//
// The intended use is a loop around a condition on the word:
//
//	for word.Load() == busy {
//		wn.Wait(&word, busy)
//	}
//
// and, on the other side, word.Store(free) then wn.Notify(&word, 1).
//
// The zero value is ready to use; a WaitNotify must not be copied after
// first use. One WaitNotify serves any number of addresses.
type WaitNotify struct {
	// waiting counts the goroutines that joined (or are joining) a queue.
	// Notify reads it without the lock, which is safe because a waiter
	// increments it before loading the word and a notifier stores the word
	// before loading it: the SB litmus test with sequentially consistent
	// atomics, whose forbidden outcome (both read the old value) cannot
	// happen. With plain fields it could, and a wake-up would be lost.
	waiting atomic.Int64
	mu      sync.Mutex
	queues  map[*atomic.Int32]waitQueue
	pool    sync.Pool // of *waiter
}

// waiter is one parked goroutine. It parks by receiving from ch, which has
// room for the single wake-up a Notify sends it.
type waiter struct {
	ch         chan struct{}
	prev, next *waiter
	queued     bool
}

type waitQueue struct{ head, tail *waiter }

// Wait parks the calling goroutine on addr if *addr == old, until a Notify
// on addr wakes it, and returns WaitResultWoken; if *addr != old it returns
// WaitResultNotEqual at once. Like Atomics.wait it can also return after a
// Notify that did not change the word, so callers re-check their condition
// in a loop.
func (w *WaitNotify) Wait(addr *atomic.Int32, old int32) WaitResult {
	wt, r := w.enqueue(addr, old)
	if wt == nil {
		return r
	}
	<-wt.ch
	w.pool.Put(wt)
	return WaitResultWoken
}

// WaitTimeout is Wait that gives up after d and returns
// WaitResultTimedOut, as Atomics.wait with a timeout does. A d <= 0 only
// checks the word: it returns WaitResultNotEqual or WaitResultTimedOut
// without sleeping.
func (w *WaitNotify) WaitTimeout(addr *atomic.Int32, old int32, d time.Duration) WaitResult {
	if d <= 0 {
		if addr.Load() != old {
			return WaitResultNotEqual
		}
		return WaitResultTimedOut
	}
	wt, r := w.enqueue(addr, old)
	if wt == nil {
		return r
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-wt.ch:
		w.pool.Put(wt)
		return WaitResultWoken
	case <-t.C:
	}
	w.mu.Lock()
	if wt.queued {
		w.remove(addr, wt)
		w.waiting.Add(-1)
		w.mu.Unlock()
		w.pool.Put(wt)
		return WaitResultTimedOut
	}
	w.mu.Unlock()
	// A Notify dequeued us between the timer and the lock; its wake-up is
	// in the channel (or about to be) and is ours to take.
	<-wt.ch
	w.pool.Put(wt)
	return WaitResultWoken
}

// Notify wakes at most n goroutines waiting on addr, oldest first, and
// returns how many it woke. n <= 0 wakes none; pass math.MaxInt to wake
// all, as Atomics.notify does without a count. Store the new value in
// *addr before calling Notify.
func (w *WaitNotify) Notify(addr *atomic.Int32, n int) int {
	if n <= 0 || w.waiting.Load() == 0 {
		return 0
	}
	w.mu.Lock()
	woke := 0
	for ; woke < n; woke++ {
		wt := w.queues[addr].head
		if wt == nil {
			break
		}
		w.remove(addr, wt)
		wt.ch <- struct{}{} // never blocks: room for one, sent once
	}
	w.waiting.Add(-int64(woke))
	w.mu.Unlock()
	return woke
}

// enqueue checks *addr == old and joins addr's queue, under the lock, or
// returns WaitResultNotEqual.
func (w *WaitNotify) enqueue(addr *atomic.Int32, old int32) (*waiter, WaitResult) {
	w.mu.Lock()
	w.waiting.Add(1)
	if addr.Load() != old {
		w.waiting.Add(-1)
		w.mu.Unlock()
		return nil, WaitResultNotEqual
	}
	wt, _ := w.pool.Get().(*waiter)
	if wt == nil {
		wt = &waiter{ch: make(chan struct{}, 1)}
	}
	if w.queues == nil {
		w.queues = map[*atomic.Int32]waitQueue{}
	}
	q := w.queues[addr]
	wt.prev, wt.next, wt.queued = q.tail, nil, true
	if q.tail != nil {
		q.tail.next = wt
	} else {
		q.head = wt
	}
	q.tail = wt
	w.queues[addr] = q
	w.mu.Unlock()
	return wt, WaitResultWoken
}

// remove unlinks wt from addr's queue and drops the queue when it empties.
// The caller holds w.mu.
func (w *WaitNotify) remove(addr *atomic.Int32, wt *waiter) {
	q := w.queues[addr]
	if wt.prev != nil {
		wt.prev.next = wt.next
	} else {
		q.head = wt.next
	}
	if wt.next != nil {
		wt.next.prev = wt.prev
	} else {
		q.tail = wt.prev
	}
	wt.prev, wt.next, wt.queued = nil, nil, false
	if q.head == nil {
		delete(w.queues, addr)
	} else {
		w.queues[addr] = q
	}
}

// waiters returns how many goroutines are parked on addr (for tests).
func (w *WaitNotify) waiters(addr *atomic.Int32) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for wt := w.queues[addr].head; wt != nil; wt = wt.next {
		n++
	}
	return n
}
