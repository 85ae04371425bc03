package server

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/stretchr/testify/require"
)

// interopSizes are the message sizes exchanged with foreign clients: the
// edges of the 7-bit, 16-bit and 64-bit length encodings, and 1 MiB.
var interopSizes = []int{0, 1, 125, 126, 127, 4095, 65535, 65536, 65537, 1 << 20}

// interopPayload returns a message of about n bytes: random bytes for
// binary, for text a mix of 1- to 4-byte UTF-8 sequences cut at a rune
// boundary (so fragments split runes between frames).
func interopPayload(rng *rand.Rand, text bool, n int) []byte {
	if !text {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	runes := []rune{'a', 'Z', ' ', 'é', 'ж', '€', '中', '😀', '𝄞'}
	b := make([]byte, 0, n+4)
	for len(b) < n {
		b = utf8.AppendRune(b, runes[rng.IntN(len(runes))])
	}
	for len(b) > n {
		_, size := utf8.DecodeLastRune(b)
		b = b[:len(b)-size]
	}
	return b
}

// interopClient sends one message and returns the echo.
type interopClient interface {
	roundTrip(text bool, msg []byte) (gotText bool, got []byte, err error)
	close() error
}

type gorillaClient struct{ c *websocket.Conn }

func dialGorilla(addr string, fragmented bool) (interopClient, error) {
	// gorilla's client writer sends a frame each time its write buffer
	// fills: a buffer bigger than any message keeps each one whole, a
	// small one fragments it into ~1000-byte frames.
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, WriteBufferSize: 2 << 20}
	if fragmented {
		d.WriteBufferSize = 1000
	}
	c, _, err := d.Dial("ws://"+addr+"/", nil)
	if err != nil {
		return nil, err
	}
	return gorillaClient{c}, nil
}

func (g gorillaClient) roundTrip(text bool, msg []byte) (bool, []byte, error) {
	typ := websocket.BinaryMessage
	if text {
		typ = websocket.TextMessage
	}
	_ = g.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := g.c.WriteMessage(typ, msg); err != nil {
		return false, nil, err
	}
	_ = g.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, got, err := g.c.ReadMessage()
	return typ == websocket.TextMessage, got, err
}

func (g gorillaClient) close() error {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := g.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(5*time.Second)); err != nil {
		return err
	}
	_ = g.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := g.c.ReadMessage()
	g.c.Close()
	if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		return nil
	}
	return fmt.Errorf("gorilla: close: %w", err)
}

type coderClient struct {
	c          *coder.Conn
	fragmented bool
}

func dialCoder(addr string, fragmented bool) (interopClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := coder.Dial(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(4 << 20)
	return coderClient{c, fragmented}, nil
}

func (k coderClient) roundTrip(text bool, msg []byte) (bool, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ := coder.MessageBinary
	if text {
		typ = coder.MessageText
	}
	if k.fragmented {
		// coder's Writer sends one frame per Write: chunks of 777 bytes.
		w, err := k.c.Writer(ctx, typ)
		if err != nil {
			return false, nil, err
		}
		for p := msg; len(p) > 0; p = p[min(len(p), 777):] {
			if _, err := w.Write(p[:min(len(p), 777)]); err != nil {
				return false, nil, err
			}
		}
		if err := w.Close(); err != nil {
			return false, nil, err
		}
	} else if err := k.c.Write(ctx, typ, msg); err != nil {
		return false, nil, err
	}
	typ, got, err := k.c.Read(ctx)
	return typ == coder.MessageText, got, err
}

func (k coderClient) close() error { return k.c.Close(coder.StatusNormalClosure, "") }

// TestServerInteropClients connects gorilla/websocket and coder/websocket
// clients to both servers and exchanges messages of 0 B to 1 MiB, text and
// binary, whole and fragmented, checking every byte of every echo.
func TestServerInteropClients(t *testing.T) {
	clients := []struct {
		name string
		dial func(addr string, fragmented bool) (interopClient, error)
	}{
		{"gorilla", dialGorilla},
		{"coder", dialCoder},
	}
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			s, addr := startServer(t, d, wsconn.EchoHandler{}, Options{})
			var want, conns uint64
			for _, cl := range clients {
				for _, fragmented := range []bool{false, true} {
					t.Run(fmt.Sprintf("client=%s/fragmented=%t", cl.name, fragmented), func(t *testing.T) {
						c, err := cl.dial(addr, fragmented)
						require.NoError(t, err)
						rng := rand.New(rand.NewPCG(1, uint64(len(cl.name))))
						for _, text := range []bool{false, true} {
							for _, n := range interopSizes {
								msg := interopPayload(rng, text, n)
								gotText, got, err := c.roundTrip(text, msg)
								require.NoError(t, err, "text=%t size=%d", text, n)
								require.Equal(t, text, gotText, "text=%t size=%d", text, n)
								require.True(t, bytes.Equal(msg, got), "text=%t size=%d: echo differs", text, n)
								want++
							}
						}
						require.NoError(t, c.close())
						conns++
					})
				}
			}
			wstest.WaitFor(t, 5*time.Second, "all closed", func() bool { return s.Stats().Open == 0 })
			st := s.Stats()
			require.Equal(t, want, st.MessagesIn)
			require.Empty(t, st.ProtocolErrors)
			require.Equal(t, conns, st.PeerCloses[1000])
		})
	}
}
