package client

import (
	"crypto/tls"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/testcert"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/server"
	"github.com/stretchr/testify/require"
)

// dropHandler echoes every message but "drop", which ends the connection
// without a close frame (a handler error).
type dropHandler struct{}

func (dropHandler) HandleMessage(w io.Writer, op ws.OpCode, p []byte) error {
	if string(p) == "drop" {
		return errors.New("dropped on request")
	}
	return wsconn.EchoHandler{}.HandleMessage(w, op, p)
}

// TestClientWSS: over wss://, the client opens, echoes, and when the server
// drops it, reconnects and resumes its TLS session from the session cache
// of its TLSConfig (the second handshake resumes, the first does not).
func TestClientWSS(t *testing.T) {
	noLeaks(t)
	_, err := New("ws://x/", Options{TLSConfig: &tls.Config{}})
	require.ErrorContains(t, err, "is ws:// but Options.TLSConfig is set")
	for _, d := range server.Designs() {
		t.Run("design="+string(d), func(t *testing.T) {
			a, err := testcert.New()
			require.NoError(t, err)
			o := server.Options{TLSConfig: a.ServerConfig()}
			probe, err := server.New(d, dropHandler{}, o)
			require.NoError(t, err)
			wstest.SkipReactorTLS(t, wstest.ServeClosed(probe), server.ErrReactorTLS)
			s, err := server.New(d, dropHandler{}, o)
			require.NoError(t, err)
			addr := wstest.Start(t, s, server.ErrServerClosed)

			var mu sync.Mutex
			var resumed []bool
			cfg := a.ClientConfig()
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(0)
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				mu.Lock()
				resumed = append(resumed, cs.DidResume)
				mu.Unlock()
				return nil
			}
			got := make(chan string, 2)
			c, rec := newTestClient(t, "wss://"+addr+"/", Options{
				TLSConfig: cfg, OnMessage: func(_ ws.OpCode, p []byte) { got <- string(p) },
			})
			c.Start()
			rec.expect(t, StateConnecting, StateOpen)
			require.NoError(t, c.Send(ws.OpText, []byte("hello")))
			require.Equal(t, "hello", <-got)
			require.NoError(t, c.Send(ws.OpText, []byte("drop")))
			rec.expect(t, StateBackoff, StateConnecting, StateOpen)
			require.NoError(t, c.Send(ws.OpText, []byte("again")))
			require.Equal(t, "again", <-got)
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, []bool{false, true}, resumed, "full handshake, then a resumed one")
		})
	}
}
