package load

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/internal/testcert"
	"github.com/rtlab/rtlab/wsconn/internal/proto"
)

// MinMsgSize is the smallest message a load can send: 24 bytes hold the
// sequence number, the connection id, a CRC-32 of the rest and the send time.
const MinMsgSize = 24

// Config describes a population of WebSocket clients: how many connections to
// open against Addr and how fast, and what each sends once open. Every
// message carries a sequence number, the connection's id, its send time and a
// CRC-32 of its payload, and every echo is checked against them, so a lost,
// reordered or corrupted message is counted, never assumed away.
//
// A load runs in this process (Open, Run) or in child processes of the
// running binary (OpenChild), which keeps the clients' memory and file
// descriptors out of a server measured in this process or another one. Addr
// may name another host, which is how a load goes past one machine's
// open-files limit.
type Config struct {
	Addr     string        // server address, "host:port" or a ws:// URL
	Conns    int           // connections to open, > 0
	Rate     float64       // connections opened per second; 0 opens as fast as Dialers allow
	Dialers  int           // dials in flight at once; 0 means 64
	MsgSize  int           // bytes per message, >= MinMsgSize; 0 means 64
	Messages int           // messages per connection sent by Run
	MsgRate  float64       // messages per second per connection during a flood; 0 sends each as soon as the last echo is back
	Timeout  time.Duration // bound on a dial, an echo or a pong; 0 means 10s
	// Heartbeat, if > 0, pings every open connection at this interval while
	// the load holds it, flood or idle, and expects the pong within Timeout.
	Heartbeat time.Duration
	// Reconnect redials a connection lost during a flood (counted in
	// Result.Reconnects) and goes on with its remaining messages.
	Reconnect bool
	// ConnsPerProc bounds the connections of one child process started by
	// OpenChild; 0 means 9000, which with the server's own descriptors fits
	// an open-files limit of 20000 per process, or as many as the limit
	// lets a process hold where that is fewer (procmem.FitFDs).
	ConnsPerProc int
	// TLS, if set, dials wss:// (TLS 1.3) instead of ws://; an Addr given
	// as a wss:// URL without it trusts the system's roots.
	TLS *TLSConfig `json:",omitempty"`
}

// TLSConfig is the TLS of a load's clients. It is plain data, not a
// *tls.Config, because a load in child processes gets its Config as JSON:
// the CA certificate travels as public PEM text, and no key ever does.
type TLSConfig struct {
	// CAPEM is the PEM certificate of the authority the server's
	// certificate must chain to (a ServerProc's ClientTLS gives it); the
	// clients trust it alone. Empty means the system's roots.
	CAPEM string `json:",omitempty"`
	// Resume turns TLS session resumption on: the connections of one
	// process share a tls.ClientSessionCache, so that a connection dialled
	// once an earlier one has its session ticket resumes that session (no
	// certificate sent or verified; Result.Resumed counts them). Off, every
	// connection makes a full handshake, as independent clients would.
	Resume bool `json:",omitempty"`
}

// clientConfig is the *tls.Config of the clients: TLS 1.3 only, trusting
// CAPEM (or the system's roots), with a session cache if Resume.
func (t *TLSConfig) clientConfig() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS13}
	if t.CAPEM != "" {
		var err error
		if c, err = testcert.ClientConfig([]byte(t.CAPEM)); err != nil {
			return nil, fmt.Errorf("wsconn/load: Config.TLS.CAPEM: %w", err)
		}
	}
	if t.Resume {
		c.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	}
	return c, nil
}

func (l Config) withDefaults() Config {
	if l.Dialers == 0 {
		l.Dialers = 64
	}
	if l.MsgSize == 0 {
		l.MsgSize = 64
	}
	if l.Timeout == 0 {
		l.Timeout = 10 * time.Second
	}
	if l.ConnsPerProc == 0 {
		fit, _ := procmem.FitFDs(9000, 1, 0, "connections")
		l.ConnsPerProc = max(1, fit)
	}
	return l
}

func (l Config) validate() error {
	if l.Addr == "" {
		return errors.New("wsconn/load: Config.Addr is empty; give host:port or a ws:// URL")
	}
	return l.validateLoad()
}

