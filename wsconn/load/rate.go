package load

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn/internal/proto"
)

// RateConfig is an echo load at a fixed total rate (see Session.EchoRate):
// messages are sent on a schedule, not when the previous echo is back, and
// latency is measured from each message's scheduled send time.
type RateConfig struct {
	// Rate is the messages per second over all the load's connections,
	// > 0. Each connection sends every Conns/Rate seconds, the connections
	// staggered 1/Rate apart, so the load as a whole sends evenly.
	Rate float64
	// Duration is how long messages are scheduled, > 0: about
	// Rate×Duration messages in all.
	Duration time.Duration
	// OneInFlight makes each connection wait for its echo before its next
	// send, as Flood does (a closed loop): a send that falls due while an
	// echo is outstanding leaves late, when the echo is back. Latency from
	// the scheduled time still counts that wait; latency from the actual
	// send does not, which is how a closed-loop client hides a stalled
	// server (coordinated omission). Without it the load is open-loop:
	// each connection writes on schedule whatever is outstanding.
	OneInFlight bool
}

func (rc RateConfig) validate() error {
	switch {
	case !(rc.Rate > 0) || math.IsInf(rc.Rate, 0):
		return fmt.Errorf("wsconn/load: RateConfig.Rate %v must be > 0 and finite", rc.Rate)
	case rc.Duration <= 0:
		return fmt.Errorf("wsconn/load: RateConfig.Duration %v must be > 0", rc.Duration)
	}
	return nil
}

// RateResult is what a fixed-rate load saw. Latency is the honest figure:
// from each message's scheduled send time to its echo, so time the message
// spent waiting to be sent (behind a stalled server, in a closed loop)
// counts. SendLatency, from the actual send, is what a client that
// measures its own sends reports; the two differ where sends were late.
type RateResult struct {
	Rate        float64 // the target, messages per second
	Conns       int     // connections that took part
	Scheduled   uint64  // messages the schedule called for
	Sent        uint64
	Received    uint64 // echoes that matched what was sent
	Lost        uint64 // sent but never echoed, or never sent because the connection failed
	Corrupted   uint64 // echoes with a wrong length, connection id, sequence or checksum
	Late        uint64 // sends that left a millisecond or more after their scheduled time
	Errors      map[string]uint64
	Latency     *LatencyHist  // scheduled send → echo
	SendLatency *LatencyHist  // actual send → echo
	Elapsed     time.Duration // from the start of the schedule to the last echo (at least Duration)
}

// Achieved is the echo rate the server sustained: echoes received over
// Elapsed. A server that keeps up achieves about Rate (a little less: the
// last echoes arrive a latency after the schedule ends); one that cannot
// falls behind and shows it here and in Latency.
func (r RateResult) Achieved() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Received) / r.Elapsed.Seconds()
}

// Err is nil when every scheduled message was echoed intact and no error
// happened, and otherwise summarises what went wrong.
func (r RateResult) Err() error {
	if r.Lost == 0 && r.Corrupted == 0 && len(r.Errors) == 0 && r.Received == r.Scheduled {
		return nil
	}
	return fmt.Errorf("wsconn/load: rate %.0f/s: %d lost, %d corrupted, %d received of %d scheduled; errors:%s",
		r.Rate, r.Lost, r.Corrupted, r.Received, r.Scheduled, kindCounts(r.Errors))
}

// String summarises the result on one line.
func (r RateResult) String() string {
	q := func(h *LatencyHist, p float64) time.Duration {
		if h == nil {
			return 0
		}
		return h.Quantile(p)
	}
	s := fmt.Sprintf("rate=%.0f achieved=%.0f conns=%d scheduled=%d sent=%d received=%d lost=%d corrupted=%d late=%d p50=%v p99=%v p999=%v send-p99=%v",
		r.Rate, r.Achieved(), r.Conns, r.Scheduled, r.Sent, r.Received, r.Lost, r.Corrupted, r.Late,
		q(r.Latency, 0.5), q(r.Latency, 0.99), q(r.Latency, 0.999), q(r.SendLatency, 0.99))
	return s + kindCounts(r.Errors)
}

