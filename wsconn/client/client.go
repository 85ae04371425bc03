// Package client is a WebSocket client that stays connected: heartbeat
// pings, reconnection with exponential backoff and full jitter, and every
// state change reported in order (see State).
//
// A server at its limit that refuses the upgrade with a Retry-After header
// (503 Service Unavailable, as wsconn/server answers past MaxConns or out
// of descriptors) is waited for at least that long: the attempt fails with
// a *RefusedError, and the transition to Backoff carries it with a Delay
// of Retry-After plus the usual jitter.
//
// To see it against both server designs and against servers that drop it,
// refuse it, never answer its pings or send it too much:
//
//	go test -race -v -run 'TestClient' ./wsconn/client/
package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/internal/proto"
)

// State is where a Client is in its life. Closed is final; every
// transition is reported, in order, to Options.OnState:
//
//	        Start                 handshake ok
//	Idle ─────────▶ Connecting ───────────────▶ Open
//	                 ▲      │                  │  │
//	       backoff   │      │ dial/handshake   │  │ close frame sent
//	       elapsed   │      │ failed, or       │  │ or received
//	                 │      │ refused (503)    │  │
//	                 │      ▼                  │  ▼
//	               Backoff ◀───────────────────┘ Closing
//	                 │  ▲   connection lost,       │
//	                 │  │   pong timeout           │ server closed:
//	                 │  └──────────────────────────┘ reconnect
//	                 │
//	                 ▼  Close, or MaxAttempts failed attempts in a row
//	               Closed ◀── (also from Idle, Connecting, Closing on Close)
type State int32

// Client states; see State for the diagram.
const (
	StateIdle State = iota
	StateConnecting
	StateOpen
	StateClosing
	StateBackoff
	StateClosed
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case StateIdle:
		return "Idle"
	case StateConnecting:
		return "Connecting"
	case StateOpen:
		return "Open"
	case StateClosing:
		return "Closing"
	case StateBackoff:
		return "Backoff"
	case StateClosed:
		return "Closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Transition is one state change of a Client.
type Transition struct {
	From, To State
	// Attempt is the number of the connection attempt under way or just
	// failed, counted from 1 since the last successful handshake.
	Attempt int
	// Err says why, for a transition caused by a failure: a dial or
	// handshake error (to Backoff or Closed), the error that ended an open
	// connection (a *wsconn.CloseError for a close frame from the server,
	// ErrPongTimeout, an I/O error).
	Err error
	// Delay is, for a transition to Backoff, the time until the next
	// attempt: the backoff's jitter, plus the Retry-After of a server that
	// refused the attempt (Err is then a *RefusedError).
	Delay time.Duration
}

// RefusedError is the error of an attempt whose upgrade the server
// answered with an HTTP status other than 101, such as 503 Service
// Unavailable from a server at its limit.
type RefusedError struct {
	Status int
	// RetryAfter is the wait the response's Retry-After header asked for
	// (delay-seconds or an HTTP date), 0 if it had none. The client waits at
	// least this long before its next attempt.
	RetryAfter time.Duration
}

func (e *RefusedError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("wsconn/client: server refused the upgrade with status %d, retry after %v", e.Status, e.RetryAfter)
	}
	return fmt.Sprintf("wsconn/client: server refused the upgrade with status %d", e.Status)
}

// Unwrap returns the status as ws.StatusError, as ws.Dialer reports it.
func (e *RefusedError) Unwrap() error { return ws.StatusError(e.Status) }

// ErrPongTimeout ends a client connection whose server did not answer a
// heartbeat ping within PongTimeout.
var ErrPongTimeout = errors.New("wsconn/client: no pong within PongTimeout")

// ErrNotOpen is returned by Client.Send when the client is not Open.
var ErrNotOpen = errors.New("wsconn/client: not open")

// ErrClosed is the Err of the transition to Closed caused by Close.
var ErrClosed = errors.New("wsconn/client: closed")

