package wsconn

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/wstest"
)

// fuzzMax is the frame and message limit of FuzzFrameRead: small, so that
// the fuzzer reaches the 1009 paths with short inputs.
const fuzzMax = 4096

// FuzzFrameRead feeds arbitrary bytes to MessageReader as a client's stream.
// Every call must end in a valid message, a clean end of input, or a
// *CloseError after a matching close frame was written; the message buffer
// never grows past the limit; every frame written back is a valid server
// frame.
func FuzzFrameRead(f *testing.F) {
	for _, seed := range [][]byte{
		wstest.ClientFrame(ws.OpText, true, []byte("hello")),
		bytes.Join([][]byte{
			wstest.ClientFrame(ws.OpText, false, []byte("h\xc3")),
			wstest.ClientFrame(ws.OpPing, true, []byte("p")),
			wstest.ClientFrame(ws.OpContinuation, true, []byte("\xa9llo")),
		}, nil),
		wstest.ClientFrame(ws.OpClose, true, ws.NewCloseFrameBody(1000, "bye")),
		wstest.RawFrame(ws.Header{Fin: true, OpCode: ws.OpBinary}, []byte("unmasked")),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newConn(data)
		m := MessageReader{Limits: Limits{MaxFrame: fuzzMax, MaxMessage: fuzzMax}}
		var (
			buf  []byte
			msgs [][]byte
			end  error
		)
		for {
			op, msg, err := m.ReadMessage(c, buf)
			if cap(msg) > fuzzMax {
				t.Fatalf("buffer grew to %d, limit %d", cap(msg), fuzzMax)
			}
			if err != nil {
				checkFuzzEnd(t, err, c.out.Bytes())
				end = err
				break
			}
			switch {
			case op != ws.OpText && op != ws.OpBinary:
				t.Fatalf("message with opcode %v", op)
			case op == ws.OpText && !utf8.Valid(msg):
				t.Fatalf("invalid UTF-8 text accepted: %q", msg)
			}
			msgs = append(msgs, append([]byte{byte(op)}, msg...))
			buf = msg
		}
		// The buffered paths must read the same messages, write the same
		// answers and end the same way: through the smallest buffer (most
		// frames straddle its end) fed one byte per Read, and through a
		// 4 KiB one fed everything at once; through a bufio.Reader
		// (ServeBuffered) and a FrameReader (ServeFrom, ReadMessageFrom).
		for _, bc := range []struct {
			size int
			src  func(io.Reader) io.Reader
		}{
			{16, iotest.OneByteReader},
			{4096, func(r io.Reader) io.Reader { return r }},
		} {
			for _, how := range []string{"ServeBuffered", "ServeFrom", "ReadMessageFrom"} {
				bcon := newConn(data)
				in := bc.src(bcon.in)
				br, fr := bufio.NewReaderSize(in, bc.size), NewFrameReader(in, bc.size)
				var got [][]byte
				h := HandlerFunc(func(_ io.Writer, op ws.OpCode, msg []byte) error {
					got = append(got, append([]byte{byte(op)}, msg...))
					return nil
				})
				var err error
				for buf = nil; err == nil; {
					switch how {
					case "ServeBuffered":
						buf, err = m.ServeBuffered(br, &bcon.out, h, buf)
					case "ServeFrom":
						buf, err = m.ServeFrom(fr, &bcon.out, h, buf)
					default:
						var op ws.OpCode
						if op, buf, err = m.ReadMessageFrom(fr, &bcon.out, buf); err == nil {
							err = h.HandleMessage(&bcon.out, op, buf)
						}
					}
					if cap(buf) > fuzzMax {
						t.Fatalf("%s: buffer grew to %d, limit %d", how, cap(buf), fuzzMax)
					}
				}
				if !slices.EqualFunc(msgs, got, bytes.Equal) {
					t.Fatalf("%s, buffer of %d: messages %q, ReadMessage read %q", how, bc.size, got, msgs)
				}
				if !bytes.Equal(c.out.Bytes(), bcon.out.Bytes()) {
					t.Fatalf("%s, buffer of %d: wrote %q, ReadMessage wrote %q", how, bc.size, bcon.out.Bytes(), c.out.Bytes())
				}
				if !sameEnd(end, err) {
					t.Fatalf("%s, buffer of %d: ended with %v, ReadMessage with %v", how, bc.size, err, end)
				}
			}
		}
	})
}

// sameEnd reports whether two errors that ended a stream are the same:
// equal close errors, or the same I/O error.
func sameEnd(a, b error) bool {
	ca, ok := a.(*CloseError)
	if cb, ok2 := b.(*CloseError); ok || ok2 {
		return ok && ok2 && *ca == *cb
	}
	return a == b
}