// add merges o into r (results of several child processes).
func (r *RateResult) add(o RateResult) {
	r.Conns += o.Conns
	r.Scheduled += o.Scheduled
	r.Sent += o.Sent
	r.Received += o.Received
	r.Lost += o.Lost
	r.Corrupted += o.Corrupted
	r.Late += o.Late
	r.Errors = addCounts(r.Errors, o.Errors)
	if r.Latency == nil {
		r.Latency, r.SendLatency = new(LatencyHist), new(LatencyHist)
	}
	r.Latency.Add(o.Latency)
	r.SendLatency.Add(o.SendLatency)
	r.Elapsed = max(r.Elapsed, o.Elapsed)
}

// addCounts adds the counts of src to dst, making dst if it is nil and
// there is something to add.
func addCounts(dst, src map[string]uint64) map[string]uint64 {
	for k, v := range src {
		if dst == nil {
			dst = map[string]uint64{}
		}
		dst[k] += v
	}
	return dst
}

// kindCounts formats counts by kind as " kind=n" in the order of the kinds.
func kindCounts(m map[string]uint64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, " %s=%d", k, m[k])
	}
	return b.String()
}

// lateAfter is how far behind its schedule a send must leave to count as
// Late: past the timer and scheduling slack of a loaded machine.
const lateAfter = time.Millisecond

// rateRun is one fixed-rate run over a session's connections.
type rateRun struct {
	s     *Session
	rc    RateConfig
	start time.Time
	res   RateResult
	mu    sync.Mutex // guards res.Errors
	// the counters of res, shared by the connections' goroutines
	sent, received, lost, corrupt, late atomic.Uint64
	lastEcho                            atomic.Int64 // ns since start
}

// EchoRate sends messages on every open connection at rc.Rate in all for
// rc.Duration, each on its schedule (see RateConfig), checks every echo as
// Flood does and measures its latency from the scheduled send time. It
// waits for the last echoes up to Config.Timeout after the schedule ends.
// Failures are counted in the result; the error is for a bad rc or a
// cancelled ctx.
func (s *Session) EchoRate(ctx context.Context, rc RateConfig) (RateResult, error) {
	if err := rc.validate(); err != nil {
		return RateResult{}, err
	}
	s.floodMu.Lock()
	defer s.floodMu.Unlock()
	var conns []*loadConn
	for _, c := range s.conns {
		if c != nil {
			c.mu.Lock() // held for the run: the heartbeat skips busy connections
			if c.nc != nil {
				conns = append(conns, c)
			} else {
				c.mu.Unlock()
			}
		}
	}
	r := &rateRun{s: s, rc: rc, res: RateResult{Rate: rc.Rate, Conns: len(conns), Latency: new(LatencyHist), SendLatency: new(LatencyHist)}}
	if len(conns) == 0 {
		return r.res, nil
	}
	// Connection k of n sends at start + k/Rate + i×n/Rate, i = 0, 1, ...
	period := time.Duration(float64(len(conns)) / rc.Rate * float64(time.Second))
	r.start = time.Now()
	var wg sync.WaitGroup
	for k, c := range conns {
		offset := time.Duration(float64(k) / rc.Rate * float64(time.Second))
		var n int
		if offset < rc.Duration {
			n = int((rc.Duration-offset-1)/period) + 1
		}
		r.res.Scheduled += uint64(n)
		wg.Go(func() {
			defer c.mu.Unlock()
			r.conn(ctx, c, offset, period, n)
		})
	}
	wg.Wait()
	r.res.Sent, r.res.Received, r.res.Lost = r.sent.Load(), r.received.Load(), r.lost.Load()
	r.res.Corrupted, r.res.Late = r.corrupt.Load(), r.late.Load()
	r.res.Elapsed = max(rc.Duration, time.Duration(r.lastEcho.Load()))
	return r.res, ctx.Err()
}