// Options configure a Client. Zero fields take their defaults.
type Options struct {
	// HandshakeTimeout bounds one dial plus opening handshake (default 5 s).
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one frame write (default 10 s).
	WriteTimeout time.Duration
	// CloseTimeout bounds the wait for the server's answer to our close
	// frame (default 1 s).
	CloseTimeout time.Duration
	// PingInterval is the heartbeat period: a ping is sent every
	// PingInterval while Open; 0 disables heartbeats.
	PingInterval time.Duration
	// PongTimeout is how long the server has to answer a ping (default
	// PingInterval); no pong in time means the connection is lost.
	PongTimeout time.Duration
	// BackoffBase and BackoffMax shape reconnect delays: before attempt n
	// after a failure the client waits a uniformly random time in
	// [0, min(BackoffMax, BackoffBase·2^(n-1))) ("full jitter", so that many
	// clients that lost one server do not come back in step). Defaults
	// 100 ms and 10 s. A refusal's Retry-After is added to that time, even
	// past BackoffMax: the server said when to come back.
	BackoffBase, BackoffMax time.Duration
	// MaxAttempts is how many connection attempts may fail in a row before
	// the client gives up and goes to Closed; 0 means never give up.
	MaxAttempts int
	// MaxMessage bounds a message from the server (default
	// wsconn.DefaultMaxMessage); a larger one fails the connection with 1009.
	MaxMessage int64
	// Seed seeds the jitter; 0 takes a random seed.
	Seed uint64
	// OnState is called for every transition, in order, from the client's
	// own goroutine: it should return quickly (hand off to a channel).
	OnState func(Transition)
	// OnMessage is called for every data message, from the connection's
	// reader goroutine; payload is valid only during the call.
	OnMessage func(op ws.OpCode, payload []byte)
	// TLSConfig is the TLS configuration of a wss:// URL (nil: crypto/tls's
	// defaults, the system's roots); its ClientSessionCache, if set, lets
	// a reconnection resume the last session. It is an error with a ws://
	// URL.
	TLSConfig *tls.Config
}

func (o Options) withDefaults() (Options, error) {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"HandshakeTimeout", &o.HandshakeTimeout, 5 * time.Second},
		{"WriteTimeout", &o.WriteTimeout, 10 * time.Second},
		{"CloseTimeout", &o.CloseTimeout, time.Second},
		{"PingInterval", &o.PingInterval, 0},
		{"PongTimeout", &o.PongTimeout, o.PingInterval},
		{"BackoffBase", &o.BackoffBase, 100 * time.Millisecond},
		{"BackoffMax", &o.BackoffMax, 10 * time.Second},
	} {
		if *d.v < 0 {
			return o, fmt.Errorf("wsconn/client: Options.%s %v must be >= 0", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if o.MaxAttempts < 0 {
		return o, fmt.Errorf("wsconn/client: Options.MaxAttempts %d must be >= 0", o.MaxAttempts)
	}
	if o.MaxMessage < 0 {
		return o, fmt.Errorf("wsconn/client: Options.MaxMessage %d must be >= 0", o.MaxMessage)
	}
	if o.MaxMessage == 0 {
		o.MaxMessage = wsconn.DefaultMaxMessage
	}
	return o, nil
}

// Client is a WebSocket client that stays connected: it reconnects with
// exponential backoff and full jitter when the connection is lost, checks
// the server with heartbeat pings, and reports every state change (see
// State). Start it with Start, send with Send, stop it with Close; after
// Close returns no goroutine of the client is left.
type Client struct {
	url string
	o   Options

	state atomic.Int32
	ctx   context.Context
	stop  context.CancelFunc
	done  chan struct{}

	startOnce, closeOnce sync.Once
	started              atomic.Bool

	wmu  sync.Mutex // serialises writes; guards cur and wbuf
	cur  net.Conn   // the open connection, nil when not Open
	wbuf []byte     // masked copy of the payload being written

	closeSent atomic.Bool // our close frame went out on the current connection

	errMu sync.Mutex
	err   error
}

// New returns an Idle client for the ws:// or wss:// URL u.
func New(u string, o Options) (*Client, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("wsconn/client: URL %q: %w", u, err)
	}
	switch {
	case pu.Scheme != "ws" && pu.Scheme != "wss":
		return nil, fmt.Errorf("wsconn/client: URL %q must be ws:// or wss://", u)
	case pu.Scheme == "ws" && o.TLSConfig != nil:
		return nil, fmt.Errorf("wsconn/client: URL %q is ws:// but Options.TLSConfig is set; use wss://", u)
	}
	if o, err = o.withDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{url: u, o: o, ctx: ctx, stop: cancel, done: make(chan struct{})}, nil
}

// State returns the client's current state.
func (c *Client) State() State { return State(c.state.Load()) }

// Done is closed when the client reaches Closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client is Closed (ErrClosed after Close, the
// last attempt's error after MaxAttempts), or nil before.
func (c *Client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Start leaves Idle and starts connecting in the background. Calls after
// the first do nothing.
func (c *Client) Start() {
	c.startOnce.Do(func() {
		c.started.Store(true)
		go c.run()
	})
}

// Close stops the client: an open connection is closed with 1000 (the
// client waits up to CloseTimeout for the server's answer), a pending
// attempt or backoff is abandoned. It returns when the client is Closed and
// all its goroutines have ended. It is safe to call more than once, but not
// from OnState or OnMessage, whose goroutines Close waits for.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.stop()
		c.startOnce.Do(func() {
			// Never started: Idle → Closed here, there is no goroutine.
			c.transition(Transition{From: StateIdle, To: StateClosed, Err: ErrClosed})
			close(c.done)
		})
	})
	<-c.done
	return nil
}

