package wsconn

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/gobwas/ws"
)

// DefaultMaxHandshakeBytes bounds the request Handshake reads when its
// maxBytes is 0: the size net/http's DefaultMaxHeaderBytes gives a whole
// header block, which real browsers' upgrade requests stay far below.
const DefaultMaxHandshakeBytes = 1 << 20

// errHandshakeTooBig ends a request that goes past maxBytes.
var errHandshakeTooBig = errors.New("wsconn: handshake request larger than the limit")

// Handshake performs the server side of the opening handshake on c with
// ws.Upgrader, within timeout (a deadline on c, cleared on success) and
// reading at most maxBytes of request (0: DefaultMaxHandshakeBytes).
//
// Every request gets an answer: 101 Switching Protocols, or the 400-class
// answer ws.Upgrader writes for a bad request (400, 426 with the supported
// version; 505 for a request line that is not HTTP/1.1 or later), or one
// written here where ws.Upgrader returns without a word:
// 408 when the client did not finish in time, 431 when the request is too
// large, 400 for bytes that are not an HTTP request. On error the caller
// closes c. The client must wait for the 101 before sending frames: bytes
// sent along with the request are read ahead into the upgrader's buffer
// and lost.
func Handshake(c net.Conn, timeout time.Duration, maxBytes int64) (ws.Handshake, error) {
	if timeout <= 0 {
		return ws.Handshake{}, fmt.Errorf("wsconn: handshake timeout %v must be > 0", timeout)
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxHandshakeBytes
	}
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return ws.Handshake{}, err
	}
	hc := &handshakeConn{r: c, w: c, left: maxBytes}
	hs, err := ws.Upgrade(hc)
	if err != nil {
		if hc.written == 0 {
			writeHTTPError(c, err)
		}
		return hs, err
	}
	return hs, c.SetDeadline(time.Time{})
}

// writeHTTPError answers a request ws.Upgrader gave up on without answering.
func writeHTTPError(c net.Conn, err error) {
	status := "400 Bad Request"
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		status = "408 Request Timeout"
	case errors.Is(err, errHandshakeTooBig):
		status = "431 Request Header Fields Too Large"
	}
	// The read deadline may have passed; the answer gets a short one of its own.
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = io.WriteString(c, "HTTP/1.1 "+status+"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
}

// handshakeConn bounds the bytes read and counts the bytes written.
type handshakeConn struct {
	r       io.Reader
	w       io.Writer
	left    int64
	written int
}

func (h *handshakeConn) Read(p []byte) (int, error) {
	if h.left <= 0 {
		return 0, errHandshakeTooBig
	}
	if int64(len(p)) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	h.left -= int64(n)
	return n, err
}

func (h *handshakeConn) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.written += n
	return n, err
}
