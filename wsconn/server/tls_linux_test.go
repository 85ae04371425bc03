//go:build linux

package server

import (
	"bytes"
	"crypto/tls"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/stretchr/testify/require"
)

// dialWSS is a gorilla/websocket client over TLS.
func dialWSS(t testing.TB, addr string, cli *tls.Config) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: cli, WriteBufferSize: 2 << 20}
	c, _, err := d.Dial("wss://"+addr+"/", nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestReactorTLSEcho exchanges messages of 0 B to 1 MiB (records split
// and joined every way) over wss with the reactor, twice: the second
// connection resumes the first one's session, and both read the records
// after the server's session tickets (the sequence numbers the reactor
// takes over from crypto/tls).
func TestReactorTLSEcho(t *testing.T) {
	s, addr, cli := startWSS(t, DesignReactor, wsconn.EchoHandler{}, Options{})
	cli.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	rng := mrand.New(mrand.NewPCG(1, 2))
	var want uint64
	for i := range 2 {
		c := dialWSS(t, addr, cli)
		for _, text := range []bool{false, true} {
			for _, n := range interopSizes {
				msg := interopPayload(rng, text, n)
				typ := websocket.BinaryMessage
				if text {
					typ = websocket.TextMessage
				}
				require.NoError(t, c.NetConn().SetDeadline(time.Now().Add(10*time.Second)))
				require.NoError(t, c.WriteMessage(typ, msg))
				gotTyp, got, err := c.ReadMessage()
				require.NoError(t, err, "conn %d text=%t size=%d", i, text, n)
				require.Equal(t, typ, gotTyp)
				require.True(t, bytes.Equal(msg, got), "conn %d text=%t size=%d: echo differs", i, text, n)
				want++
			}
		}
		state, ok := c.NetConn().(*tls.Conn)
		require.True(t, ok)
		require.Equal(t, i == 1, state.ConnectionState().DidResume, "conn %d resumed", i)
		require.NoError(t, c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second)))
		_, _, err := c.ReadMessage()
		require.True(t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "close: %v", err)
	}
	wstest.WaitFor(t, 5*time.Second, "all closed", func() bool { return s.Stats().Open == 0 })
	st := s.Stats()
	require.Equal(t, want, st.MessagesIn)
	require.Empty(t, st.ProtocolErrors)
}

// TestReactorTLSIdleHoldsNoBuffer: a wss connection that has echoed and
// gone idle holds no record buffer, no input buffer and no cipher state
// built from its keys; only the record layer's keys and counters.
func TestReactorTLSIdleHoldsNoBuffer(t *testing.T) {
	s, addr, cli := startWSS(t, DesignReactor, wsconn.EchoHandler{}, Options{})
	const conns = 8
	for range conns {
		c := dialWSS(t, addr, cli)
		require.NoError(t, c.NetConn().SetDeadline(time.Now().Add(10*time.Second)))
		msg := bytes.Repeat([]byte("x"), 40000) // three records each way
		require.NoError(t, c.WriteMessage(websocket.BinaryMessage, msg))
		_, got, err := c.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, msg, got)
	}
	s.mu.Lock()
	cs := s.appendConns(nil)
	s.mu.Unlock()
	require.Len(t, cs, conns)
	for _, c := range cs {
		wstest.WaitFor(t, 5*time.Second, "connection idle", func() bool { return s.r.tryClaim(c) })
		held := fmt.Sprintf("tls=%t record buffer=%t in=%t wq=%d ciphers=%t,%t",
			c.tls != nil, c.tls != nil && c.tls.buf != nil, c.in != nil, len(c.wq),
			c.tls != nil && c.tls.in.aead != nil, c.tls != nil && c.tls.out.aead != nil)
		require.Equal(t, "tls=true record buffer=false in=false wq=0 ciphers=false,false", held)
		require.NotZero(t, c.tls.in.seq, "records read")
		s.r.release(c, false)
	}
}