// Send writes one message (op ws.OpText or ws.OpBinary) as a single masked
// frame. It returns ErrNotOpen unless the client is Open. It is safe for
// concurrent use.
func (c *Client) Send(op ws.OpCode, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.cur == nil || c.State() != StateOpen {
		return ErrNotOpen
	}
	return c.writeLocked(c.cur, op, payload)
}

// writeFrame writes a control frame on nc.
func (c *Client) writeFrame(nc net.Conn, op ws.OpCode, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(nc, op, payload)
}

// writeLocked masks a copy of payload into wbuf and writes header and
// payload in one vectored write; c.wmu is held.
func (c *Client) writeLocked(nc net.Conn, op ws.OpCode, payload []byte) error {
	mask := ws.NewMask()
	if cap(c.wbuf) < ws.MaxHeaderSize+len(payload) {
		c.wbuf = make([]byte, 0, ws.MaxHeaderSize+len(payload))
	}
	buf := proto.AppendClientHeader(c.wbuf[:0], op, len(payload), mask)
	n := len(buf)
	buf = append(buf, payload...)
	ws.Cipher(buf[n:], mask, 0)
	_ = nc.SetWriteDeadline(time.Now().Add(c.o.WriteTimeout))
	_, err := nc.Write(buf)
	if cap(c.wbuf) > proto.MaxKeptBuf {
		c.wbuf = nil
	}
	return err
}

// transition moves to t.To and reports it. Only the client's goroutine (or
// Close before Start) calls it.
func (c *Client) transition(t Transition) {
	t.From = State(c.state.Swap(int32(t.To)))
	if t.To == StateClosed {
		c.errMu.Lock()
		c.err = t.Err
		c.errMu.Unlock()
	}
	if c.o.OnState != nil {
		c.o.OnState(t)
	}
}

