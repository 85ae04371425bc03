package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/client"
	"github.com/rtlab/rtlab/wsconn/server"
)

// C40: wsconn/client's heartbeat and reconnection, watched from outside
// through its transitions, against a server that goes away and comes back
// and against one that never answers a ping.

// clientOptions are the heartbeat and backoff of the C40 runs: a ping every
// 100 ms, 100 ms for its pong, the n-th reconnection in a row after a delay
// drawn up to 20 ms·2^(n-1), at most 200 ms.
var clientOptions = client.Options{
	PingInterval: 100 * time.Millisecond, PongTimeout: 100 * time.Millisecond,
	BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond, Seed: 1,
}

// watchedClient is a started client whose transitions are recorded with
// the time they arrived.
type watchedClient struct {
	c     *client.Client
	start time.Time
	mu    sync.Mutex
	trs   []client.Transition
	at    []time.Duration // since start
	next  chan int        // index of each new transition
}

func startWatched(url string) (*watchedClient, error) {
	w := &watchedClient{next: make(chan int, 256), start: time.Now()}
	o := clientOptions
	o.OnState = func(t client.Transition) {
		w.mu.Lock()
		w.trs = append(w.trs, t)
		w.at = append(w.at, time.Since(w.start))
		i := len(w.trs) - 1
		w.mu.Unlock()
		select {
		case w.next <- i:
		default: // wait reads the record, not the channel, for what it missed
		}
	}
	c, err := client.New(url, o)
	if err != nil {
		return nil, err
	}
	w.c = c
	c.Start()
	return w, nil
}

// wait returns the first transition to state to from index from on, and
// its index, waiting up to d; -1 if none came.
func (w *watchedClient) wait(ctx context.Context, from int, to client.State, d time.Duration) (client.Transition, int) {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		w.mu.Lock()
		for i := from; i < len(w.trs); i++ {
			if w.trs[i].To == to {
				t := w.trs[i]
				w.mu.Unlock()
				return t, i
			}
		}
		w.mu.Unlock()
		select {
		case <-w.next:
		case <-timeout.C:
			return client.Transition{}, -1
		case <-ctx.Done():
			return client.Transition{}, -1
		}
	}
}

func (w *watchedClient) since(i int) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.at[i]
}

// states is the transitions so far: "Connecting → Open → ...".
func (w *watchedClient) states() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var s []string
	for _, t := range w.trs {
		s = append(s, t.To.String())
	}
	return strings.Join(s, " → ")
}

// backoffs lists the delays of the transitions to Backoff so far and
// whether each was under its full-jitter bound.
func (w *watchedClient) backoffs() (delays []time.Duration, inBounds bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	inBounds = true
	for _, t := range w.trs {
		if t.To != client.StateBackoff {
			continue
		}
		// The n-th retry in a row (the first after a lost connection
		// too) waits up to BackoffBase·2^(n-1), at most BackoffMax.
		bound := clientOptions.BackoffBase
		for i := 1; i < t.Attempt && bound < clientOptions.BackoffMax; i++ {
			bound *= 2
		}
		delays = append(delays, t.Delay)
		inBounds = inBounds && t.Delay <= min(bound, clientOptions.BackoffMax)
	}
	return delays, inBounds
}

// echoOn serves an echo server of the goroutine design on ln until stop.
func echoOn(ln net.Listener) (stop func(), err error) {
	srv, err := server.New(server.DesignGoroutine, wsconn.EchoHandler{}, server.Options{})
	if err != nil {
		ln.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// serverLoss shuts a client's server down and starts another on the same
// address: the client should back off and reconnect.
func serverLoss(ctx context.Context) (string, bool, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", false, err
	}
	addr := ln.Addr().String()
	stop, err := echoOn(ln)
	if err != nil {
		return "", false, err
	}
	w, err := startWatched("ws://" + addr)
	if err != nil {
		stop()
		return "", false, err
	}
	defer w.c.Close()
	if _, i := w.wait(ctx, 0, client.StateOpen, 5*time.Second); i < 0 {
		stop()
		return "", false, errors.New("the client never opened")
	}
	stop() // the server is gone
	time.Sleep(300 * time.Millisecond)
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		return "", false, fmt.Errorf("listening again on %s: %w", addr, err)
	}
	stop2, err := echoOn(ln2)
	if err != nil {
		return "", false, err
	}
	defer stop2()
	_, lost := w.wait(ctx, 0, client.StateBackoff, 5*time.Second)
	back := false
	if lost >= 0 {
		_, i := w.wait(ctx, lost, client.StateOpen, 5*time.Second)
		back = i >= 0
	}
	w.c.Close()
	delays, inBounds := w.backoffs()
	var ds []string
	for _, d := range delays {
		ds = append(ds, dur(d))
	}
	return fmt.Sprintf("server shut down and started again on the same address: %s (backoff delays %s, each under its full-jitter bound: %v)",
		w.states(), strings.Join(ds, ", "), inBounds), back && inBounds, nil
}

// pongTimeout connects a client to a server that never answers its pings:
// the client should lose the connection once a pong is overdue and
// reconnect.
func pongTimeout(ctx context.Context) (string, bool, error) {
	addr, stop, err := wstest.SilentServer()
	if err != nil {
		return "", false, err
	}
	defer stop()
	w, err := startWatched("ws://" + addr)
	if err != nil {
		return "", false, err
	}
	defer w.c.Close()
	_, open := w.wait(ctx, 0, client.StateOpen, 5*time.Second)
	if open < 0 {
		return "", false, errors.New("the client never opened against the silent server")
	}
	t, lost := w.wait(ctx, open, client.StateBackoff, 5*time.Second)
	if lost < 0 {
		return "a server that never answers pings: " + w.states(), false, nil
	}
	after := w.since(lost) - w.since(open)
	_, again := w.wait(ctx, lost, client.StateOpen, 5*time.Second)
	w.c.Close()
	ok := errors.Is(t.Err, client.ErrPongTimeout) && again >= 0
	return fmt.Sprintf("a server that never answers pings (ping every %s, pong timeout %s): the client gave the connection up %s after it opened (%v), then %s",
		dur(clientOptions.PingInterval), dur(clientOptions.PongTimeout), dur(after), t.Err, w.states()), ok, nil
}

// checkClientReconnect is C40.
func checkClientReconnect(ctx context.Context, l *lab) (finding, error) {
	loss, back, err := serverLoss(ctx)
	if err != nil {
		return finding{}, err
	}
	pong, timedOut, err := pongTimeout(ctx)
	if err != nil {
		return finding{Measured: loss}, err
	}
	m := loss + "; " + pong
	switch {
	case back && timedOut:
		return holds(m), nil
	case !back:
		return notHold(m, "the client did not reconnect to a server back on its address within 5 s, or backed off past its bound"), nil
	default:
		return notHold(m, "the client did not give up a connection whose pongs stopped, or did not reconnect after"), nil
	}
}