func (r *rateRun) countErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Errors = addCounts(r.res.Errors, map[string]uint64{classify(err): 1})
}

// conn runs one connection's n messages: a writer on the schedule (this
// goroutine) and a reader checking the echoes.
func (r *rateRun) conn(ctx context.Context, c *loadConn, offset, period time.Duration, n int) {
	if n == 0 {
		return
	}
	if c.out == nil {
		c.out = make([]byte, r.s.cfg.MsgSize)
		c.in = make([]byte, r.s.cfg.MsgSize)
	}
	base := c.seq
	sched := func(i int) time.Time { return r.start.Add(offset + time.Duration(i)*period) }
	sentAt := make([]atomic.Int64, n) // actual send times, ns since start; written before the frame
	var sent atomic.Int64             // messages written
	echoed := make(chan struct{}, 1)  // OneInFlight: an echo is back
	readerDone := make(chan struct{})
	var (
		resolved int   // messages the reader accounted for: echoed, lost or corrupted
		readErr  error // why the reader stopped early
	)
	go func() {
		defer close(readerDone)
		resolved, readErr = r.read(c, base, n, sched, sentAt, &sent, echoed)
	}()
	stopped := false // the writer gave up early and closed the connection
	var hdr [ws.MaxHeaderSize]byte
	var join []byte // the writer's own: the reader may answer a ping meanwhile
	p := make([]byte, len(c.out))
	for i := range n {
		if r.rc.OneInFlight && i > 0 {
			select {
			case <-echoed:
			case <-readerDone:
			}
		}
		if d := time.Until(sched(i)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-readerDone:
			case <-ctx.Done():
			}
			t.Stop()
		}
		if isDone(readerDone) {
			break
		}
		if ctx.Err() != nil {
			stopped = true
			break
		}
		fillMessage(p, base+uint64(i), c.id, time.Duration(sched(i).Sub(r.s.start)))
		now := time.Now()
		if now.Sub(sched(i)) >= lateAfter {
			r.late.Add(1)
		}
		sentAt[i].Store(int64(now.Sub(r.start)))
		sent.Add(1) // before the write: its echo may be read before the write returns
		_ = c.nc.SetWriteDeadline(now.Add(r.s.cfg.Timeout))
		if err := writeMasked(c.nc, &join, hdr[:0], p, base+uint64(i), c.id); err != nil {
			r.countErr(err)
			stopped = true
			break
		}
		r.sent.Add(1)
	}
	if stopped {
		// The reader would wait for echoes of messages never sent: end it.
		_ = c.nc.Close()
	}
	// The reader waits for the echoes of what was sent, up to Timeout past
	// the last one's schedule.
	<-readerDone
	if readErr != nil && !stopped {
		r.countErr(readErr)
	}
	if missing := n - resolved; missing > 0 {
		r.lost.Add(uint64(missing))
	}
	c.seq = base + uint64(n)
	if resolved < n {
		r.s.closeConn(c) // its stream is out of step with the schedule now
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// read checks the echoes of messages base..base+n-1 on c and returns how
// many it accounted for. It stops at the last, at a read error, or at a
// deadline Timeout past the schedule of the next echo due.
func (r *rateRun) read(c *loadConn, base uint64, n int, sched func(int) time.Time, sentAt []atomic.Int64, sent *atomic.Int64, echoed chan<- struct{}) (int, error) {
	next := 0
	for next < n {
		due := sched(next)
		if now := time.Now(); r.rc.OneInFlight && now.After(due) {
			due = now // its send waits for the echo before it
		}
		_ = c.nc.SetReadDeadline(due.Add(r.s.cfg.Timeout))
		h, err := c.readFrame(c.in)
		if err != nil {
			return next, err
		}
		if !h.OpCode.IsData() {
			continue
		}
		now := time.Now()
		got := binary.LittleEndian.Uint64(c.in[0:]) - base
		switch {
		case int(h.Length) != len(c.in),
			binary.LittleEndian.Uint32(c.in[8:]) != c.id,
			binary.LittleEndian.Uint32(c.in[12:]) != crc32.ChecksumIEEE(c.in[16:]):
			r.corrupt.Add(1)
			next++
		case got < uint64(next) || got >= uint64(sent.Load()):
			// A duplicate, or an echo of nothing sent.
			r.corrupt.Add(1)
			continue
		default:
			r.lost.Add(got - uint64(next))
			next = int(got) + 1
			r.received.Add(1)
			r.res.Latency.Record(now.Sub(sched(int(got))))
			r.res.SendLatency.Record(now.Sub(r.start) - time.Duration(sentAt[got].Load()))
			atomicMax(&r.lastEcho, int64(now.Sub(r.start)))
		}
		if r.rc.OneInFlight {
			select {
			case echoed <- struct{}{}:
			default:
			}
		}
	}
	return next, nil
}

func atomicMax(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// fillMessage writes a load message into p: sequence number, connection
// id, send time (since the session started) and the CRC-32 of the rest,
// then a pattern of the sequence number.
func fillMessage(p []byte, seq uint64, id uint32, at time.Duration) {
	binary.LittleEndian.PutUint64(p[0:], seq)
	binary.LittleEndian.PutUint32(p[8:], id)
	binary.LittleEndian.PutUint64(p[16:], uint64(at))
	for i := 24; i < len(p); i++ {
		p[i] = byte(seq) + byte(i)
	}
	binary.LittleEndian.PutUint32(p[12:], crc32.ChecksumIEEE(p[16:]))
}

// writeMasked sends p as one masked binary frame with one write
// (sendFrame), using hdr's room for the header, and leaves p masked (the
// caller fills it anew for each message).
func writeMasked(nc net.Conn, join *[]byte, hdr, p []byte, seed uint64, id uint32) error {
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], uint32(seed*0x9e3779b9)^id|1)
	hdr = proto.AppendClientHeader(hdr, ws.OpBinary, len(p), mask)
	ws.Cipher(p, mask, 0)
	return sendFrame(nc, join, hdr, p)
}

