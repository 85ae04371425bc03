// Package conformance is a Go-native port of the Autobahn|Testsuite case
// groups that apply to a WebSocket server without extensions: 1 framing,
// 2 ping/pong, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close
// handling and part of 9 (large messages). Autobahn needs Python 2 or
// Docker, which the machines of this project lack.
//
// Each case is a raw byte-level client script run over a real TCP
// connection: the suite does its own opening handshake, writes masked frames
// byte for byte (whole, in chops, or one octet per write, with pauses where
// Autobahn pauses) and records every frame the server sends back until the
// connection ends. The verdicts follow Autobahn's:
//
//   - pass: the server answered exactly as the case requires;
//   - non-strict: the behaviour is allowed but not the best one: it failed
//     the connection later than it could have (fail-fast UTF-8 cases), or
//     dropped TCP without a close frame, or closed without echoing the code;
//   - fail: anything else (a wrong close code, an echo of an invalid
//     message, a pong after a protocol error, no answer before the timeout).
//
// The server under test must be an echo server at path "/": every text or
// binary message sent back unchanged, with a message limit of at least
// 16 MiB (the group 9 cases send up to 16 MiB).
//
// This package is internal: its only users are the tests of wsconn, which
// run it against the rtlab servers and against gorilla/websocket and
// coder/websocket echo servers. It depends on nothing of wsconn, so that
// the scripts cannot share a bug with the code they check.
package conformance

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Verdict is the outcome of one case.
type Verdict int

// Verdicts, from best to worst.
const (
	Pass Verdict = iota
	NonStrict
	Fail
)

// String returns the verdict as the table prints it.
func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case NonStrict:
		return "non-strict"
	}
	return "fail"
}

// Result is the outcome of one case against one server.
type Result struct {
	// Case is the Autobahn case number, e.g. "6.4.1".
	Case string
	// Desc says what the case sends and expects.
	Desc    string
	Verdict Verdict
	// Detail says why the verdict is not pass (empty for pass).
	Detail string
	// Elapsed is the wall time of the case.
	Elapsed time.Duration
}

// Options tune a run. The zero value is fine.
type Options struct {
	// Timeout bounds how long a case waits for each answer; 0 means 3s.
	Timeout time.Duration
	// Pause is the pause between frames in the cases Autobahn sends
	// "frame-wise with delay"; 0 means 50ms (Autobahn uses 1s).
	Pause time.Duration
	// Filter, when not nil, selects the cases to run by number.
	Filter func(id string) bool
	// TLS, when not nil, runs every case over TLS (wss://) with this client
	// configuration.
	TLS *tls.Config
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 3 * time.Second
	}
	return o.Timeout
}

func (o Options) pause() time.Duration {
	if o.Pause <= 0 {
		return 50 * time.Millisecond
	}
	return o.Pause
}

// Run runs every case against the echo server at addr ("host:port") and
// returns one result per case, in case order. Cases run one after another,
// each on its own connection.
func Run(addr string, opts Options) []Result {
	var results []Result
	for _, c := range Cases() {
		if opts.Filter != nil && !opts.Filter(c.ID) {
			continue
		}
		results = append(results, RunCase(addr, c, opts))
	}
	return results
}

// RunCase runs one case against the echo server at addr.
func RunCase(addr string, c Case, opts Options) Result {
	start := time.Now()
	v, detail := c.run(addr, opts)
	return Result{Case: c.ID, Desc: c.Desc, Verdict: v, Detail: detail, Elapsed: time.Since(start)}
}

// event is one thing the server did.
type event struct {
	kind    eventKind
	op      byte   // message opcode
	payload []byte // message or pong payload, close reason
	code    int    // close code, 0 for a close without one
	err     error  // for evEnd: how the connection ended
	at      time.Time
}

type eventKind int

const (
	evMessage eventKind = iota
	evPong
	evClose
	evEnd
	evBad // a frame no server may send; payload says why
)

func (e event) String() string {
	switch e.kind {
	case evMessage:
		return fmt.Sprintf("message(op %d, %d bytes)", e.op, len(e.payload))
	case evPong:
		return fmt.Sprintf("pong(%q)", trim(e.payload))
	case evClose:
		if e.code == 0 {
			return "close(no code)"
		}
		return fmt.Sprintf("close(%d)", e.code)
	case evEnd:
		return fmt.Sprintf("end(%v)", e.err)
	}
	return fmt.Sprintf("bad frame(%s)", e.payload)
}

func trim(p []byte) string {
	if len(p) > 24 {
		return string(p[:24]) + "..."
	}
	return string(p)
}

