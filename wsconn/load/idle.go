package load

import (
	"context"
	"errors"
	"fmt"
)

// IdleConfig is one run of Idle.
type IdleConfig struct {
	// Server is the server child to measure; required.
	Server ServerChild
	// Conns is the connections to hold; 0 means 1000.
	Conns int
	// Load sets the clients (ConnsPerProc, Timeout, ...); its Addr and
	// Conns are Idle's to fill, its Messages and MsgSize are unused. Its
	// TLS is filled in against a wss:// server (ServerChild.WithTLS), with
	// the server's CA; set it only to set TLSConfig.Resume.
	Load Config
}

// IdleResult is what an idle connection costs a server, per connection:
// the growth of the server process over its own baseline, both read after
// a forced GC.
type IdleResult struct {
	Conns int
	// RSS is the resident set growth per connection (B/conn), read from
	// /proc outside the server; Heap, Stacks and Goroutines are the server
	// runtime's own figures over the same interval (heap-B/conn,
	// stack-B/conn, goroutines/conn).
	RSS, Heap, Stacks, Goroutines float64
}

// String is the result on one line.
func (r IdleResult) String() string {
	return fmt.Sprintf("%d idle connections: %.0f B/conn RSS, %.0f B/conn heap, %.0f B/conn stacks, %.3f goroutines/conn",
		r.Conns, r.RSS, r.Heap, r.Stacks, r.Goroutines)
}

// Idle starts the server in a child process and, in other child processes,
// Conns clients that each echo one message, then reads the server after a
// forced GC against its own baseline (also after a GC). This is what
// BenchmarkWSIdleConns reports. An echo lost or corrupted is an error.
func Idle(ctx context.Context, cfg IdleConfig) (IdleResult, error) {
	if cfg.Server.zero() {
		return IdleResult{}, errors.New("wsconn/load: IdleConfig.Server is zero; obtain one from RegisterServerChild")
	}
	if cfg.Conns < 0 {
		return IdleResult{}, fmt.Errorf("wsconn/load: IdleConfig.Conns %d must be > 0", cfg.Conns)
	}
	conns := cfg.Conns
	if conns == 0 {
		conns = 1000
	}
	p, err := cfg.Server.Start(ctx)
	if err != nil {
		return IdleResult{}, err
	}
	defer p.Close()
	base, err := p.GC()
	if err != nil {
		return IdleResult{}, err
	}
	lcfg := cfg.Load
	lcfg.Addr, lcfg.Conns = p.Addr(), conns
	if lcfg.TLS, err = p.loadTLS(cfg.Load.TLS, "IdleConfig.Load.TLS"); err != nil {
		return IdleResult{}, err
	}
	lc, err := OpenChild(ctx, lcfg)
	if err != nil {
		return IdleResult{}, err
	}
	defer lc.Close()
	res, err := lc.Flood(1)
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		return IdleResult{}, err
	}
	st, err := p.GC()
	if err != nil {
		return IdleResult{}, err
	}
	per := func(after, before uint64) float64 { return (float64(after) - float64(before)) / float64(conns) }
	return IdleResult{
		Conns:      conns,
		RSS:        per(st.RSS, base.RSS),
		Heap:       per(st.HeapLive, base.HeapLive),
		Stacks:     per(st.Stacks, base.Stacks),
		Goroutines: per(st.Goroutines, base.Goroutines),
	}, nil
}