// validateLoad checks every field but Addr, which a lifecycle trace fills
// in itself.
func (l Config) validateLoad() error {
	switch {
	case l.Conns <= 0:
		return fmt.Errorf("wsconn/load: Config.Conns %d must be > 0", l.Conns)
	case l.Rate < 0:
		return fmt.Errorf("wsconn/load: Config.Rate %v must be >= 0", l.Rate)
	case l.Dialers < 0:
		return fmt.Errorf("wsconn/load: Config.Dialers %d must be >= 0", l.Dialers)
	case l.MsgSize != 0 && l.MsgSize < MinMsgSize:
		return fmt.Errorf("wsconn/load: Config.MsgSize %d must be >= %d", l.MsgSize, MinMsgSize)
	case l.Messages < 0:
		return fmt.Errorf("wsconn/load: Config.Messages %d must be >= 0", l.Messages)
	case l.MsgRate < 0:
		return fmt.Errorf("wsconn/load: Config.MsgRate %v must be >= 0", l.MsgRate)
	case l.Timeout < 0:
		return fmt.Errorf("wsconn/load: Config.Timeout %v must be >= 0", l.Timeout)
	case l.Heartbeat < 0:
		return fmt.Errorf("wsconn/load: Config.Heartbeat %v must be >= 0", l.Heartbeat)
	case l.ConnsPerProc < 0:
		return fmt.Errorf("wsconn/load: Config.ConnsPerProc %d must be >= 0", l.ConnsPerProc)
	case l.TLS != nil && strings.HasPrefix(l.Addr, "ws://"):
		return fmt.Errorf("wsconn/load: Config.Addr %q is ws:// but Config.TLS is set; give host:port or a wss:// URL", l.Addr)
	}
	if l.TLS != nil {
		if _, err := l.TLS.clientConfig(); err != nil {
			return err
		}
	}
	return nil
}

func (l Config) url() string {
	if strings.Contains(l.Addr, "://") {
		return l.Addr
	}
	if l.TLS != nil {
		return "wss://" + l.Addr + "/"
	}
	return "ws://" + l.Addr + "/"
}

// Error kinds counted in Result.Errors. ErrKindRefused is a server at its
// limit saying so; every other kind is a failure (Result.Refused,
// Result.Failed).
const (
	ErrKindRefused   = "refused"   // the upgrade was answered 503 Service Unavailable
	ErrKindDial      = "dial"      // TCP connect failed
	ErrKindHandshake = "handshake" // the upgrade was refused or malformed
	ErrKindTimeout   = "timeout"   // no echo or pong within Config.Timeout
	ErrKindClosed    = "closed"    // the server sent a close frame
	ErrKindReset     = "reset"     // the connection ended without a close frame
	ErrKindProtocol  = "protocol"  // a frame no echo server should send
	ErrKindIO        = "io"        // any other read or write error
)

// Result is what a load saw. Sent, Received, Lost and Corrupted count
// messages; a healthy echo server leaves Lost and Corrupted at 0.
type Result struct {
	Conns      int // connections open when the result was taken
	Opened     int // successful dials, reconnects included
	Reconnects int
	Sent       uint64
	Received   uint64 // echoes that matched what was sent
	Lost       uint64 // sent but never echoed (a gap in the sequence, or in flight when the connection failed)
	Corrupted  uint64 // echoes with a wrong length, connection id, sequence or checksum
	Pings      uint64 // heartbeat pings sent
	Pongs      uint64 // pongs received in time
	Resumed    int    // dials whose TLS handshake resumed a session (TLSConfig.Resume)
	Errors     map[string]uint64
	Connect    *LatencyHist  // TCP connect plus WebSocket handshake
	Echo       *LatencyHist  // from writing a message to reading its echo back
	FloodTime  time.Duration // wall time spent in floods
}

// String summarises the result on one line: connections, messages, echo
// latency quantiles, throughput and errors by kind (refused among them).
func (r Result) String() string {
	var p50, p99 time.Duration
	if r.Echo != nil {
		p50, p99 = r.Echo.Quantile(0.5), r.Echo.Quantile(0.99)
	}
	s := fmt.Sprintf("conns=%d opened=%d reconnects=%d sent=%d received=%d lost=%d corrupted=%d echo-p50=%v echo-p99=%v msgs/s=%.0f",
		r.Conns, r.Opened, r.Reconnects, r.Sent, r.Received, r.Lost, r.Corrupted, p50, p99, r.MsgsPerSec())
	if r.Resumed > 0 {
		s += fmt.Sprintf(" tls-resumed=%d", r.Resumed)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		s += fmt.Sprintf(" %s=%d", k, r.Errors[k])
	}
	return s
}

