//go:build linux

package server

// This file is how the reactor serves wss://. crypto/tls cannot pause a
// handshake when the socket has nothing to read and resume it on the next
// readiness event, so each handshake runs on a goroutine of its own, over
// a duplicate of the descriptor in Go's network poller, bounded by
// HandshakeTimeout like the opening handshake (the sweep kills it).
// crypto/tls then leaves: the reactor takes the application traffic
// secrets (through the config's KeyLogWriter, matched to the connection by
// its ClientHello random) and runs the TLS 1.3 record layer itself
// (tlsrecord.go), reading and sealing records in buffers it borrows while
// a worker owns the connection. An idle wss connection holds its secrets,
// keys and sequence numbers (tlsRecords) and no goroutine, no buffer and
// no crypto/tls.Conn.

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// reactorTLS is the reactor's TLS side.
type reactorTLS struct {
	cfg *tls.Config // the server's config, cloned, with our KeyLogWriter
	// secrets holds the handshakes in progress by ClientHello random, where
	// the key log writer leaves their traffic secrets.
	secrets sync.Map // [32]byte → *hsSecrets
	userLog io.Writer
}

// hsSecrets are the application traffic secrets of one handshake.
type hsSecrets struct {
	mu             sync.Mutex
	client, server []byte
}

// newReactorTLS checks the server's config for what the reactor serves and
// clones it with a key log writer of its own (the user's, if any, still
// gets every line).
func newReactorTLS(cfg *tls.Config) (*reactorTLS, error) {
	if cfg.ClientAuth != tls.NoClientCert {
		return nil, errors.New("wsconn/server: DesignReactor serves TLS without client certificates (Options.TLSConfig.ClientAuth must be NoClientCert)")
	}
	rt := &reactorTLS{userLog: cfg.KeyLogWriter}
	rt.cfg = cfg.Clone()
	rt.cfg.MinVersion = tls.VersionTLS13
	rt.cfg.KeyLogWriter = keyLogFunc(rt.keyLog)
	return rt, nil
}

// keyLogFunc is an io.Writer that calls a function.
type keyLogFunc func([]byte) error

func (f keyLogFunc) Write(p []byte) (int, error) { return len(p), f(p) }

// keyLog takes one NSS key log line ("LABEL <client random> <secret>") and
// keeps the application traffic secrets of the handshake it names.
func (rt *reactorTLS) keyLog(line []byte) error {
	if rt.userLog != nil {
		if _, err := rt.userLog.Write(line); err != nil {
			return err
		}
	}
	f := bytes.Fields(line)
	if len(f) != 3 {
		return nil
	}
	var random [32]byte
	if n, err := hex.Decode(random[:], f[1]); err != nil || n != len(random) {
		return nil
	}
	v, ok := rt.secrets.Load(random)
	if !ok {
		return nil
	}
	hs := v.(*hsSecrets)
	secret, err := hex.DecodeString(string(f[2]))
	if err != nil {
		return fmt.Errorf("wsconn/server: key log secret: %w", err)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	switch string(f[0]) {
	case "CLIENT_TRAFFIC_SECRET_0":
		hs.client = secret
	case "SERVER_TRAFFIC_SECRET_0":
		hs.server = secret
	}
	return nil
}

// tlsHandshake runs the TLS handshake of c, which the caller (the poller,
// in adopt) owns, then registers c with epoll for the opening handshake
// over the reactor's record layer, or closes it.
func (r *reactor) tlsHandshake(c *srvConn) {
	t, rest, err := r.tls.handshake(int(c.fd))
	if err != nil {
		r.markDead(c)
		r.release(c, false)
		return
	}
	t.addRaw(rest)
	c.tls = t
	if err := r.ep.add(int(c.fd), c.gen, evRead); err != nil {
		r.markDead(c)
	} else if c.refused {
		// Past MaxConns: the 503, sealed, now that the client can read it.
		var w nbWriter
		w.init(c, nil)
		_, _ = w.Write(r.s.refusal[refuseMaxConns])
		r.closing(c, &w)
	} else if t.buffered() {
		c.mu.Lock()
		c.pend |= unix.EPOLLIN // bytes the handshake read past its end
		c.mu.Unlock()
	}
	t.idle()
	r.release(c, false)
}

// handshake runs crypto/tls's server handshake over a duplicate of fd and
// returns the record layer that goes on from it, with the bytes read past
// the handshake's last record.
func (rt *reactorTLS) handshake(fd int) (*tlsRecords, []byte, error) {
	nc, err := dupConn(fd)
	if err != nil {
		return nil, nil, err
	}
	defer nc.Close()
	hc := &hsConn{Conn: nc, rt: rt}
	defer hc.forget()
	tc := tls.Server(hc, rt.cfg)
	if err := tc.Handshake(); err != nil {
		return nil, nil, err
	}
	if hc.rem != 0 {
		return nil, nil, errors.New("wsconn/server: TLS handshake ended inside a record")
	}
	hs := hc.secrets
	if hs == nil {
		return nil, nil, errors.New("wsconn/server: TLS handshake without a ClientHello random")
	}
	hs.mu.Lock()
	client, server := hs.client, hs.server
	hs.mu.Unlock()
	if client == nil || server == nil {
		return nil, nil, errors.New("wsconn/server: TLS handshake logged no application traffic secrets")
	}
	t, err := newTLSRecords(tc.ConnectionState().CipherSuite, client, server)
	if err != nil {
		return nil, nil, err
	}
	t.out.seq = sealedBy(t, hc.sent)
	return t, hc.buf[hc.off:], nil
}

// sealedBy counts the records in sent (what crypto/tls wrote) sealed with
// t's first outgoing key: its session tickets, sent after its Finished.
// The handshake's own records, under other keys, do not open. It is the
// sequence number t's next record must have.
func sealedBy(t *tlsRecords, sent []byte) uint64 {
	var seq uint64
	for len(sent) >= recordHeaderLen {
		n := recordHeaderLen + int(binary.BigEndian.Uint16(sent[3:5]))
		if n > len(sent) {
			break
		}
		rec := sent[:n]
		sent = sent[n:]
		if rec[0] != recordTypeAppData || n < recordHeaderLen+tagLen {
			continue
		}
		t.out.seq = seq
		nonce := t.out.nonce()
		body := rec[recordHeaderLen:]
		if _, err := t.cipher(&t.out).Open(nil, nonce, body, rec[:recordHeaderLen]); err == nil {
			seq++
		}
	}
	return seq
}

// dupConn is a net.Conn over a duplicate of fd, in Go's network poller.
func dupConn(fd int) (net.Conn, error) {
	d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("fcntl dup", err)
	}
	f := os.NewFile(uintptr(d), "wss")
	defer f.Close()
	return net.FileConn(f) // a duplicate of d, non-blocking
}

