package load

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestEchoRateValidate(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	addr := rawEcho(t, func(_ int, p []byte) ([]byte, bool) { return p, false })
	s, err := Open(context.Background(), Config{Addr: addr, Conns: 1})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	for _, tc := range []struct {
		rc   RateConfig
		want string
	}{
		{RateConfig{Duration: time.Second}, "RateConfig.Rate 0 must be > 0"},
		{RateConfig{Rate: -5, Duration: time.Second}, "RateConfig.Rate -5"},
		{RateConfig{Rate: 10}, "RateConfig.Duration 0s must be > 0"},
	} {
		_, err := s.EchoRate(context.Background(), tc.rc)
		assert.ErrorContains(t, err, "wsconn/load: "+tc.want)
	}
}

func TestEchoRate(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	addr := rawEcho(t, func(_ int, p []byte) ([]byte, bool) { return p, false })
	s, err := Open(context.Background(), Config{Addr: addr, Conns: 10, MsgSize: 100})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Flood(context.Background(), 2), "sequence numbers go on after a flood")
	for _, oneInFlight := range []bool{false, true} {
		// 10 connections at 500/s in all for 400 ms: each sends every 20 ms,
		// staggered 2 ms apart, 20 messages, 200 in all.
		res, err := s.EchoRate(context.Background(), RateConfig{Rate: 500, Duration: 400 * time.Millisecond, OneInFlight: oneInFlight})
		require.NoError(t, err)
		require.NoError(t, res.Err(), "%v", res)
		assert.Equal(t, 10, res.Conns)
		assert.Equal(t, uint64(200), res.Scheduled)
		assert.Equal(t, uint64(200), res.Sent)
		assert.Equal(t, uint64(200), res.Received)
		assert.Equal(t, uint64(200), res.Latency.Count())
		assert.Equal(t, uint64(200), res.SendLatency.Count())
		assert.GreaterOrEqual(t, res.Elapsed, 400*time.Millisecond)
		// Each latency from the schedule is at least the one from the
		// send, which leaves at or after its scheduled time.
		assert.GreaterOrEqual(t, res.Latency.Quantile(0.99), res.SendLatency.Quantile(0.99))
		assert.Positive(t, res.Achieved())
		assert.LessOrEqual(t, res.Achieved(), 500.0*1.0001, "200 echoes cannot come back faster than 400 ms")
	}
	require.NoError(t, s.Flood(context.Background(), 2), "the connections are still in step")
	res := s.Close()
	require.NoError(t, res.Err())
}

// stallingEcho echoes every message, except that the whole server stops
// for stall once, after after since its first message.
func stallingEcho(t *testing.T, after, stall time.Duration) string {
	var (
		gate  sync.RWMutex
		first sync.Once
		done  = make(chan struct{})
	)
	t.Cleanup(func() { <-done })
	return rawEcho(t, func(_ int, p []byte) ([]byte, bool) {
		first.Do(func() {
			time.AfterFunc(after, func() {
				defer close(done)
				gate.Lock()
				time.Sleep(stall)
				gate.Unlock()
			})
		})
		gate.RLock()
		defer gate.RUnlock()
		return p, false
	})
}