// MsgsPerSec is the echo throughput over the time spent in floods.
func (r Result) MsgsPerSec() float64 {
	if r.FloodTime <= 0 {
		return 0
	}
	return float64(r.Received) / r.FloodTime.Seconds()
}

// Refused counts connection attempts the server refused with 503 Service
// Unavailable: a server at its limit that said so, not a failure.
func (r Result) Refused() uint64 { return r.Errors[ErrKindRefused] }

// Failed counts the errors of every other kind: resets, timeouts, dial and
// handshake failures, protocol errors.
func (r Result) Failed() uint64 {
	var n uint64
	for k, v := range r.Errors {
		if k != ErrKindRefused {
			n += v
		}
	}
	return n
}

// Err is nil when no message was lost or corrupted and no error happened,
// and otherwise summarises what went wrong, refusals apart from failures.
func (r Result) Err() error {
	if r.Lost == 0 && r.Corrupted == 0 && len(r.Errors) == 0 {
		return nil
	}
	var kinds []string
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		if k != ErrKindRefused {
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, r.Errors[k]))
		}
	}
	failed := fmt.Sprint(r.Failed(), " failed")
	if len(kinds) > 0 {
		failed += " (" + strings.Join(kinds, " ") + ")"
	}
	return fmt.Errorf("wsconn/load: %d refused (503, server at its limit), %s; %d lost, %d corrupted of %d sent",
		r.Refused(), failed, r.Lost, r.Corrupted, r.Sent)
}

// add merges o into r (results of several child processes).
func (r *Result) add(o Result) {
	r.Conns += o.Conns
	r.Opened += o.Opened
	r.Reconnects += o.Reconnects
	r.Sent += o.Sent
	r.Received += o.Received
	r.Lost += o.Lost
	r.Corrupted += o.Corrupted
	r.Pings += o.Pings
	r.Pongs += o.Pongs
	r.Resumed += o.Resumed
	for k, v := range o.Errors {
		if r.Errors == nil {
			r.Errors = map[string]uint64{}
		}
		r.Errors[k] += v
	}
	if r.Connect == nil {
		r.Connect, r.Echo = new(LatencyHist), new(LatencyHist)
	}
	r.Connect.Add(o.Connect)
	r.Echo.Add(o.Echo)
	r.FloodTime = max(r.FloodTime, o.FloodTime)
}

// Session is an open load in this process: its connections stay open,
// idle, between floods until Close.
type Session struct {
	cfg   Config
	start time.Time
	conns []*loadConn
	tls   *tls.Config // wss://: shared by the connections, with its session cache

	opened, reconnects, open, resumed atomic.Int64
	sent, received, lost, corrupt     atomic.Uint64
	pings, pongs                      atomic.Uint64
	connect, echo                     LatencyHist
	floodTime                         atomic.Int64

	errMu   sync.Mutex
	errors  map[string]uint64
	dialErr error // the first dial that failed, for Open's error

	floodMu sync.Mutex // one flood at a time
	hbStop  chan struct{}
	hbDone  chan struct{}
}

// loadConn is one client connection. mu is held by whoever uses it: a
// flood's goroutine or the heartbeat.
type loadConn struct {
	mu   sync.Mutex
	id   uint32
	nc   net.Conn
	br   *bufio.Reader
	seq  uint64 // next sequence number to send
	hdr  [ws.MaxHeaderSize]byte
	join []byte // header and payload joined for one write over TLS
	out  []byte // message being sent, masked in place
	in   []byte // echo being read
	ping [8]byte
}

// Run opens the load's connections, sends Messages messages on each, closes
// them all and returns what it saw. The error is for a load that could not
// run (bad configuration, connections that could not be opened); lost or
// corrupted messages are in the result (see Result.Err).
func Run(ctx context.Context, l Config) (Result, error) {
	s, err := Open(ctx, l)
	if err != nil {
		return Result{}, err
	}
	ferr := s.Flood(ctx, l.Messages)
	res := s.Close()
	return res, ferr
}

// Open opens Conns connections at Rate and returns when all are open (and
// their heartbeat started). If any cannot be opened, it closes the others
// and returns an error counting the failures by kind.
func Open(ctx context.Context, l Config) (*Session, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	s := &Session{cfg: l.withDefaults(), start: time.Now(), errors: map[string]uint64{}}
	if l.TLS != nil {
		var err error
		if s.tls, err = l.TLS.clientConfig(); err != nil {
			return nil, err
		}
	}
	s.conns = make([]*loadConn, l.Conns)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, s.cfg.Dialers)
		fail atomic.Bool
	)
	var tick *time.Ticker
	if l.Rate > 0 {
		tick = time.NewTicker(time.Duration(float64(time.Second) / l.Rate))
		defer tick.Stop()
	}