// rateCommand runs the load child's "rate" command: EchoRate with the
// RateConfig in arg (JSON).
func (s *Session) rateCommand(ctx context.Context, arg string) (any, bool, error) {
	var rc RateConfig
	if err := json.Unmarshal([]byte(arg), &rc); err != nil {
		return nil, false, fmt.Errorf("wsconn/load: child: rate %q: %w", arg, err)
	}
	res, err := s.EchoRate(ctx, rc)
	return res, false, err
}

// EchoRate runs Session.EchoRate in every child at once, each at its
// share of rc.Rate by the connections it holds open, and merges their
// results.
func (lc *ChildSession) EchoRate(rc RateConfig) (RateResult, error) {
	if err := rc.validate(); err != nil {
		return RateResult{}, err
	}
	open := make([]Result, len(lc.procs))
	errs := make([]error, len(lc.procs))
	var wg sync.WaitGroup
	for i, p := range lc.procs {
		wg.Go(func() { errs[i] = p.Call("result", &open[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return RateResult{}, err
	}
	total := 0
	for _, r := range open {
		total += r.Conns
	}
	res := make([]RateResult, len(lc.procs))
	for i, p := range lc.procs {
		if open[i].Conns == 0 {
			continue
		}
		part := rc
		part.Rate = rc.Rate * float64(open[i].Conns) / float64(total)
		arg, err := json.Marshal(part)
		if err != nil {
			return RateResult{}, fmt.Errorf("wsconn/load: %w", err)
		}
		wg.Go(func() { errs[i] = p.Call("rate "+string(arg), &res[i]) })
	}
	wg.Wait()
	sum := RateResult{Rate: rc.Rate, Latency: new(LatencyHist), SendLatency: new(LatencyHist)}
	for _, r := range res {
		if r.Latency != nil {
			sum.add(r)
		}
	}
	return sum, errors.Join(errs...)
}