// run is the client's goroutine: connect, serve the connection, back off,
// until Close or MaxAttempts.
func (c *Client) run() {
	defer close(c.done)
	seed := c.o.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	attempt := 0 // failed attempts in a row
	for {
		c.transition(Transition{To: StateConnecting, Attempt: attempt + 1})
		nc, br, err := c.dial()
		if err != nil {
			if c.ctx.Err() != nil {
				c.transition(Transition{To: StateClosed, Attempt: attempt + 1, Err: ErrClosed})
				return
			}
			attempt++
			if c.o.MaxAttempts > 0 && attempt >= c.o.MaxAttempts {
				c.transition(Transition{To: StateClosed, Attempt: attempt,
					Err: fmt.Errorf("wsconn/client: gave up after %d attempts: %w", attempt, err)})
				return
			}
		} else {
			attempt = 0
			err = c.session(nc, br)
			if c.ctx.Err() != nil {
				c.transition(Transition{To: StateClosed, Err: ErrClosed})
				return
			}
		}
		delay := c.backoff(rng, attempt)
		if re, ok := errors.AsType[*RefusedError](err); ok {
			delay += re.RetryAfter
		}
		c.transition(Transition{To: StateBackoff, Attempt: attempt, Err: err, Delay: delay})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			c.transition(Transition{To: StateClosed, Attempt: attempt, Err: ErrClosed})
			return
		}
	}
}

// backoff returns the full-jitter delay before the attempt after `failed`
// failures in a row (0 after a lost connection: the first retry is quick).
func (c *Client) backoff(rng *rand.Rand, failed int) time.Duration {
	ceil := c.o.BackoffBase
	for i := 1; i < failed && ceil < c.o.BackoffMax; i++ {
		ceil *= 2
	}
	ceil = min(ceil, c.o.BackoffMax)
	return time.Duration(rng.Int64N(int64(ceil) + 1))
}

// dial connects and runs the opening handshake within HandshakeTimeout,
// abandoned at once by Close. A status other than 101 is a *RefusedError.
func (c *Client) dial() (net.Conn, *bufio.Reader, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.o.HandshakeTimeout)
	defer cancel()
	var refused *RefusedError
	d := ws.Dialer{TLSConfig: c.o.TLSConfig, OnStatusError: func(status int, _ []byte, resp io.Reader) {
		refused = &RefusedError{Status: status, RetryAfter: retryAfter(resp, time.Now())}
	}}
	nc, br, _, err := d.Dial(ctx, c.url)
	if refused != nil {
		return nil, nil, refused
	}
	if err != nil {
		return nil, nil, err
	}
	if br == nil {
		br = bufio.NewReader(nc)
	}
	return nc, br, nil
}