dialing:
	for i := range s.conns {
		if tick != nil && i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				break dialing
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break dialing
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c := &loadConn{id: uint32(i)}
			if err := s.dial(ctx, c); err != nil {
				fail.Store(true)
				cancel()
				return
			}
			s.conns[i] = c
		})
	}
	wg.Wait()
	if fail.Load() || ctx.Err() != nil {
		res := s.Close()
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("wsconn/load: could not open all %d connections to %s: %w (the first: %v)", l.Conns, l.Addr, err, s.dialErr)
		}
		return nil, fmt.Errorf("wsconn/load: opening %d connections to %s: %w", l.Conns, l.Addr, context.Cause(ctx))
	}
	if s.cfg.Heartbeat > 0 {
		s.hbStop, s.hbDone = make(chan struct{}), make(chan struct{})
		go s.heartbeat()
	}
	return s, nil
}

func (s *Session) dial(ctx context.Context, c *loadConn) error {
	t0 := time.Now()
	dctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	nc, br, _, err := ws.Dialer{TLSConfig: s.tls}.Dial(dctx, s.cfg.url())
	if err != nil {
		if ctx.Err() != nil {
			// Abandoned, not failed: the caller's ctx ended, or Open
			// cancelled the dials in flight after another one failed.
			return err
		}
		kind := ErrKindHandshake
		if status, ok := errors.AsType[ws.StatusError](err); ok && status == http.StatusServiceUnavailable {
			kind = ErrKindRefused
		} else if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
			kind = ErrKindDial
		} else if dctx.Err() != nil {
			kind = ErrKindTimeout
		}
		s.countErr(kind)
		s.errMu.Lock()
		if s.dialErr == nil {
			s.dialErr = err
		}
		s.errMu.Unlock()
		return err
	}
	s.connect.Record(time.Since(t0))
	s.opened.Add(1)
	if tc, ok := nc.(*tls.Conn); ok && tc.ConnectionState().DidResume {
		s.resumed.Add(1)
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, 512)
	}
	c.nc, c.br = nc, br
	s.open.Add(1)
	return nil
}

func (s *Session) countErr(kind string) {
	s.errMu.Lock()
	s.errors[kind]++
	s.errMu.Unlock()
}

func classify(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return ErrKindTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return ErrKindReset
	case errors.Is(err, errClosed):
		return ErrKindClosed
	case errors.Is(err, errProtocol):
		return ErrKindProtocol
	}
	return ErrKindIO
}

var (
	errClosed   = errors.New("server sent close")
	errProtocol = errors.New("unexpected frame from server")
)

// Flood sends perConn messages on every open connection, all connections at
// once, each at MsgRate, and checks every echo. Failures are counted in the
// result, not returned; the error is for a cancelled ctx.
func (s *Session) Flood(ctx context.Context, perConn int) error {
	if perConn < 0 {
		return fmt.Errorf("wsconn/load: flood of %d messages per connection must be >= 0", perConn)
	}
	if perConn == 0 {
		return nil
	}
	s.floodMu.Lock()
	defer s.floodMu.Unlock()
	t0 := time.Now()
	var wg sync.WaitGroup
	for _, c := range s.conns {
		if c == nil {
			continue
		}
		wg.Go(func() { s.floodConn(ctx, c, perConn) })
	}
	wg.Wait()
	s.floodTime.Add(int64(time.Since(t0)))
	return ctx.Err()
}

func (s *Session) floodConn(ctx context.Context, c *loadConn, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc == nil && !s.redial(ctx, c) {
		return
	}
	if c.out == nil {
		c.out = make([]byte, s.cfg.MsgSize)
		c.in = make([]byte, s.cfg.MsgSize)
	}
	var period time.Duration
	next := time.Now()
	if s.cfg.MsgRate > 0 {
		period = time.Duration(float64(time.Second) / s.cfg.MsgRate)
		// Spread the connections over one period so they do not send in step.
		next = next.Add(period * time.Duration(c.id%1024) / 1024)
	}
	for range n {
		if ctx.Err() != nil {
			return
		}
		if period > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			next = next.Add(period)
		}
		if err := s.echoOne(c); err != nil {
			s.countErr(classify(err))
			s.closeConn(c)
			if !s.cfg.Reconnect || !s.redial(ctx, c) {
				return
			}
		}
	}
}

