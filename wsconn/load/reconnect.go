package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ReconnectConfig is one run of Reconnect.
type ReconnectConfig struct {
	// Server is the server child; required. With ServerChild.WithTLS the
	// storm is of TLS handshakes.
	Server ServerChild
	// Conns is the clients that drop and redial at once; 0 means 1000.
	Conns int
	// Load sets the clients (ConnsPerProc, Dialers, Timeout, ...); its
	// Addr and Conns are Reconnect's to fill. Against a wss:// server its
	// TLS is filled in with the server's CA; set Load.TLS only to set
	// TLSConfig.Resume, which makes the redials resume the sessions of the
	// first dials.
	Load Config
}

// ReconnectResult is a reconnect storm: every client dropped its
// connection and dialled again at once, as after a server restart.
type ReconnectResult struct {
	Conns int
	// Elapsed is the storm's length, from the drop to the last client
	// upgraded again.
	Elapsed time.Duration
	// ServerCPU is the CPU time the server process used during the storm.
	ServerCPU time.Duration
	// Resumed is how many of the redials resumed a TLS session.
	Resumed int
	// Connect is the redials' latency: TCP connect, TLS handshake (wss) and
	// the opening handshake.
	Connect *LatencyHist
}

// PerSec is the connections the server took per second during the storm.
func (r ReconnectResult) PerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Conns) / r.Elapsed.Seconds()
}

// CPUPerConn is the server's CPU time per connection of the storm.
func (r ReconnectResult) CPUPerConn() time.Duration {
	return r.ServerCPU / time.Duration(max(r.Conns, 1))
}

// String is the result on one line.
func (r ReconnectResult) String() string {
	return fmt.Sprintf("%d clients redialled in %v: %.0f conns/s, server CPU %v/conn, %d resumed, connect p50 %v p99 %v",
		r.Conns, r.Elapsed.Round(time.Millisecond), r.PerSec(), r.CPUPerConn(), r.Resumed,
		r.Connect.Quantile(0.5), r.Connect.Quantile(0.99))
}

// Reconnect measures a reconnect storm: it starts the server in a child
// process, opens Conns connections from other child processes (with
// resumption on, each client keeps the session ticket of its first dial),
// then has every client close its connection and dial again, all at once,
// and reads the storm's length and the server's CPU time over it. It is
// what a server restart costs when the clients come back together; a
// restart that loses the server's session ticket keys makes every
// handshake full, as Resume off does here. A redial that fails is an
// error.
func Reconnect(ctx context.Context, cfg ReconnectConfig) (ReconnectResult, error) {
	if cfg.Server.zero() {
		return ReconnectResult{}, errors.New("wsconn/load: ReconnectConfig.Server is zero; obtain one from RegisterServerChild")
	}
	if cfg.Conns < 0 {
		return ReconnectResult{}, fmt.Errorf("wsconn/load: ReconnectConfig.Conns %d must be > 0", cfg.Conns)
	}
	res := ReconnectResult{Conns: cfg.Conns}
	if res.Conns == 0 {
		res.Conns = 1000
	}
	srv, err := cfg.Server.Start(ctx)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	load := cfg.Load
	load.Addr, load.Conns = srv.Addr(), res.Conns
	if load.TLS, err = srv.loadTLS(load.TLS, "ReconnectConfig.Load.TLS"); err != nil {
		return res, err
	}
	clients, err := OpenChild(ctx, load)
	if err != nil {
		return res, err
	}
	defer clients.Close()
	before, err := srv.Stats()
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	storm, err := clients.Redial()
	res.Elapsed = time.Since(t0)
	if err != nil {
		return res, err
	}
	after, err := srv.Stats()
	if err != nil {
		return res, err
	}
	res.ServerCPU = after.CPU - before.CPU
	res.Resumed = storm.Resumed
	res.Connect = storm.Connect
	if err := storm.Err(); err != nil {
		return res, err
	}
	if storm.Opened != res.Conns {
		return res, fmt.Errorf("wsconn/load: reconnect: %d of %d clients redialled", storm.Opened, res.Conns)
	}
	return res, nil
}

// Redial closes every connection of the session and dials them all again at
// once (Config.Dialers at a time), and returns what those dials did: the
// connections opened, the TLS sessions resumed, their latency, their
// errors. The session's own counters go on counting.
func (s *Session) Redial(ctx context.Context) (Result, error) {
	if s.hbStop != nil {
		return Result{}, errors.New("wsconn/load: Redial with Config.Heartbeat on: the heartbeat would ping connections being redialled")
	}
	for _, c := range s.conns {
		s.closeConn(c)
	}
	storm := &Session{cfg: s.cfg, tls: s.tls, start: time.Now(), errors: map[string]uint64{}}
	sem := make(chan struct{}, s.cfg.Dialers)
	var wg sync.WaitGroup
	for _, c := range s.conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if storm.dial(ctx, c) == nil {
				s.opened.Add(1)
				s.open.Add(1)
				s.reconnects.Add(1)
			}
		})
	}
	wg.Wait()
	r := storm.Result()
	r.Conns = int(s.open.Load())
	return r, ctx.Err()
}

// Redial has every child redial all its connections at once (Session.Redial)
// and merges what the redials did.
func (lc *ChildSession) Redial() (Result, error) { return lc.all("redial") }
