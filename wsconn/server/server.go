package server

// This file holds what both server designs share: options, counters, the
// handler plumbing, accept and handshake, and Shutdown. The designs are
// described in doc.go, the reactor's mechanics at its type.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/internal/proto"
)

// Design names a server design.
type Design string

const (
	// DesignGoroutine runs one goroutine per connection, with buffers held
	// for the connection's life.
	DesignGoroutine Design = "goroutine"
	// DesignReactor registers connections with epoll and serves readiness
	// with a bounded worker pool; idle connections hold no goroutine and no
	// buffer. Off Linux it falls back to DesignGoroutine.
	DesignReactor Design = "reactor"
)

// String returns the design's name, as benchmark names use it
// (server=goroutine).
func (d Design) String() string { return string(d) }

// Designs lists the server designs, in the order the benchmarks run them.
func Designs() []Design { return []Design{DesignGoroutine, DesignReactor} }

// Default option values, used where an Options field is zero.
const (
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultReadTimeout      = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultCloseTimeout     = time.Second
	DefaultMaxHeaderBytes   = 8 << 10
	DefaultReadBufferSize   = 4 << 10
	DefaultWriteBufferSize  = 4 << 10
	DefaultWriteQueueBytes  = 4 << 20
	DefaultRetryAfter       = time.Second
)

// Options configure a Server. The zero value of every field means its
// default; a negative value is an error, except PingInterval where a
// negative value disables pings.
type Options struct {
	// HandshakeTimeout bounds the whole opening handshake, from accept to
	// the 101 response. A peer still sending headers then (slowloris) is
	// answered 408, closed and counted in Stats.HandshakeTimeouts.
	HandshakeTimeout time.Duration
	// MaxConns bounds the connections the server holds at once (in their
	// handshake or upgraded); 0 means no bound but the process's open-files
	// limit. A connection past it, or one accepted when descriptors have
	// run out, is answered 503 Service Unavailable with Retry-After before
	// any upgrade, then closed, and counted in Stats.RefusedMaxConns or
	// Stats.RefusedNoFDs.
	MaxConns int
	// RetryAfter is what a refusal's Retry-After header tells the client to
	// wait, rounded up to whole seconds as HTTP wants; 0 means
	// DefaultRetryAfter.
	RetryAfter time.Duration
	// MaxHeaderBytes bounds the size of the upgrade request; a larger one is
	// answered 431 Request Header Fields Too Large.
	MaxHeaderBytes int
	// ReadTimeout bounds the reading of one frame or message once its first
	// byte has arrived (a peer that stops mid-frame is closed).
	ReadTimeout time.Duration
	// WriteTimeout bounds one blocking write (goroutine design) or the age of
	// the oldest byte in a connection's write queue (reactor).
	WriteTimeout time.Duration
	// CloseTimeout bounds the wait for the peer to close the TCP connection
	// after the close frame was sent.
	CloseTimeout time.Duration
	// Limits bound frame and message sizes (1009 when exceeded).
	Limits wsconn.Limits
	// PingInterval is how long a connection may stay silent before the
	// server pings it; 0 means no pings, as does a negative value.
	PingInterval time.Duration
	// PongTimeout is how long after a ping the peer has to send something;
	// 0 means PingInterval.
	PongTimeout time.Duration
	// ReadBufferSize is the bufio.Reader size: held per connection by the
	// goroutine design, borrowed while reading by the reactor, whose
	// borrowed input buffers also start at this size.
	ReadBufferSize int
	// WriteBufferSize is the bufio.Writer size of the goroutine design,
	// borrowed from a pool while a connection writes.
	WriteBufferSize int
	// WriteQueueBytes bounds a reactor connection's queue of bytes the
	// socket did not take; a write that would exceed it closes the
	// connection (Stats.SlowConsumers). 0 means the larger of
	// DefaultWriteQueueBytes and the largest message plus 4 KiB, so that the
	// echo of any message the server accepts fits.
	WriteQueueBytes int
	// Workers is the reactor's worker pool size; 0 means 4×GOMAXPROCS, at
	// least 4.
	Workers int
	// TLSConfig, if set, serves wss://: every connection starts with a TLS
	// handshake (TLS 1.3 only: a config whose MaxVersion is below it is an
	// error, and a copy with MinVersion TLS 1.3 is served), bounded by
	// HandshakeTimeout together with the opening handshake. The config
	// must hold a certificate (Certificates or GetCertificate) and is not
	// modified. Stats count plaintext bytes (BytesIn, BytesOut).
	TLSConfig *tls.Config
}