func (s *Session) redial(ctx context.Context, c *loadConn) bool {
	if !s.cfg.Reconnect {
		return false
	}
	if s.dial(ctx, c) != nil {
		return false
	}
	s.reconnects.Add(1)
	return true
}

// echoOne sends one message on c and reads frames until its echo is back.
func (s *Session) echoOne(c *loadConn) error {
	seq := c.seq
	c.seq++
	p := c.out
	binary.LittleEndian.PutUint64(p[0:], seq)
	binary.LittleEndian.PutUint32(p[8:], c.id)
	binary.LittleEndian.PutUint64(p[16:], uint64(time.Since(s.start)))
	for i := 24; i < len(p); i++ {
		p[i] = byte(seq) + byte(i)
	}
	binary.LittleEndian.PutUint32(p[12:], crc32.ChecksumIEEE(p[16:]))
	t0 := time.Now()
	deadline := t0.Add(s.cfg.Timeout)
	_ = c.nc.SetDeadline(deadline)
	if err := c.write(ws.OpBinary, p, seq); err != nil {
		return err
	}
	s.sent.Add(1)
	for {
		h, err := c.readFrame(c.in)
		if err != nil {
			s.lost.Add(1)
			return err
		}
		switch h.OpCode {
		case ws.OpPong:
			s.pongs.Add(1)
			continue
		case ws.OpBinary, ws.OpText:
		default:
			s.lost.Add(1)
			return errProtocol
		}
		if int(h.Length) != len(c.in) {
			s.corrupt.Add(1)
			return fmt.Errorf("%w: echo of %d bytes for %d sent", errProtocol, h.Length, len(c.in))
		}
		got := binary.LittleEndian.Uint64(c.in[0:])
		switch {
		case binary.LittleEndian.Uint32(c.in[8:]) != c.id,
			binary.LittleEndian.Uint32(c.in[12:]) != crc32.ChecksumIEEE(c.in[16:]):
			// The answer to this message, damaged.
			s.corrupt.Add(1)
			return nil
		case got < seq:
			// A duplicate of an earlier echo: the awaited one may follow.
			s.corrupt.Add(1)
			continue
		case got > seq:
			// An echo ahead of the one awaited: everything between is lost.
			s.lost.Add(got - seq)
			c.seq = got + 1
		}
		s.received.Add(1)
		s.echo.Record(time.Since(t0))
		return nil
	}
}

// write sends one masked frame: header and payload in one vectored write.
func (c *loadConn) write(op ws.OpCode, p []byte, seed uint64) error {
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], uint32(seed*0x9e3779b9)^c.id|1)
	hdr := proto.AppendClientHeader(c.hdr[:0], op, len(p), mask)
	ws.Cipher(p, mask, 0)
	err := sendFrame(c.nc, &c.join, hdr, p)
	ws.Cipher(p, mask, 0) // leave p as it was
	return err
}

// sendFrame writes a frame's header and payload: in one vectored write on
// a TCP connection, or joined in *join for one write over TLS, where each
// Write is a record of its own (a vectored write would be two records).
func sendFrame(nc net.Conn, join *[]byte, hdr, p []byte) error {
	if _, ok := nc.(*tls.Conn); ok {
		*join = append(append((*join)[:0], hdr...), p...)
		_, err := nc.Write(*join)
		return err
	}
	bufs := net.Buffers{hdr, p}
	_, err := bufs.WriteTo(nc)
	return err
}

// readFrame reads one frame from the server into buf if it fits (a data
// frame larger than buf is read and dropped), answers a ping, and turns a
// close frame into errClosed. A frame no server may send (masked,
// fragmented where the echo is one frame, RSV bits, a reserved opcode, a
// control frame over 125 bytes) is errProtocol.
func (c *loadConn) readFrame(buf []byte) (ws.Header, error) {
	h, err := ws.ReadHeaderBuffer(c.br, c.hdr[:])
	if err != nil {
		return h, err
	}
	if h.Masked || !h.Fin || h.Rsv != 0 || h.OpCode.IsReserved() ||
		h.OpCode.IsControl() && h.Length > ws.MaxControlFramePayloadSize {
		return h, fmt.Errorf("%w: opcode %d, %d bytes, masked=%v fin=%v rsv=%d",
			errProtocol, h.OpCode, h.Length, h.Masked, h.Fin, h.Rsv)
	}
	if h.OpCode.IsControl() {
		var ctl [ws.MaxControlFramePayloadSize]byte
		p := ctl[:h.Length]
		if _, err := io.ReadFull(c.br, p); err != nil {
			return h, proto.NoEOF(err)
		}
		switch h.OpCode {
		case ws.OpClose:
			return h, errClosed
		case ws.OpPing:
			if err := c.write(ws.OpPong, p, uint64(len(p))); err != nil {
				return h, err
			}
		}
		return h, nil
	}
	if int64(len(buf)) < h.Length {
		_, err := io.CopyN(io.Discard, c.br, h.Length)
		return h, proto.NoEOF(err)
	}
	_, err = io.ReadFull(c.br, buf[:h.Length])
	return h, proto.NoEOF(err)
}

