package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/rtlab/rtlab/gc"
	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/sched"
	"github.com/rtlab/rtlab/wsconn/load"
	"github.com/rtlab/rtlab/wsconn/server"
)

// goShapes runs gc.Run over every survival and pointer density once: the
// Go side of C05, C06 and C47.
func (l *lab) goShapes(ctx context.Context) ([]gc.RunResult, error) {
	return once(ctx, l, "goShapes", func(ctx context.Context) ([]gc.RunResult, error) {
		live := q(l, int64(8<<20), int64(gc.DefaultLive))
		var out []gc.RunResult
		for _, s := range []float64{0.05, 0.2, 0.5} {
			for _, d := range gc.Densities() {
				r, err := gc.Run(ctx, gc.RunConfig{Shape: gc.Shape{Live: live, Survival: s, PointerDensity: d, Alloc: q(l, 4*live, 8*live)}})
				if err != nil {
					return nil, err
				}
				out = append(out, r)
			}
		}
		return out, nil
	})
}

// forceGC times runtime.GC on a live heap, then releases the heap and shows
// the collection freeing it.
func (l *lab) forceGC(ctx context.Context) (string, error) {
	live := q(l, int64(16<<20), int64(64<<20))
	h, err := gc.NewHeap(gc.Shape{Live: live, Survival: 0.2, PointerDensity: gc.DensityLow})
	if err != nil {
		return "", err
	}
	runtime.GC()
	t0 := time.Now()
	runtime.GC()
	d := time.Since(t0)
	before := heapLive()
	h.Release()
	runtime.GC()
	after := heapLive()
	return fmt.Sprintf("Go: runtime.GC on a %s live heap took %s; after releasing it a forced GC took the live heap from %s to %s",
		kib(float64(live)), dur(d), kib(float64(before)), kib(float64(after))), nil
}

func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

type preemptPair struct{ on, off sched.PreemptResult }

// preempt runs sched.Preempt with asynchronous preemption on and off.
func (l *lab) preempt(ctx context.Context) (on, off sched.PreemptResult, err error) {
	p, err := once(ctx, l, "preempt", func(ctx context.Context) (preemptPair, error) {
		loop := q(l, 100*time.Millisecond, 200*time.Millisecond)
		on, err := sched.Preempt(ctx, sched.PreemptConfig{Loop: loop})
		if err != nil {
			return preemptPair{}, err
		}
		off, err := sched.Preempt(ctx, sched.PreemptConfig{Loop: loop, AsyncPreemptOff: true})
		return preemptPair{on, off}, err
	})
	return p.on, p.off, err
}

type serverLifecycle struct {
	server string
	res    load.LifecycleResult
}

// lifecycleRuns is every server's trace; nodeErr says why nodews has none.
type lifecycleRuns struct {
	runs    []serverLifecycle
	nodeErr error
}

// lifecycles traces both server designs (reactor first) and, where node
// runs, Node's ws library through a connection lifecycle: C34 and C48.
func (l *lab) lifecycles(ctx context.Context) (lifecycleRuns, error) {
	return once(ctx, l, "lifecycles", func(ctx context.Context) (lifecycleRuns, error) {
		var out lifecycleRuns
		for _, srv := range []string{string(server.DesignReactor), string(server.DesignGoroutine), serverNodeWS} {
			r, err := lifecycle(ctx, srv, false, load.LifecycleConfig{
				Config: load.Config{Conns: q(l, 1000, 9000), Messages: q(l, 5, 20)},
				Idle:   q(l, 300*time.Millisecond, time.Second),
			})
			if srv == serverNodeWS && errors.Is(err, errNeedsNode) {
				out.nodeErr = err
				continue
			}
			if err != nil {
				return lifecycleRuns{}, fmt.Errorf("%s: %w", srv, err)
			}
			out.runs = append(out.runs, serverLifecycle{srv, r})
		}
		return out, nil
	})
}

type connsResult struct {
	res load.Result
	srv load.ProcStats
	// fit, if not empty, says why fewer connections were tried: the
	// server's process holds one descriptor for each.
	fit string
}

// connsRun holds 9000 connections (18000 in full mode, over two client
// processes) on a reactor server in a child process and echoes once on
// each: C41 and C42. Under an open-files limit too low for that, it holds
// as many as the server's process can (procmem.FitFDs) and says so.
func (l *lab) connsRun(ctx context.Context) (connsResult, error) {
	return once(ctx, l, "conns", func(ctx context.Context) (connsResult, error) {
		srv, err := load.DesignChild(server.DesignReactor)
		if err != nil {
			return connsResult{}, err
		}
		p, err := srv.Start(ctx)
		if err != nil {
			return connsResult{}, err
		}
		defer p.Close()
		conns, fit := procmem.FitFDs(q(l, 9000, 18000), 1, 0, "connections")
		lc, err := load.OpenChild(ctx, load.Config{Addr: p.Addr(), Conns: conns})
		if err != nil {
			return connsResult{}, err
		}
		defer lc.Close()
		res, err := lc.Flood(1)
		if err != nil {
			return connsResult{}, err
		}
		st, err := p.Stats()
		if err != nil {
			return connsResult{}, err
		}
		_, err = lc.Close()
		return connsResult{res, st, fit}, err
	})
}

// sampleBesideChurn runs a gc.Sampler every iv beside a heap of live bytes
// (survival 0.2, low pointer density) churned churns times, the workload
// of BenchmarkGCSampler, and returns what it recorded.
func sampleBesideChurn(ctx context.Context, live int64, iv time.Duration, churns int) (gc.Series, error) {
	h, err := gc.NewHeap(gc.Shape{Live: live, Survival: 0.2, PointerDensity: gc.DensityLow})
	if err != nil {
		return gc.Series{}, err
	}
	defer h.Release()
	s, err := gc.StartSampler(iv, nil)
	if err != nil {
		return gc.Series{}, err
	}
	for i := 0; i < churns && ctx.Err() == nil; i++ {
		h.Churn(live)
	}
	series, err := s.Stop()
	if err == nil {
		err = ctx.Err()
	}
	return series, err
}

// goSuite builds the root suite's test binary once per ledger run; close
// removes it.
func (l *lab) goSuite(ctx context.Context) (*suite, error) {
	return once(ctx, l, "suite", buildSuite)
}

// gorillaRows runs the root suite's rows of C36: a 1 KiB message read by
// rtlab's frame path and by gorilla/websocket (BenchmarkWSFrameRead), and
// the echo at a fixed rate against rtlab's reactor and a gorilla server
// (BenchmarkWSEchoRate, -short in --quick).
func (l *lab) gorillaRows(ctx context.Context) (*benchRun, error) {
	return once(ctx, l, "gorilla", func(ctx context.Context) (*benchRun, error) {
		s, err := l.goSuite(ctx)
		if err != nil {
			return nil, err
		}
		fr, err := s.bench(ctx, "^BenchmarkWSFrameRead$/^impl=(rtlab|gorilla)$/^size=1024$", q(l, "0.2s", ""), false)
		if err != nil {
			return nil, err
		}
		er, err := s.bench(ctx, "^BenchmarkWSEchoRate$/^server=(reactor|gorilla)$/././^tls=off$", "1x", l.quick)
		if err != nil {
			return nil, err
		}
		return &benchRun{results: append(fr.results, er.results...)}, nil
	})
}