func (o Options) withDefaults() (Options, error) {
	durs := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"HandshakeTimeout", &o.HandshakeTimeout, DefaultHandshakeTimeout},
		{"ReadTimeout", &o.ReadTimeout, DefaultReadTimeout},
		{"WriteTimeout", &o.WriteTimeout, DefaultWriteTimeout},
		{"CloseTimeout", &o.CloseTimeout, DefaultCloseTimeout},
		{"PongTimeout", &o.PongTimeout, 0},
		{"RetryAfter", &o.RetryAfter, DefaultRetryAfter},
	}
	for _, d := range durs {
		if *d.v < 0 {
			return o, fmt.Errorf("wsconn/server: Options.%s %v must be >= 0", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxHeaderBytes", &o.MaxHeaderBytes, DefaultMaxHeaderBytes},
		{"ReadBufferSize", &o.ReadBufferSize, DefaultReadBufferSize},
		{"WriteBufferSize", &o.WriteBufferSize, DefaultWriteBufferSize},
		{"WriteQueueBytes", &o.WriteQueueBytes, int(max(DefaultWriteQueueBytes, o.Limits.WithDefaults().MaxMessage+4<<10))},
		{"Workers", &o.Workers, defaultWorkers()},
		{"MaxConns", &o.MaxConns, 0},
	}
	for _, d := range ints {
		if *d.v < 0 {
			return o, fmt.Errorf("wsconn/server: Options.%s %d must be >= 0", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if o.Limits.MaxFrame < 0 || o.Limits.MaxMessage < 0 {
		return o, fmt.Errorf("wsconn/server: Options.Limits %+v must be >= 0", o.Limits)
	}
	if o.ReadBufferSize < 16 {
		return o, fmt.Errorf("wsconn/server: Options.ReadBufferSize %d must be >= 16", o.ReadBufferSize)
	}
	if c := o.TLSConfig; c != nil {
		if c.MaxVersion != 0 && c.MaxVersion < tls.VersionTLS13 {
			return o, fmt.Errorf("wsconn/server: Options.TLSConfig.MaxVersion %#x is below TLS 1.3 (%#x), the only version served", c.MaxVersion, tls.VersionTLS13)
		}
		if len(c.Certificates) == 0 && c.GetCertificate == nil && c.GetConfigForClient == nil {
			return o, errors.New("wsconn/server: Options.TLSConfig has no certificate (Certificates, GetCertificate or GetConfigForClient)")
		}
		// Served as a copy whose MinVersion is TLS 1.3: the caller's config
		// is not modified, and a client offering TLS 1.2 alone is refused.
		o.TLSConfig = c.Clone()
		o.TLSConfig.MinVersion = tls.VersionTLS13
	}
	if o.PingInterval < 0 {
		o.PingInterval = 0
	}
	if o.PongTimeout == 0 {
		o.PongTimeout = o.PingInterval
	}
	return o, nil
}

// ErrReactorTLS is returned by a DesignReactor server's Serve given a
// TLSConfig, until the reactor serves TLS.
var ErrReactorTLS = errors.New("wsconn/server: DesignReactor does not serve TLS yet")

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("wsconn/server: server closed")

// errSlowConsumer ends a reactor connection whose write queue would pass
// its bound.
var errSlowConsumer = errors.New("wsconn/server: write queue full (slow consumer)")

// Stats is a snapshot of a server's counters.
type Stats struct {
	// Accepted counts TCP connections accepted, refused ones included;
	// Upgraded those whose handshake succeeded; Open those upgraded and not
	// yet closed.
	Accepted, Upgraded uint64
	Open               int64
	// RefusedMaxConns counts connections answered 503 because the server
	// held MaxConns; RefusedNoFDs those answered 503 because the process
	// was out of descriptors (accepted on the reserve descriptor). Neither
	// counts in HandshakeErrors.
	RefusedMaxConns, RefusedNoFDs uint64
	// HandshakeErrors counts handshakes answered with a 4xx/5xx or dropped;
	// HandshakeTimeouts those (among them) cut at HandshakeTimeout.
	HandshakeErrors, HandshakeTimeouts uint64
	// Goroutines is how many goroutines the server runs now (handshakes,
	// connections, reactor workers and poller; not the caller of Serve);
	// PeakGoroutines the most at once.
	Goroutines, PeakGoroutines int64
	// MessagesIn and BytesIn count data messages received and their payload
	// bytes; BytesOut counts bytes written to connections (frames of every
	// kind, headers included).
	MessagesIn, BytesIn, BytesOut uint64
	// PingsSent counts server pings; PongTimeouts connections closed because
	// nothing arrived within PongTimeout after a ping.
	PingsSent, PongTimeouts uint64
	// SlowConsumers counts connections closed because a write queue would
	// pass WriteQueueBytes or a write did not finish within WriteTimeout.
	SlowConsumers uint64
	// QueuedBytes is the number of bytes waiting in reactor write queues now;
	// PeakQueuedBytes the most at once.
	QueuedBytes, PeakQueuedBytes int64
	// ProtocolErrors counts connections the server failed, by the close code
	// it sent (1002 protocol error, 1007 invalid payload, 1009 too big, ...).
	ProtocolErrors map[ws.StatusCode]uint64
	// PeerCloses counts close frames received from peers, by their code.
	PeerCloses map[ws.StatusCode]uint64
}

// codeCounter counts close codes 1000..1015 in an array, others in a map.
type codeCounter struct {
	known [16]atomic.Uint64
	mu    sync.Mutex
	other map[ws.StatusCode]uint64
}

func (cc *codeCounter) add(code ws.StatusCode) {
	if code >= 1000 && code < 1016 {
		cc.known[code-1000].Add(1)
		return
	}
	cc.mu.Lock()
	if cc.other == nil {
		cc.other = map[ws.StatusCode]uint64{}
	}
	cc.other[code]++
	cc.mu.Unlock()
}

func (cc *codeCounter) snapshot() map[ws.StatusCode]uint64 {
	m := map[ws.StatusCode]uint64{}
	for i := range cc.known {
		if v := cc.known[i].Load(); v != 0 {
			m[ws.StatusCode(1000+i)] = v
		}
	}
	cc.mu.Lock()
	for k, v := range cc.other {
		m[k] = v
	}
	cc.mu.Unlock()
	return m
}

type counters struct {
	accepted, upgraded, hsErrors, hsTimeouts atomic.Uint64
	refusedMax, refusedFDs                   atomic.Uint64
	held                                     atomic.Int64 // connections counted against MaxConns
	open, goroutines, peakGoroutines         atomic.Int64
	msgsIn, bytesIn, bytesOut                atomic.Uint64
	pings, pongTimeouts, slow                atomic.Uint64
	queued, peakQueued                       atomic.Int64
	protoErrs, peerCloses                    codeCounter
}

func raiseTo(peak *atomic.Int64, v int64) {
	for {
		p := peak.Load()
		if v <= p || peak.CompareAndSwap(p, v) {
			return
		}
	}
}

// Server is a WebSocket server of one Design. It upgrades connections
// itself with ws.Upgrader on the accepted net.Conn (no net/http) and runs
// the frame path of this package on them. Create it with NewServer, run it
// with Serve, stop it with Shutdown; one Server serves one listener once.
type Server struct {
	design Design
	h      wsconn.Handler
	o      Options

	mu       sync.Mutex
	ln       net.Listener
	conns    map[*srvConn]struct{} // goroutine design only
	shutting bool
	served   bool

	connsWG sync.WaitGroup // one per accepted connection until it is closed
	goWG    sync.WaitGroup // every goroutine the server starts
	ctr     counters
	r       *reactor  // nil for the goroutine design
	wpool   sync.Pool // goroutine design: *bufio.Writer of WriteBufferSize
	spare   reserve   // the acceptor's only: refuses when descriptors run out
	refusal [2][]byte // the 503 answers, by refuseCause
}

// New returns a server of design d that passes every data message to
// h. It checks the options and fills in their defaults.
func New(d Design, h wsconn.Handler, o Options) (*Server, error) {
	if h == nil {
		return nil, errors.New("wsconn/server: handler is nil")
	}
	if d != DesignGoroutine && d != DesignReactor {
		return nil, fmt.Errorf("wsconn/server: design %q must be %q or %q", d, DesignGoroutine, DesignReactor)
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if d == DesignReactor && !reactorSupported {
		d = DesignGoroutine
	}
	s := &Server{design: d, h: h, o: o, conns: map[*srvConn]struct{}{}}
	for cause := range s.refusal {
		s.refusal[cause] = refusalResponse(refuseCause(cause), o.RetryAfter)
	}
	return s, nil
}

// Design reports the design the server runs: DesignReactor falls back to
// DesignGoroutine where epoll is not available.
func (s *Server) Design() Design { return s.design }

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options { return s.o }

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	c := &s.ctr
	return Stats{
		Accepted: c.accepted.Load(), Upgraded: c.upgraded.Load(), Open: c.open.Load(),
		RefusedMaxConns: c.refusedMax.Load(), RefusedNoFDs: c.refusedFDs.Load(),
		HandshakeErrors: c.hsErrors.Load(), HandshakeTimeouts: c.hsTimeouts.Load(),
		Goroutines: c.goroutines.Load(), PeakGoroutines: c.peakGoroutines.Load(),
		MessagesIn: c.msgsIn.Load(), BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		PingsSent: c.pings.Load(), PongTimeouts: c.pongTimeouts.Load(),
		SlowConsumers: c.slow.Load(),
		QueuedBytes:   c.queued.Load(), PeakQueuedBytes: c.peakQueued.Load(),
		ProtocolErrors: c.protoErrs.snapshot(), PeerCloses: c.peerCloses.snapshot(),
	}
}

// goFunc runs f in a goroutine counted in Stats.Goroutines and waited for
// by Shutdown.
func (s *Server) goFunc(f func()) {
	s.goWG.Add(1)
	raiseTo(&s.ctr.peakGoroutines, s.ctr.goroutines.Add(1))
	go func() {
		defer s.goWG.Done()
		defer s.ctr.goroutines.Add(-1)
		f()
	}()
}

// Serve accepts connections on ln until Shutdown, and returns
// ErrServerClosed then (or the listener's error if it fails first). ln is
// closed by Shutdown, or at once if the server cannot start (the reactor's
// epoll instance cannot be made, or ln has no descriptor to accept on).
//
// One descriptor is kept in reserve while Serve runs, so that a server out
// of descriptors can still accept a connection to refuse it (503) instead
// of leaving it in the listen backlog.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	switch {
	case s.shutting:
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	case s.served:
		s.mu.Unlock()
		return errors.New("wsconn/server: Serve called twice")
	}
	s.served = true
	s.ln = ln
	s.spare.open()
	defer s.spare.close()
	if s.design == DesignReactor {
		r, err := newReactor(s, ln) // sets s.r
		if err != nil {
			// Nothing was served: leave the server as it was, but close ln
			// as Shutdown would have.
			s.served, s.ln = false, nil
			s.mu.Unlock()
			ln.Close()
			return err
		}
		s.mu.Unlock()
		// The reactor's poller accepts; Serve waits for it to stop.
		if err := r.acceptEnded(); err != nil && !s.isShutting() {
			return err
		}
		return ErrServerClosed
	}
	s.mu.Unlock()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil && isOutOfFDs(err) && s.spare.f != nil {
			if nc, err = s.acceptOnSpare(ln); err == nil && nc == nil {
				delay = 0
				continue // refused
			}
		}
		if err != nil {
			if s.isShutting() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || isOutOfFDs(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.ctr.accepted.Add(1)
		if s.o.TLSConfig != nil {
			// The TLS handshake runs on the connection's goroutine, first
			// thing in handshake (or refuseGoroutine).
			nc = tls.Server(nc, s.o.TLSConfig)
		}
		// A new connection belongs to its goroutine (busy) from here.
		c := &srvConn{srv: s, nc: nc, fd: -1, busy: true, refused: s.atMaxConns()}
		if !s.track(c) {
			nc.Close()
			continue
		}
		if c.refused {
			s.goFunc(func() { s.refuseGoroutine(c) })
			continue
		}
		s.goFunc(func() { s.handshake(c) })
	}
}

func (s *Server) isShutting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutting
}

// isOutOfFDs reports accept errors that mean the process or the system has
// no descriptor (or socket memory) left for a new connection.
func isOutOfFDs(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// atMaxConns reports whether a new connection must be refused because the
// server holds MaxConns. Only the acceptor adds to held, so the bound is
// never passed.
func (s *Server) atMaxConns() bool {
	return s.o.MaxConns > 0 && s.ctr.held.Load() >= int64(s.o.MaxConns)
}

// acceptOnSpare is the goroutine design's accept when the process is out
// of descriptors (accept fails at once then, whether a connection waits or
// not): it closes the reserve descriptor and waits in Accept with its slot
// free. If the reserve can be reopened once a connection is accepted
// (descriptors were freed meanwhile), the connection is returned, to be
// served as usual; otherwise it is answered 503 and closed at once (the
// reserve must come back), and acceptOnSpare returns nil, nil. An error is
// Accept's: the listener closed, or the slot was taken by someone else.
func (s *Server) acceptOnSpare(ln net.Listener) (net.Conn, error) {
	s.spare.release()
	nc, err := ln.Accept()
	s.spare.open()
	if err != nil || s.spare.f != nil {
		return nc, err
	}
	s.ctr.accepted.Add(1)
	s.ctr.refusedFDs.Add(1)
	// Over TLS the answer would need a TLS handshake on the acceptor, which
	// must not wait for a peer: the connection is closed unanswered.
	if s.o.TLSConfig == nil {
		_ = nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = nc.Write(s.refusal[refuseNoFDs])
		if cw, ok := nc.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}
	nc.Close()
	s.spare.open()
	return nil, nil
}

// refuseGoroutine answers 503 on a goroutine-design connection past
// MaxConns and closes it gracefully (FIN, then what the client still sends
// is read and dropped until it closes or CloseTimeout passes), so the
// answer is not lost to a reset.
func (s *Server) refuseGoroutine(c *srvConn) {
	s.ctr.refusedMax.Add(1)
	if err := s.tlsHandshake(c, time.Now()); err != nil {
		closeNow(c.nc)
		s.untrack(c)
		return
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(s.o.WriteTimeout))
	_, _ = c.nc.Write(s.refusal[refuseMaxConns])
	_ = wsconn.CloseGracefully(c.nc, s.o.CloseTimeout)
	s.untrack(c)
}

// refuseCause says why a connection is refused.
type refuseCause int

const (
	refuseMaxConns refuseCause = iota // the server holds MaxConns
	refuseNoFDs                       // the process is out of descriptors
)

// refusalResponse is the HTTP answer to a refused connection: 503 with
// Retry-After in whole seconds, and a one-line body saying why for a human
// with curl.
func refusalResponse(cause refuseCause, retry time.Duration) []byte {
	body := "server at its connection limit (MaxConns); retry later\n"
	if cause == refuseNoFDs {
		body = "server out of file descriptors; retry later\n"
	}
	secs := int64((retry + time.Second - 1) / time.Second)
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %d\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
		secs, len(body), body)
}

// reserve is a descriptor (/dev/null) held open so that a process out of
// descriptors can still accept one connection to refuse it: closed just
// before that accept, reopened just after the refused connection is closed.
// Only the acceptor uses it.
type reserve struct{ f *os.File }

// open reopens the reserve if it is closed; it stays closed if the process
// has no descriptor for it.
func (r *reserve) open() {
	if r.f == nil {
		r.f, _ = os.Open(os.DevNull)
	}
}

// release closes the reserve and reports whether it was open.
func (r *reserve) release() bool {
	if r.f == nil {
		return false
	}
	r.f.Close()
	r.f = nil
	return true
}

func (r *reserve) close() { r.release() }

// track registers an accepted connection; false once shutting down. A
// refused connection does not count against MaxConns.
func (s *Server) track(c *srvConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting {
		return false
	}
	if s.design == DesignGoroutine {
		s.conns[c] = struct{}{}
	}
	if !c.refused {
		s.ctr.held.Add(1)
	}
	s.connsWG.Add(1)
	return true
}

// untrack forgets a connection whose socket has been closed.
func (s *Server) untrack(c *srvConn) {
	if s.design == DesignGoroutine {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}
	if c.upgraded.Load() {
		s.ctr.open.Add(-1)
	}
	if !c.refused {
		s.ctr.held.Add(-1)
	}
	s.connsWG.Done()
}

// handshake upgrades a goroutine-design connection and serves it. It runs
// on the connection's own goroutine, so a slow handshake never holds up
// accept. (The reactor runs its handshakes itself: handshake_linux.go.)
// Over TLS, the TLS handshake and the opening handshake share one
// HandshakeTimeout.
func (s *Server) handshake(c *srvConn) {
	start := time.Now()
	err := s.tlsHandshake(c, start)
	if err == nil {
		// At least a nanosecond: a deadline already past reads as a timeout.
		left := max(s.o.HandshakeTimeout-time.Since(start), time.Nanosecond)
		_, err = wsconn.Handshake(c.nc, left, int64(s.o.MaxHeaderBytes))
	}
	if err != nil {
		s.ctr.hsErrors.Add(1)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.ctr.hsTimeouts.Add(1)
		}
		c.nc.Close()
		s.untrack(c)
		return
	}
	s.upgradedConn(c)
	s.serveGoroutine(c)
}

// tlsHandshake runs the TLS handshake of a goroutine-design connection
// over TLS, by HandshakeTimeout after start; without TLS it does nothing.
// A peer that sends plain HTTP instead is answered 400 in plain HTTP, as
// net/http answers it, so that someone trying ws:// or curl http:// on a
// wss:// port learns why; the caller closes the connection.
func (s *Server) tlsHandshake(c *srvConn, start time.Time) error {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	if err := tc.SetDeadline(start.Add(s.o.HandshakeTimeout)); err != nil {
		return err
	}
	err := tc.Handshake()
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) && rh.Conn != nil && looksLikeHTTP(rh.RecordHeader) {
		_ = rh.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = rh.Conn.Write(plainHTTPAnswer)
	}
	return err
}