func (s *Session) closeConn(c *loadConn) {
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc, c.br = nil, nil
		s.open.Add(-1)
	}
}

// closeHandshake sends a close frame, waits for the server's (or EOF) so the
// server closes the TCP connection first, as RFC 6455 asks, and closes.
func (s *Session) closeHandshake(c *loadConn, timeout time.Duration) {
	if c.nc == nil {
		return
	}
	defer s.closeConn(c)
	_ = c.nc.SetDeadline(time.Now().Add(timeout))
	body := ws.NewCloseFrameBody(ws.StatusNormalClosure, "")
	if c.write(ws.OpClose, body, 0) != nil {
		return
	}
	var buf [MinMsgSize]byte
	for {
		if _, err := c.readFrame(buf[:0]); err != nil {
			return
		}
	}
}

// heartbeat pings every connection not busy in a flood, once per interval.
func (s *Session) heartbeat() {
	defer close(s.hbDone)
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.hbStop:
			return
		case <-t.C:
		}
		for _, c := range s.conns {
			select {
			case <-s.hbStop:
				return
			default:
			}
			if c == nil || !c.mu.TryLock() {
				continue
			}
			if c.nc != nil {
				if err := s.pingOne(c); err != nil {
					s.countErr(classify(err))
					s.closeConn(c)
				}
			}
			c.mu.Unlock()
		}
	}
}

func (s *Session) pingOne(c *loadConn) error {
	_ = c.nc.SetDeadline(time.Now().Add(s.cfg.Timeout))
	binary.LittleEndian.PutUint64(c.ping[:], uint64(time.Since(s.start)))
	if err := c.write(ws.OpPing, c.ping[:], uint64(c.id)); err != nil {
		return err
	}
	s.pings.Add(1)
	for {
		h, err := c.readFrame(nil)
		if err != nil {
			return err
		}
		if h.OpCode == ws.OpPong {
			s.pongs.Add(1)
			return nil
		}
		if h.OpCode.IsData() {
			return fmt.Errorf("%w: data frame while idle", errProtocol)
		}
	}
}

// Result returns what the load has seen so far.
func (s *Session) Result() Result {
	r := Result{
		Opened:     int(s.opened.Load()),
		Reconnects: int(s.reconnects.Load()),
		Sent:       s.sent.Load(),
		Received:   s.received.Load(),
		Lost:       s.lost.Load(),
		Corrupted:  s.corrupt.Load(),
		Pings:      s.pings.Load(),
		Pongs:      s.pongs.Load(),
		Resumed:    int(s.resumed.Load()),
		Connect:    new(LatencyHist),
		Echo:       new(LatencyHist),
		FloodTime:  time.Duration(s.floodTime.Load()),
	}
	r.Connect.Add(&s.connect)
	r.Echo.Add(&s.echo)
	s.errMu.Lock()
	if len(s.errors) > 0 {
		r.Errors = maps.Clone(s.errors)
	}
	s.errMu.Unlock()
	r.Conns = int(s.open.Load())
	return r
}

// Close stops the heartbeat, closes every connection with a close handshake
// and returns the final result. Calling it again returns the same figures.
func (s *Session) Close() Result {
	s.floodMu.Lock()
	defer s.floodMu.Unlock()
	if s.hbStop != nil {
		close(s.hbStop)
		<-s.hbDone
		s.hbStop = nil
	}
	// All at once, like a flood: a server that never answers the close
	// costs one timeout in all, not one per connection.
	var wg sync.WaitGroup
	for _, c := range s.conns {
		if c == nil {
			continue
		}
		wg.Go(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			s.closeHandshake(c, min(s.cfg.Timeout, 2*time.Second))
		})
	}
	wg.Wait()
	return s.Result()
}