// client is one connection of a case.
type client struct {
	conn    net.Conn
	timeout time.Duration // the case's: bounds each write as each answer
	events  chan event
	mu      sync.Mutex
	seen    []event
	done    chan struct{}
}

// dial connects and performs the opening handshake.
func dial(addr string, timeout time.Duration, tc *tls.Config) (*client, error) {
	var conn net.Conn
	var err error
	if tc != nil {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, tc)
	} else {
		conn, err = net.DialTimeout("tcp", addr, timeout)
	}
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	resp.Body.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("handshake: status %d, accept %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	_ = conn.SetDeadline(time.Time{})
	c := &client{conn: conn, timeout: timeout, events: make(chan event, 1024), done: make(chan struct{})}
	go c.readLoop(br)
	return c, nil
}

// readLoop decodes server frames into events until the connection ends.
func (c *client) readLoop(br *bufio.Reader) {
	defer close(c.done)
	defer close(c.events)
	var (
		msgOp  byte
		msg    []byte
		inMsg  bool
		header [14]byte
	)
	emit := func(e event) {
		e.at = time.Now()
		c.events <- e
	}
	for {
		if _, err := io.ReadFull(br, header[:2]); err != nil {
			emit(event{kind: evEnd, err: err})
			return
		}
		fin, rsv, op := header[0]&0x80 != 0, header[0]&0x70, header[0]&0x0f
		masked, n := header[1]&0x80 != 0, uint64(header[1]&0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(br, header[:2]); err != nil {
				emit(event{kind: evEnd, err: err})
				return
			}
			n = uint64(binary.BigEndian.Uint16(header[:2]))
		case 127:
			if _, err := io.ReadFull(br, header[:8]); err != nil {
				emit(event{kind: evEnd, err: err})
				return
			}
			n = binary.BigEndian.Uint64(header[:8])
		}
		if masked || rsv != 0 || n > 64<<20 {
			emit(event{kind: evBad, payload: fmt.Appendf(nil, "masked=%v rsv=%d len=%d", masked, rsv, n)})
			c.conn.Close()
			emit(event{kind: evEnd, err: errors.New("bad frame")})
			return
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			emit(event{kind: evEnd, err: err})
			return
		}
		switch op {
		case 0x0, 0x1, 0x2:
			if (op == 0) != inMsg {
				emit(event{kind: evBad, payload: fmt.Appendf(nil, "opcode %d with message open=%v", op, inMsg)})
				continue
			}
			if op != 0 {
				msgOp, msg, inMsg = op, nil, true
			}
			msg = append(msg, p...)
			if fin {
				emit(event{kind: evMessage, op: msgOp, payload: msg})
				inMsg = false
			}
		case 0x8:
			e := event{kind: evClose}
			if len(p) >= 2 {
				e.code = int(binary.BigEndian.Uint16(p))
				e.payload = p[2:]
			}
			emit(e)
		case 0x9:
			// A server ping (a keepalive) is not part of any case: answer
			// it so the server keeps the connection, record nothing.
			c.write(frame(0xa, true, p))
		case 0xa:
			emit(event{kind: evPong, payload: p})
		default:
			emit(event{kind: evBad, payload: fmt.Appendf(nil, "opcode %d", op)})
		}
	}
}

// write sends raw bytes; errors show up as the end of the connection. A
// write may take as long as the case waits for an answer: a server slowed
// by the race detector on a busy machine can take longer than a fixed 5 s
// to read a 16 MiB message (case 9.1.6 failed under go test -race ./...).
func (c *client) write(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	_, _ = c.conn.Write(b)
}

// next waits up to d for the next event; ok is false on timeout.
func (c *client) next(d time.Duration) (event, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case e, open := <-c.events:
		if !open {
			return event{kind: evEnd, err: errors.New("closed")}, true
		}
		c.seen = append(c.seen, e)
		return e, true
	case <-t.C:
		return event{}, false
	}
}

// close ends the connection and waits for the reader.
func (c *client) close() {
	c.conn.Close()
	<-c.done
}

// frame encodes a masked client frame; op may be any 4-bit value and rsv
// any 3-bit value, on purpose.
func frame(op byte, fin bool, payload []byte) []byte {
	return rawFrame(op, fin, 0, payload)
}

func rawFrame(op byte, fin bool, rsv byte, payload []byte) []byte {
	b := []byte{op&0x0f | rsv<<4}
	if fin {
		b[0] |= 0x80
	}
	n := len(payload)
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	b = append(b, mask[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range payload {
		b[start+i] ^= mask[i%4]
	}
	return b
}

func closeBody(code int, reason string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

// describe lists events for a detail line.
func describe(evs []event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.String())
	}
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}
