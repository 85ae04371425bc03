package wstest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/procmem"
)

// ClientFrame encodes a client frame: masked (with a fixed mask), of type
// op, final or not.
func ClientFrame(op ws.OpCode, fin bool, payload []byte) []byte {
	f := ws.NewFrame(op, fin, append([]byte(nil), payload...))
	f = ws.MaskFrameWith(f, [4]byte{0x37, 0xfa, 0x21, 0x3d})
	return ws.MustCompileFrame(f)
}

// RawFrame encodes a frame with header h as given (masked with h.Mask if
// h.Masked, else not); its Length is set from payload.
func RawFrame(h ws.Header, payload []byte) []byte {
	p := append([]byte(nil), payload...)
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	h.Length = int64(len(p))
	var b bytes.Buffer
	if err := ws.WriteHeader(&b, h); err != nil {
		panic(err)
	}
	b.Write(p)
	return b.Bytes()
}

// ReadFrame reads one frame, unmasking it if it is masked.
func ReadFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(r, p)
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	return ws.Frame{Header: h, Payload: p}, err
}

// ReadFrameWithin reads one frame from a peer's connection within d.
func ReadFrameWithin(nc net.Conn, br *bufio.Reader, d time.Duration) (ws.Frame, error) {
	_ = nc.SetReadDeadline(time.Now().Add(d))
	defer nc.SetReadDeadline(time.Time{})
	return ReadFrame(br)
}

// ServerFrames decodes every frame in b, which a server wrote: none may
// be masked.
func ServerFrames(t testing.TB, b []byte) []ws.Frame {
	t.Helper()
	var fs []ws.Frame
	r := bytes.NewReader(b)
	for r.Len() > 0 {
		f, err := ReadFrame(r)
		if err != nil {
			t.Fatalf("server frame %d: %v", len(fs), err)
		}
		if f.Header.Masked {
			t.Fatalf("server frame %d is masked: server frames never are", len(fs))
		}
		fs = append(fs, f)
	}
	return fs
}

// Dial opens a WebSocket client connection to addr with gobwas, for tests
// that write frames by hand; it is closed when the test ends.
func Dial(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	return DialTLS(t, addr, nil)
}

// DialTLS is Dial over TLS (wss://) with the client configuration cfg, or
// Dial (ws://) if cfg is nil.
func DialTLS(t testing.TB, addr string, cfg *tls.Config) (net.Conn, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws://" + addr + "/"
	if cfg != nil {
		u = "wss://" + addr + "/"
	}
	nc, br, _, err := ws.Dialer{TLSConfig: cfg}.Dial(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if br == nil {
		br = bufio.NewReader(nc)
	}
	return nc, br
}

// FitConns returns want, or as many loopback connections as fit under
// this process's open-files limit when fewer do (procmem.FitFDs: two
// descriptors each, both ends being in this process, beside those open
// now), saying so in t's log; it skips t, saying why, when none fit.
func FitConns(t testing.TB, want int) int {
	t.Helper()
	n, why := procmem.FitFDs(want, 2, procmem.OpenFDs(), "loopback connections")
	if n == 0 {
		t.Skip(why)
	}
	if why != "" {
		t.Log(why)
	}
	return n
}

// WaitFor polls cond until it holds, or fails the test after d. (Not
// require.Eventually: its condition runs on goroutines of its own, which
// tests that count goroutines would see.)
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