// plainHTTPAnswer answers plain HTTP sent to a TLS port.
var plainHTTPAnswer = []byte("HTTP/1.0 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n" +
	"Client sent an HTTP request to a TLS (wss://) server.\n")

// looksLikeHTTP reports whether the first five bytes a peer sent, which
// crypto/tls rejected as a record header, start an HTTP request.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE", "TRACE":
		return true
	}
	return false
}

// closeNow closes a connection without a TLS close_notify: a peer that no
// longer reads would hold Close in the alert's write for up to 5 s.
func closeNow(nc net.Conn) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	nc.Close()
}

// upgradedConn counts c as upgraded, once its 101 is written.
func (s *Server) upgradedConn(c *srvConn) {
	s.ctr.upgraded.Add(1)
	s.ctr.open.Add(1)
	c.upgraded.Store(true)
	c.lastRead.Store(time.Now().UnixNano())
}

// Shutdown stops accepting, sends close 1001 (going away) to every
// connection and waits until all of them are closed and every goroutine of
// the server has returned. If ctx ends first, the remaining connections are
// closed at once (after which Shutdown still waits for the goroutines, which
// then return promptly) and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.shutting
	s.shutting = true
	ln := s.ln
	conns := s.appendConns(nil)
	s.mu.Unlock()
	if first && ln != nil {
		ln.Close()
		if s.r != nil {
			s.r.stopAccepting()
		}
	}
	for _, c := range conns {
		c.goAway()
	}

	done := make(chan struct{})
	go func() {
		s.connsWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.Lock()
		conns = s.appendConns(conns[:0])
		s.mu.Unlock()
		for _, c := range conns {
			c.kill() // may close and untrack c, which takes s.mu
		}
		<-done
	}
	if s.r != nil {
		s.r.stop()
	}
	s.goWG.Wait()
	if s.r != nil {
		s.r.closeEpoll()
	}
	return err
}

