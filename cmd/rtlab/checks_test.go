package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/nodejs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCountEvents counts a software event on the process's threads while
// they spin: where perf_event_open works at all, the count is positive.
func TestCountEvents(t *testing.T) {
	spin := func() error {
		for t0 := time.Now(); time.Since(t0) < 20*time.Millisecond; {
		}
		return nil
	}
	got, err := countEvents(spin, perfTaskClock)
	if errors.Is(err, errPerf) {
		assert.Regexp(t, `^unsupported here: `, err.Error())
		t.Skip(err)
	}
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Positive(t, got[0], "task clock ns over a 20 ms spin")

	boom := errors.New("boom")
	_, err = countEvents(func() error { return boom }, perfTaskClock)
	assert.ErrorIs(t, err, boom, "the function's error comes back")
}

// TestNodeBlockedPool: with twice the pool's threads blocked in open(2),
// a further fs call waits for them: it cannot complete before they are
// released, whatever the machine's speed.
func TestNodeBlockedPool(t *testing.T) {
	if _, err := nodejs.Find(); err != nil {
		t.Skip(err)
	}
	t.Setenv("UV_THREADPOOL_SIZE", "4")
	p, err := nodeBlockedPool(t.Context(), 8, 100*time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, 4, p.PoolSize)
	assert.Equal(t, 8, p.Blocked)
	assert.False(t, p.StatBeforeRelease, "an fs.stat behind 8 blocked opens on a pool of 4 completed before they were released: %+v", p)
	assert.Greater(t, p.ThreadsPool, p.ThreadsBefore, "the first fs call starts the pool's threads: %+v", p)
	assert.Positive(t, p.StatBlockedMs)
}

// TestClientC40 runs C40's two scenes: the client comes back to a server
// restarted on its address, and gives up a server that never answers a
// ping, with ErrPongTimeout, then reconnects.
func TestClientC40(t *testing.T) {
	m, back, err := serverLoss(t.Context())
	require.NoError(t, err)
	assert.True(t, back, m)
	assert.Contains(t, m, "Backoff → Connecting")

	m, timedOut, err := pongTimeout(t.Context())
	require.NoError(t, err)
	assert.True(t, timedOut, m)
	assert.Contains(t, m, "no pong within PongTimeout")
}

// TestFalseSharingVerdict: C46 says which runtime paid for packed
// counters, from the figures it is given.
func TestFalseSharingVerdict(t *testing.T) {
	slow, even := [2]float64{30, 10}, [2]float64{10, 10}
	var none [2]float64
	for _, tc := range []struct {
		name            string
		cpus, procs     int
		goNs, l1d, node [2]float64
		on              string
	}{
		{"both pay", 2, 2, slow, none, slow, "in Go and JavaScript alike: counters in one cache line cost both runtimes more (Go 3.0x, Node 3.0x)"},
		{"Go pays in L1d misses", 2, 2, even, [2]float64{0.5, 0.1}, slow, "in Go and JavaScript alike"},
		{"Go only", 2, 2, slow, none, even, "Go's packed counters cost 3.0x its padded ones here and Node's 1.0x"},
		{"Node only", 2, 2, even, none, slow, "Node's packed counters cost 3.0x its padded ones here and Go's 1.0x"},
		{"neither", 2, 2, even, none, even, "the machine: neither runtime's packed counters took 1.3x"},
		{"one CPU", 1, 1, slow, none, slow, "with one CPU"},
		{"one P", 2, 1, slow, none, slow, "with one P"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := falseSharingVerdict("m", tc.cpus, tc.procs, tc.goNs, tc.l1d, tc.node)
			assert.Equal(t, verdictDepends, f.Verdict)
			assert.Equal(t, "m", f.Measured)
			assert.Contains(t, f.On, tc.on)
		})
	}
}

