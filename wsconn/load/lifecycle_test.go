package load

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestLifecycleValidate(t *testing.T) {
	ok := LifecycleConfig{Server: goroutineChild, Config: Config{Conns: 1}}
	for _, tc := range []struct {
		name string
		mod  func(*LifecycleConfig)
		want string
	}{
		{"server", func(l *LifecycleConfig) { l.Server = ServerChild{} }, "LifecycleConfig.Server is zero"},
		{"addr", func(l *LifecycleConfig) { l.Addr = "127.0.0.1:1" }, `LifecycleConfig.Addr "127.0.0.1:1" must be empty`},
		{"conns", func(l *LifecycleConfig) { l.Conns = -1 }, "Config.Conns -1 must be > 0"},
		{"messages", func(l *LifecycleConfig) { l.Messages = -1 }, "Config.Messages -1"},
		{"msgsize", func(l *LifecycleConfig) { l.MsgSize = 8 }, "Config.MsgSize 8 must be >= 24"},
		{"rate", func(l *LifecycleConfig) { l.Rate = -1 }, "Config.Rate -1 must be >= 0"},
		{"idle", func(l *LifecycleConfig) { l.Idle = -1 }, "LifecycleConfig.Idle"},
		{"interval", func(l *LifecycleConfig) { l.Interval = -1 }, "LifecycleConfig.Interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := ok
			tc.mod(&l)
			_, err := Lifecycle(context.Background(), l)
			require.ErrorContains(t, err, "wsconn/load: "+tc.want)
		})
	}
}

func TestLifecycle(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	const conns = 200
	prof := filepath.Join(t.TempDir(), "establish.pprof")
	r, err := Lifecycle(context.Background(), LifecycleConfig{
		Config: Config{Conns: conns, Messages: 5, MsgSize: 512},
		Server: goroutineChild, Idle: 100 * time.Millisecond, Interval: 20 * time.Millisecond,
		CPUProfile: prof,
	})
	require.NoError(t, err)
	require.NoError(t, r.Load.Err())
	assert.Equal(t, uint64(conns*5), r.Load.Received)

	var names []string
	for _, p := range r.Phases {
		names = append(names, p.Phase)
		t.Logf("%-9s rss %+9d vss %+10d heap %+9d (live %+9d) stacks %+8d goroutines %+5d  (rss %d)",
			p.Phase, p.DRSS, p.DVSS, p.DHeapInUse, p.DHeapLive, p.DStacks, p.DGoroutines, p.End.RSS)
	}
	require.Equal(t, Phases(), names)
	base, _ := r.Phase(PhaseBaseline)
	est, _ := r.Phase(PhaseEstablish)
	closed, _ := r.Phase(PhaseClose)
	// The goroutine design holds one goroutine per connection.
	assert.GreaterOrEqual(t, est.End.Goroutines, base.End.Goroutines+conns)
	assert.GreaterOrEqual(t, est.End.FDs, base.End.FDs+conns)
	assert.LessOrEqual(t, closed.End.FDs, base.End.FDs)
	// Each phase's deltas are from the end of the phase before it, so they
	// chain: summed over the phases after the baseline they are the whole
	// change from the baseline to the last phase (a delta taken from the
	// wrong phase breaks the chain).
	last := r.Phases[len(r.Phases)-1].End
	var dRSS, dGoroutines int64
	var dCPU time.Duration
	for _, p := range r.Phases[1:] {
		dRSS += p.DRSS
		dGoroutines += p.DGoroutines
		dCPU += p.DCPU
	}
	assert.Equal(t, int64(last.RSS)-int64(base.End.RSS), dRSS)
	assert.Equal(t, last.CPU-base.End.CPU, dCPU)
	assert.GreaterOrEqual(t, last.CPU, base.End.CPU, "CPU time only grows")
	assert.Positive(t, r.EstablishRate())
	t.Logf("establish: %.0f conns/s, server CPU %v/conn", r.EstablishRate(), r.EstablishCPUPerConn())
	// The establish phase's CPU profile: a gzipped pprof protobuf.
	b, err := os.ReadFile(prof)
	require.NoError(t, err)
	require.Greater(t, len(b), 2)
	assert.Equal(t, []byte{0x1f, 0x8b}, b[:2], "gzip, as runtime/pprof writes")
	assert.Equal(t, int64(last.Goroutines)-int64(base.End.Goroutines), dGoroutines)
	assert.GreaterOrEqual(t, est.DGoroutines, int64(conns), "a goroutine per connection established")
	assert.Positive(t, r.EstablishPerConn(), "connections cost the server memory")
	assert.LessOrEqual(t, r.FreeReturned(), 100.0+1e-9)
	_, ok := r.Phase("nope")
	assert.False(t, ok)

	// Samples are in phase order and time order. Only the first (taken when
	// sampling starts) and the last (taken when it stops) are certain to fall
	// in a given phase: a sampler starved on a loaded machine may skip one
	// of the short phases in between.
	require.NotEmpty(t, r.Samples)
	seen := map[string]bool{}
	for i, s := range r.Samples {
		seen[s.Phase] = true
		assert.Positive(t, s.RSS)
		if i > 0 {
			prev := r.Samples[i-1]
			assert.GreaterOrEqual(t, s.Elapsed, prev.Elapsed)
			assert.GreaterOrEqual(t, slices.Index(lifecyclePhases, s.Phase), slices.Index(lifecyclePhases, prev.Phase))
		}
	}
	for _, p := range []string{PhaseBaseline, PhaseFree} {
		assert.True(t, seen[p], "samples in phase %s", p)
	}

	var buf bytes.Buffer
	require.NoError(t, r.WriteCSV(&buf))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, len(r.Samples)+1)
	assert.Equal(t, CSVHeader, rows[0])
	assert.Equal(t, PhaseBaseline, rows[1][0])
	assert.Equal(t, PhaseFree, rows[len(rows)-1][0])
}