// appendConns appends every open connection to cs: those in s.conns
// (goroutine design) or those the reactor holds. The caller holds s.mu.
func (s *Server) appendConns(cs []*srvConn) []*srvConn {
	for c := range s.conns {
		cs = append(cs, c)
	}
	if s.r != nil {
		cs = s.r.appendConns(cs)
	}
	return cs
}

// srvConn is one accepted connection. Design-specific fields are documented
// where they are used.
type srvConn struct {
	srv *Server
	nc  net.Conn // goroutine design only: the reactor accepts raw descriptors

	lastRead atomic.Int64 // unix ns of the last byte read
	pingSent atomic.Int64 // unix ns of an unanswered ping, 0 if none

	upgraded  atomic.Bool
	goingAway atomic.Bool // Shutdown asked for a close 1001
	// partSince is, for the reactor, when the unit held in in (a message
	// or control frame only partly received) began, or before the upgrade
	// when the connection was accepted: unix ms truncated to 32 bits
	// (compared with wrap-around arithmetic, see msSince), 0 if none. 32
	// bits keep srvConn in its size class.
	partSince atomic.Uint32
	// wqSince is, for the reactor, when the write queue became non-empty,
	// in partSince's form, 0 if it is empty.
	wqSince atomic.Uint32
	// closeAt is, for the reactor, when the close frame was queued, in
	// partSince's form, 0 if not.
	closeAt atomic.Uint32

	// Reactor state, guarded by mu except where noted; fields are ordered
	// to keep the struct in the 128-byte size class (TestSrvConnSizeClass),
	// since an idle reactor connection is this struct and a table slot.
	mu      sync.Mutex
	fd      int32
	gen     int32
	pend    uint32 // events that arrived while busy
	idle    bool   // goroutine design: waiting for the next unit
	busy    bool   // a goroutine owns the connection's I/O
	dead    bool   // closed or being closed; no more I/O
	killed  bool   // kill was called (owner must close)
	finSent bool   // owner only: CloseWrite done
	closing bool   // owner only: close frame (or HTTP error) sent, draining
	refused bool   // answered 503, not counted against MaxConns; set before the connection is shared
	wq      []byte // owner only: bytes the socket has not taken yet
	in      *inBuf // owner only: a unit partly received, nil if none
	// tls is a wss reactor connection's record layer (owner only), set
	// once its TLS handshake is done; nil for ws://.
	tls *tlsRecords
}