// checkFuzzEnd checks how a fuzzed stream ended and what was written back.
func checkFuzzEnd(t *testing.T, err error, out []byte) {
	var last ws.Header
	var lastPayload []byte
	r := bytes.NewReader(out)
	for r.Len() > 0 {
		h, herr := ws.ReadHeader(r)
		if herr != nil {
			t.Fatalf("server wrote a bad header: %v", herr)
		}
		if h.Masked || h.Rsv != 0 || !h.Fin || (h.OpCode != ws.OpPong && h.OpCode != ws.OpClose) || h.Length > ws.MaxControlFramePayloadSize {
			t.Fatalf("server wrote a frame it must not: %+v", h)
		}
		lastPayload = make([]byte, h.Length)
		if _, rerr := io.ReadFull(r, lastPayload); rerr != nil {
			t.Fatalf("server frame cut short: %v", rerr)
		}
		last = h
	}
	ce, ok := err.(*CloseError)
	if !ok {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("error %v, want a *CloseError or the end of input", err)
		}
		return
	}
	if last.OpCode != ws.OpClose {
		t.Fatalf("%v returned but no close frame written", err)
	}
	if !ce.Remote {
		switch ce.Code {
		case ws.StatusProtocolError, ws.StatusInvalidFramePayloadData, ws.StatusMessageTooBig:
		default:
			t.Fatalf("failed the connection with code %d", ce.Code)
		}
	}
	code, reason := ws.ParseCloseFrameData(lastPayload)
	switch {
	case ce.Code == ws.StatusNoStatusRcvd && len(lastPayload) != 0:
		t.Fatalf("answered a close without code with %q", lastPayload)
	case ce.Code != ws.StatusNoStatusRcvd && code != ce.Code:
		t.Fatalf("close frame says %d, error says %d", code, ce.Code)
	case !utf8.ValidString(reason):
		t.Fatalf("close reason not UTF-8: %q", reason)
	}
}

// memConn is a net.Conn for FuzzHandshake: it reads the request and then
// behaves like a client that sends nothing more: a read past the request
// fails with a timeout if a deadline is set, and fails the test if not
// (without a deadline a real server would hang there).
type memConn struct {
	t        *testing.T
	in       *bytes.Reader
	out      bytes.Buffer
	deadline bool
}

func (c *memConn) Read(p []byte) (int, error) {
	if c.in.Len() > 0 {
		return c.in.Read(p)
	}
	if !c.deadline {
		c.t.Fatal("read past the request with no deadline set: a real server would hang here")
	}
	return 0, os.ErrDeadlineExceeded
}
func (c *memConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *memConn) Close() error                { return nil }
func (c *memConn) LocalAddr() net.Addr         { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr        { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(t time.Time) error {
	c.deadline = !t.IsZero()
	return nil
}
func (c *memConn) SetReadDeadline(t time.Time) error {
	c.deadline = !t.IsZero()
	return nil
}
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }

const fuzzGoodRequest = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// FuzzHandshake feeds arbitrary bytes to Handshake as an upgrade request:
// the answer is a valid 101 upgrade or a 400-class status (or 505 for a
// request that is not HTTP/1.1 or later), the deadline is
// set before the first read (so a real client that stalls is cut at the
// handshake timeout) and cleared after a success.
func FuzzHandshake(f *testing.F) {
	for _, seed := range []string{
		fuzzGoodRequest,
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
		"POST / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgr",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		c := &memConn{t: t, in: bytes.NewReader(req)}
		_, err := Handshake(c, time.Second, 2048)
		if c.deadline && err == nil {
			t.Fatal("deadline left set after a successful handshake")
		}
		resp, rerr := http.ReadResponse(bufio.NewReader(&c.out), nil)
		if rerr != nil {
			t.Fatalf("answer %q is not an HTTP response: %v (handshake error %v)", c.out.Bytes(), rerr, err)
		}
		if err != nil {
			// 505 HTTP Version Not Supported is the one answer outside
			// 400-499: ws.Upgrader gives it to a request line that is not
			// HTTP/1.1 or later, where it is the precise status.
			if resp.StatusCode == http.StatusHTTPVersionNotSupported && errors.Is(err, ws.ErrHandshakeBadProtocol) {
				return
			}
			if resp.StatusCode < 400 || resp.StatusCode > 499 {
				t.Fatalf("handshake error %v answered with %d", err, resp.StatusCode)
			}
			return
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("successful handshake answered with %d", resp.StatusCode)
		}
		accept := resp.Header.Get("Sec-Websocket-Accept")
		if hreq, perr := http.ReadRequest(bufio.NewReader(bytes.NewReader(req))); perr == nil {
			if keys := hreq.Header.Values("Sec-Websocket-Key"); len(keys) == 1 && accept != acceptKey(keys[0]) {
				t.Fatalf("Sec-WebSocket-Accept %q for key %q", accept, keys[0])
			}
		}
		if len(accept) != 28 || !bytes.EqualFold([]byte(resp.Header.Get("Upgrade")), []byte("websocket")) {
			t.Fatalf("upgrade answer without accept key or Upgrade header: %v", resp.Header)
		}
	})
}

// acceptKey is RFC 6455's Sec-WebSocket-Accept for key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}