// TestLookupByPrefix: a row is found by its name or by a name that
// extends it, preferring one with no level set to "on" (a tls=on row).
func TestLookupByPrefix(t *testing.T) {
	res, err := nodejs.Parse([]byte(
		"BenchmarkWSEchoRate/server=reactor/conns=1000/rate=2000/tls=on-2 1 0 ns/op 900000 p50-ns\n"+
			"BenchmarkWSEchoRate/server=reactor/conns=1000/rate=2000/tls=off-2 1 0 ns/op 800000 p50-ns\n"+
			"BenchmarkWSFrameRead/impl=rtlab-direct 1 60 ns/op\n"+
			"BenchmarkWSFrameRead/impl=rtlab 1 50 ns/op\n"), "x")
	require.NoError(t, err)
	r := &benchRun{results: res}
	v, ok := r.value("WSEchoRate/server=reactor/conns=1000", "p50-ns")
	assert.True(t, ok)
	assert.Equal(t, 800000.0, v, "the tls=off row")
	v, ok = r.value("WSFrameRead/impl=rtlab", "sec/op")
	assert.True(t, ok)
	assert.InDelta(t, 50e-9, v, 1e-15, "impl=rtlab, not impl=rtlab-direct (GOMAXPROCS 1: no -N suffix)")
	_, ok = r.value("WSEchoRate/server=gorilla", "p50-ns")
	assert.False(t, ok)
}

// TestPlotCaption: the caption names this machine and Go, and Node's
// version only when Node's figures are drawn (or why none are).
func TestPlotCaption(t *testing.T) {
	var src plotSource
	c := src.caption()
	assert.Contains(t, c, runtime.Version())
	assert.Contains(t, c, fmt.Sprintf("GOMAXPROCS %d", runtime.GOMAXPROCS(0)))
	assert.NotContains(t, c, "node")
	src.without("-node=false")
	assert.Contains(t, src.caption(), "; no Node figures: -node=false")
	src.node = "v20.0.0"
	assert.Contains(t, src.caption(), ", node v20.0.0")
}

// TestLifecyclePlotFromCSV records a trace with run ws-lifecycle -csv and
// draws it with plot lifecycle -csv: the caption names the machine that
// recorded it.
func TestLifecyclePlotFromCSV(t *testing.T) {
	if raceEnabled {
		t.Skip("server and load processes are too slow under the race detector")
	}
	dir := t.TempDir()
	_, stderr, code := run(t, "run", "ws-lifecycle", "-server", "reactor", "-conns", "50", "-tls", "off", "-csv", dir)
	require.Zero(t, code, stderr)
	svg := filepath.Join(dir, "l.svg")
	_, stderr, code = run(t, "plot", "lifecycle", "-csv", dir, "-o", svg)
	require.Zero(t, code, stderr)
	b, err := os.ReadFile(svg)
	require.NoError(t, err)
	assert.Contains(t, string(b), "traces from "+dir+", recorded on ")
	assert.Contains(t, string(b), runtime.Version())
}

func TestWrapWords(t *testing.T) {
	assert.Equal(t, []string{"ab cd", "efghij", "k"}, wrapWords("ab cd efghij k", 5))
	assert.Equal(t, []string{"one line"}, wrapWords("one line", 80))
}

// TestGorillaRows: the root suite's rows C36 reads are there, by the names
// it reads them (a row renamed in the suite fails here, not as a skip in the
// ledger).
func TestGorillaRows(t *testing.T) {
	if raceEnabled {
		t.Skip("builds and runs the root suite's server benchmarks: too slow under the race detector")
	}
	l := newLab(true)
	defer l.close()
	r, err := l.gorillaRows(t.Context())
	require.NoError(t, err)
	for _, x := range []struct{ name, unit string }{
		{"WSFrameRead/impl=rtlab/size=1024", "allocs/op"}, {"WSFrameRead/impl=gorilla/size=1024", "sec/op"},
		{"WSEchoRate/server=reactor", "p50-ns"}, {"WSEchoRate/server=gorilla", "p50-ns"},
	} {
		_, err := r.must(x.name, x.unit)
		assert.NoError(t, err)
	}
	for _, res := range r.results {
		assert.NotContains(t, string(res.Name), "tls=on", "C36 compares ws:// echoes")
	}
}