// goAway asks the connection to close with 1001.
func (c *srvConn) goAway() {
	c.goingAway.Store(true)
	if !c.upgraded.Load() {
		// Still in the handshake: its deadline bounds it, and the
		// connection checks goingAway once upgraded (loopGoroutine for the
		// goroutine design, reactor.process for the reactor).
		return
	}
	if c.srv.r != nil {
		c.srv.r.goAway(c)
		return
	}
	// Wake the connection's goroutine if it waits idle in Read: it sends
	// the close frame itself, so its writes stay on one goroutine. A busy
	// one sees goingAway when it next goes idle.
	c.mu.Lock()
	if c.idle {
		_ = c.nc.SetReadDeadline(time.Now())
	}
	c.mu.Unlock()
}

// kill closes the connection without a close frame (Shutdown's context
// ended). For the goroutine design, closing the socket wakes the goroutine
// that owns it; the reactor defers to the owner if there is one.
func (c *srvConn) kill() {
	if c.srv.r != nil {
		c.srv.r.kill(c)
		return
	}
	if tc, ok := c.nc.(*tls.Conn); ok {
		// A TLS close_notify in progress sets a write deadline of its own:
		// close the socket under it instead, which wakes any I/O at once.
		tc.NetConn().Close()
		return
	}
	_ = c.nc.SetDeadline(time.Now())
}