// hsConn is the connection crypto/tls handshakes over: it hands over one
// record at most per Read, so that crypto/tls never reads past the
// client's Finished into the records the reactor will read, keeps what it
// writes (for sealedBy), and registers the handshake's ClientHello random
// so that the key log finds it.
type hsConn struct {
	net.Conn
	rt      *reactorTLS
	buf     []byte
	off     int
	rem     int // bytes of the current record not yet handed over
	sent    []byte
	secrets *hsSecrets
	random  [32]byte
}

// ClientHello random: record header, handshake type and length, version.
const randomOff = recordHeaderLen + 4 + 2

func (h *hsConn) Read(p []byte) (int, error) {
	if h.rem == 0 {
		if err := h.fill(recordHeaderLen); err != nil {
			return 0, err
		}
		b := h.buf[h.off:]
		h.rem = recordHeaderLen + int(binary.BigEndian.Uint16(b[3:5]))
		if h.secrets == nil && h.rem >= randomOff+len(h.random) {
			// The first record of a ClientHello: its random names the
			// handshake in the key log. A record too short to hold it goes
			// to crypto/tls as it is, which fails it with an alert.
			if err := h.notTLS(); err != nil {
				return 0, err
			}
			if err := h.fill(randomOff + len(h.random)); err != nil {
				return 0, err
			}
			copy(h.random[:], h.buf[h.off+randomOff:])
			h.secrets = &hsSecrets{}
			if _, loaded := h.rt.secrets.LoadOrStore(h.random, h.secrets); loaded {
				return 0, errors.New("wsconn/server: TLS: a ClientHello random already in use")
			}
		}
	}
	if err := h.fill(1); err != nil {
		return 0, err
	}
	n := copy(p[:min(len(p), h.rem)], h.buf[h.off:])
	h.off += n
	h.rem -= n
	return n, nil
}

// errNotTLS ends a connection whose first bytes are not a TLS handshake
// record.
var errNotTLS = errors.New("wsconn/server: not a TLS handshake on a TLS port")

// notTLS checks the first record's header (buffered): a request in plain
// HTTP is answered 400 as the goroutine design answers it (plainHTTPAnswer),
// once, and the caller closes the connection.
func (h *hsConn) notTLS() error {
	var hdr [recordHeaderLen]byte
	copy(hdr[:], h.buf[h.off:])
	if hdr[0] == recordTypeHS {
		return nil
	}
	if looksLikeHTTP(hdr) {
		_ = h.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = h.Conn.Write(plainHTTPAnswer)
	}
	return errNotTLS
}

// fill reads until at least n bytes are buffered.
func (h *hsConn) fill(n int) error {
	for len(h.buf)-h.off < n {
		if h.off > 0 {
			h.buf = h.buf[:copy(h.buf, h.buf[h.off:])]
			h.off = 0
		}
		if len(h.buf) == cap(h.buf) {
			h.buf = append(h.buf, make([]byte, max(1024, cap(h.buf)))...)[:len(h.buf)]
		}
		k, err := h.Conn.Read(h.buf[len(h.buf):cap(h.buf)])
		h.buf = h.buf[:len(h.buf)+k]
		if err != nil && len(h.buf)-h.off < n {
			if err == io.EOF && len(h.buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

func (h *hsConn) Write(p []byte) (int, error) {
	h.sent = append(h.sent, p...)
	return h.Conn.Write(p)
}

// forget removes the handshake from the key log's table.
func (h *hsConn) forget() {
	if h.secrets != nil {
		h.rt.secrets.Delete(h.random)
	}
}