// retryAfter reads the Retry-After header of the HTTP response resp (status
// line first): delay-seconds or an HTTP date, as RFC 9110 section 10.2.3
// allows; 0 when there is none or it cannot be read.
func retryAfter(resp io.Reader, now time.Time) time.Duration {
	r, err := http.ReadResponse(bufio.NewReader(resp), nil)
	if err != nil {
		return 0
	}
	v := strings.TrimSpace(r.Header.Get("Retry-After"))
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// session runs one open connection until it ends and returns why. It owns
// nc and closes it.
func (c *Client) session(nc net.Conn, br *bufio.Reader) error {
	c.closeSent.Store(false)
	c.wmu.Lock()
	c.cur = nc
	c.wmu.Unlock()
	c.transition(Transition{To: StateOpen})
	defer func() {
		c.wmu.Lock()
		c.cur = nil
		c.wmu.Unlock()
	}()

	pongs := make(chan struct{}, 1)
	ended := make(chan error, 1)
	go func() { ended <- c.readLoop(nc, br, pongs) }()

	var tick, pongWait <-chan time.Time
	if c.o.PingInterval > 0 {
		t := time.NewTicker(c.o.PingInterval)
		defer t.Stop()
		tick = t.C
	}
	var pongTimer *time.Timer
	defer func() {
		if pongTimer != nil {
			pongTimer.Stop()
		}
	}()
	for {
		select {
		case <-tick:
			if pongWait != nil {
				continue // still waiting for the last one
			}
			var payload [8]byte
			binary.BigEndian.PutUint64(payload[:], uint64(time.Now().UnixNano()))
			if err := c.writeFrame(nc, ws.OpPing, payload[:]); err != nil {
				nc.Close()
				<-ended
				return err
			}
			pongTimer = time.NewTimer(c.o.PongTimeout)
			pongWait = pongTimer.C
		case <-pongs:
			if pongTimer != nil {
				pongTimer.Stop()
			}
			pongWait = nil
		case <-pongWait:
			nc.Close()
			<-ended
			return ErrPongTimeout
		case err := <-ended:
			var ce *wsconn.CloseError
			if errors.As(err, &ce) {
				// The server closed: the reader answered; Closing until
				// the TCP connection is gone.
				c.transition(Transition{To: StateClosing, Err: err})
				_ = nc.SetReadDeadline(time.Now().Add(c.o.CloseTimeout))
				_, _ = io.Copy(io.Discard, br)
			}
			nc.Close()
			return err
		case <-c.ctx.Done():
			c.transition(Transition{To: StateClosing, Err: ErrClosed})
			c.closeSent.Store(true)
			_ = c.writeFrame(nc, ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
			// Wait for the server's close (the reader returns) or time out.
			_ = nc.SetReadDeadline(time.Now().Add(c.o.CloseTimeout))
			err := <-ended
			nc.Close()
			return err
		}
	}
}

// readLoop reads server frames until the connection ends: messages go to
// OnMessage, pings are answered, pongs signalled, a close is answered (if
// ours was not sent) and returned as a *wsconn.CloseError with Remote set.
func (c *Client) readLoop(nc net.Conn, br *bufio.Reader, pongs chan<- struct{}) error {
	var (
		msg   []byte
		op    ws.OpCode
		frag  bool
		ctl   [ws.MaxControlFramePayloadSize]byte
		limit = c.o.MaxMessage
	)
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			return err
		}
		switch {
		case h.Masked, h.Rsv != 0, h.OpCode.IsReserved(),
			h.OpCode.IsControl() && (!h.Fin || h.Length > ws.MaxControlFramePayloadSize),
			h.OpCode == ws.OpContinuation && !frag,
			h.OpCode.IsData() && h.OpCode != ws.OpContinuation && frag:
			return c.fail(nc, ws.StatusProtocolError, "protocol error")
		case h.OpCode.IsData() && int64(len(msg))+h.Length > limit:
			return c.fail(nc, ws.StatusMessageTooBig, "message too big")
		}
		if h.OpCode.IsControl() {
			p := ctl[:h.Length]
			if _, err := io.ReadFull(br, p); err != nil {
				return proto.NoEOF(err)
			}
			switch h.OpCode {
			case ws.OpPing:
				if err := c.writeFrame(nc, ws.OpPong, p); err != nil {
					return err
				}
			case ws.OpPong:
				select {
				case pongs <- struct{}{}:
				default:
				}
			case ws.OpClose:
				code, reason := ws.ParseCloseFrameData(p)
				if !c.closeSent.Load() {
					body := p
					if len(p) >= 2 {
						body = p[:2]
					}
					_ = c.writeFrame(nc, ws.OpClose, body)
				}
				if len(p) < 2 {
					code = ws.StatusNoStatusRcvd
				}
				return &wsconn.CloseError{Code: code, Reason: reason, Remote: true}
			}
			continue
		}
		if !frag {
			op, msg = h.OpCode, msg[:0]
		}
		n := len(msg)
		msg = slices.Grow(msg, int(h.Length))[:n+int(h.Length)]
		if _, err := io.ReadFull(br, msg[n:]); err != nil {
			return proto.NoEOF(err)
		}
		frag = !h.Fin
		if h.Fin && c.o.OnMessage != nil {
			c.o.OnMessage(op, msg)
		}
		if h.Fin && cap(msg) > proto.MaxKeptBuf {
			msg = nil
		}
	}
}

// fail sends a close frame with code and reason and returns the error.
func (c *Client) fail(nc net.Conn, code ws.StatusCode, reason string) error {
	c.closeSent.Store(true)
	_ = c.writeFrame(nc, ws.OpClose, ws.NewCloseFrameBody(code, reason))
	return &wsconn.CloseError{Code: code, Reason: reason}
}