// countReader records when bytes were last read from a connection.
type countReader struct{ c *srvConn }

func (r countReader) Read(p []byte) (int, error) {
	n, err := r.c.nc.Read(p)
	if n > 0 {
		r.c.lastRead.Store(time.Now().UnixNano())
	}
	return n, err
}

// countWriter writes to a connection with a deadline and counts bytes.
type countWriter struct{ c *srvConn }

func (w countWriter) Write(p []byte) (int, error) {
	_ = w.c.nc.SetWriteDeadline(time.Now().Add(w.c.srv.o.WriteTimeout))
	n, err := w.c.nc.Write(p)
	w.c.srv.ctr.bytesOut.Add(uint64(n))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		w.c.srv.ctr.slow.Add(1)
	}
	return n, err
}

// readWriter is an io.ReadWriter of a reader and a writer apart (the
// reactor's handshake reads its input buffer and answers on its writer).
type readWriter struct {
	io.Reader
	io.Writer
}

// scratch is what reading a connection needs: held per connection by the
// goroutine design, borrowed from a pool per readiness event by the reactor.
type scratch struct {
	br  *bufio.Reader
	m   wsconn.MessageReader
	fw  wsconn.FrameWriter
	hdr [ws.MaxHeaderSize]byte
	ctl [ws.MaxControlFramePayloadSize]byte
	buf []byte // message buffer, reused while small
}