// TestEchoRateShowsStall is the point of measuring from the schedule: a
// server that stops for 200 ms shows in the latency from the scheduled
// send, open loop or closed, and a closed-loop client that measures from
// its actual sends hides it.
//
// At 1000 messages/s, 100 messages fall due in the first 100 ms of the
// stall; each is echoed after the stall ends, so at least 100 ms after its
// scheduled time, whatever the machine's load (load only adds). The
// latency histogram reports within 1/32 of the true value, hence a count
// above 90 ms for 100.
//
// From the actual send, in a closed loop, each connection has at most one
// message waiting through the stall: 4 of the 1500 are above 90 ms, the
// rest were held back and sent after it. The test allows up to 15 (1%:
// the p99 stays under 90 ms), room for a loaded machine's own pauses, which
// can only add to the count from the schedule.
func TestEchoRateShowsStall(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	const tol = 90 * time.Millisecond
	rc := RateConfig{Rate: 1000, Duration: 1500 * time.Millisecond}
	for _, oneInFlight := range []bool{false, true} {
		name := map[bool]string{false: "open", true: "closed"}[oneInFlight]
		t.Run(name, func(t *testing.T) {
			addr := stallingEcho(t, 300*time.Millisecond, 200*time.Millisecond)
			s, err := Open(context.Background(), Config{Addr: addr, Conns: 4})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			rc.OneInFlight = oneInFlight
			res, err := s.EchoRate(context.Background(), rc)
			require.NoError(t, err)
			require.NoError(t, res.Err(), "%v", res)
			sched, sent := countAbove(res.Latency, tol), countAbove(res.SendLatency, tol)
			t.Logf("%s loop: %v; above %v: %d from the schedule, %d from the send", name, res, tol, sched, sent)
			assert.GreaterOrEqual(t, sched, uint64(100), "the schedule shows the stall")
			if oneInFlight {
				assert.LessOrEqual(t, sent, uint64(15), "the actual send hides it")
				// 200 messages fell due during the stall; all but the 4 in
				// flight and those due in its last millisecond left late.
				assert.GreaterOrEqual(t, res.Late, uint64(150))
			} else {
				assert.GreaterOrEqual(t, res.SendLatency.Quantile(0.99), tol, "open loop: sends leave on time, so both show it")
			}
			s.Close()
		})
	}
}

// countAbove is the number of durations in h above d, as h reports them:
// a bucket counts when the value Quantile reports for it is above d.
func countAbove(h *LatencyHist, d time.Duration) uint64 {
	var n uint64
	for i := range h.counts {
		if time.Duration(histValue(i)) > d {
			n += h.counts[i].Load()
		}
	}
	return n
}

func TestEchoRateChild(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	fd0 := procmem.OpenFDs()
	srv, err := goroutineChild.Start(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	lc, err := OpenChild(context.Background(), Config{Addr: srv.Addr(), Conns: 30, ConnsPerProc: 16})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = lc.Close() })
	_, err = lc.EchoRate(RateConfig{})
	require.ErrorContains(t, err, "RateConfig.Rate")
	// 30 connections in two children (15 each) at 600/s in all for 500 ms:
	// 300 messages.
	res, err := lc.EchoRate(RateConfig{Rate: 600, Duration: 500 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, res.Err(), "%v", res)
	assert.Equal(t, 30, res.Conns)
	assert.Equal(t, uint64(300), res.Scheduled)
	assert.Equal(t, uint64(300), res.Received)
	assert.Equal(t, uint64(300), res.Latency.Count())
	fres, err := lc.Close()
	require.NoError(t, err)
	require.NoError(t, fres.Err())
	require.NoError(t, srv.Close())
	assert.LessOrEqual(t, procmem.OpenFDs(), fd0, "descriptors back")
}

// TestCommandServerChild runs a server child as an external command: env
// starting this test binary, made the goroutine design's child through
// its environment. The mechanism does not
// care what the program is.
func TestCommandServerChild(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	_, err := CommandServerChild("", "")
	require.ErrorContains(t, err, "name is empty")
	_, err = CommandServerChild("x", "")
	require.ErrorContains(t, err, "no program given")

	exe, err := os.Executable()
	require.NoError(t, err)
	sc, err := CommandServerChild("self", filepath.Dir(exe), "env", "RTLAB_CHILD="+goroutineChild.f.Name(), exe)
	require.NoError(t, err)
	srv, err := sc.Start(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	assert.Equal(t, "self", sc.Name())
	st, err := srv.GC()
	require.NoError(t, err)
	assert.Positive(t, st.RSS, "read from /proc by the parent")
	assert.Positive(t, st.Goroutines, "reported by the child")
	res, err := Run(context.Background(), Config{Addr: srv.Addr(), Conns: 3, Messages: 2})
	require.NoError(t, err)
	require.NoError(t, res.Err())
	require.NoError(t, srv.Close())

	bad, err := CommandServerChild("bad", "", "sh", "-c", "echo 'cannot listen' >&2; exit 1")
	require.NoError(t, err)
	_, err = bad.Start(context.Background())
	require.ErrorContains(t, err, "wsconn/load: server bad")
	require.ErrorContains(t, err, "cannot listen", "the error carries the command's stderr")
}