// TestTLSRecordsKeyUpdate runs two record layers against each other,
// through a KeyUpdate each way, and checks that a record that does not
// open, or comes in the clear, fails.
func TestTLSRecordsKeyUpdate(t *testing.T) {
	for _, suite := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256} {
		t.Run(tls.CipherSuiteName(suite), func(t *testing.T) {
			h, _, err := suiteParams(suite)
			require.NoError(t, err)
			a, b := bytes.Repeat([]byte{1}, h().Size()), bytes.Repeat([]byte{2}, h().Size())
			srv, err := newTLSRecords(suite, a, b)
			require.NoError(t, err)
			peer, err := newTLSRecords(suite, b, a)
			require.NoError(t, err)
			var wire []byte
			from := func(p []byte) (int, error) {
				if len(wire) == 0 {
					return 0, errWouldBlock
				}
				n := copy(p, wire)
				wire = wire[n:]
				return n, nil
			}
			readAll := func(r *tlsRecords) string {
				var got []byte
				buf := make([]byte, 7) // smaller than a record: plaintext waits in r
				for {
					n, err := r.read(buf, from)
					got = append(got, buf[:n]...)
					if err == errWouldBlock {
						return string(got)
					}
					require.NoError(t, err)
				}
			}
			// The peer asks for a KeyUpdate, then sends data under its new key.
			wire = peer.seal(wire, recordTypeHS, []byte{hsTypeKeyUpdate, 0, 0, 1, 1}, nil)
			peer.update(&peer.out)
			wire = peer.sealAll(wire, recordTypeAppData, []byte("after "), []byte("the update"))
			require.Equal(t, "after the update", readAll(srv))
			require.True(t, srv.sendKeyUpdate)
			// The server's answer leads its next records.
			wire = srv.sealAll(wire, recordTypeAppData, bytes.Repeat([]byte("y"), maxPlaintext+10), nil)
			require.Equal(t, strings.Repeat("y", maxPlaintext+10), readAll(peer))
			require.EqualValues(t, 2, peer.in.seq, "two records under the key after the KeyUpdate")
			// Flipped bit, then a record in the clear.
			wire = peer.sealAll(wire, recordTypeAppData, []byte("z"), nil)
			wire[len(wire)-1] ^= 1
			_, err = srv.read(make([]byte, 8), from)
			require.ErrorIs(t, err, errTLSRecord)
			srv.release()
			wire = []byte{recordTypeAlert, 3, 3, 0, 2, 2, 40}
			_, err = srv.read(make([]byte, 8), from)
			require.ErrorIs(t, err, errTLSRecord)
		})
	}
}

// TestKernelTLS asks the kernel for kTLS; either answer is a finding, and
// the test only checks that the answer is one of the two.
func TestKernelTLS(t *testing.T) {
	err := KernelTLS()
	if err != nil {
		require.ErrorContains(t, err, `setsockopt TCP_ULP "tls"`)
		t.Logf("kTLS unsupported here: %v", err)
		return
	}
	t.Log("kTLS supported here")
}

// BenchmarkTLSRecords prices the record layer's choice to hold keys, not
// ciphers, while a connection is idle: build is the AEAD made from the keys
// at each wake-up (what an idle wss connection saves in memory is paid
// here, once per event), seal and open one 64-byte record with it.
func BenchmarkTLSRecords(b *testing.B) {
	for _, suite := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_CHACHA20_POLY1305_SHA256} {
		h, _, err := suiteParams(suite)
		require.NoError(b, err)
		secret := bytes.Repeat([]byte{7}, h().Size())
		t, err := newTLSRecords(suite, secret, secret)
		require.NoError(b, err)
		name := strings.ToLower(strings.TrimPrefix(tls.CipherSuiteName(suite), "TLS_"))
		b.Run("suite="+name+"/op=build", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t.out.aead = nil
				t.cipher(&t.out)
			}
		})
		b.Run("suite="+name+"/op=seal-open-64B", func(b *testing.B) {
			b.ReportAllocs()
			msg := make([]byte, 64)
			buf := make([]byte, 0, 256)
			for b.Loop() {
				rec := t.seal(buf[:0], recordTypeAppData, msg, nil)
				t.in.seq = t.out.seq - 1
				nonce := t.in.nonce()
				body := rec[recordHeaderLen:]
				if _, err := t.cipher(&t.in).Open(body[:0], nonce, body, rec[:recordHeaderLen]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