// unit reads and handles the next unit of input, whose first byte is
// already buffered in sc.br: a lone ping or pong (answered or noted without
// waiting for a data message), or one whole message (with any control frames
// between its fragments), which goes to the handler with w as its writer.
// It returns the error that ends the connection; a *wsconn.CloseError means a close
// frame was written to w.
func (s *Server) unit(c *srvConn, sc *scratch, w io.Writer) error {
	b, err := sc.br.Peek(1)
	if err != nil {
		return err
	}
	if op := ws.OpCode(b[0] & 0x0f); b[0]&0x80 != 0 && (op == ws.OpPing || op == ws.OpPong) {
		h, p, err := wsconn.ReadFrame(sc.br, sc.hdr[:], sc.ctl[:], false)
		if err != nil {
			return s.failed(w, &sc.fw, err)
		}
		c.pingSent.Store(0)
		if h.OpCode == ws.OpPing {
			return sc.fw.WriteFrame(w, ws.Header{Fin: true, OpCode: ws.OpPong}, p)
		}
		return nil
	}
	// Headers parsed where they lie in sc.br's buffer (wsconn's fast path
	// for small messages), answers to pings and closes on w.
	op, msg, err := sc.m.ReadMessageBuffered(sc.br, w, sc.buf)
	defer func() { sc.buf = proto.KeepBuf(msg) }()
	if err != nil {
		s.noteClose(err)
		return err
	}
	c.pingSent.Store(0)
	s.ctr.msgsIn.Add(1)
	s.ctr.bytesIn.Add(uint64(len(msg)))
	if c.closeAt.Load() != 0 {
		// After our close frame, data is read and dropped (RFC 6455 1.4).
		return nil
	}
	return s.h.HandleMessage(w, op, msg)
}

// failed writes the close frame for a *wsconn.CloseError found outside
// ReadMessage (which writes its own) and counts it.
func (s *Server) failed(w io.Writer, fw *wsconn.FrameWriter, err error) error {
	var ce *wsconn.CloseError
	if errors.As(err, &ce) && !ce.Remote {
		_ = fw.WriteClose(w, ce.Code, ce.Reason)
	}
	s.noteClose(err)
	return err
}

// noteClose counts the close code of a *wsconn.CloseError.
func (s *Server) noteClose(err error) {
	var ce *wsconn.CloseError
	if !errors.As(err, &ce) {
		return
	}
	if ce.Remote {
		s.ctr.peerCloses.add(ce.Code)
	} else {
		s.ctr.protoErrs.add(ce.Code)
	}
}
