package load

import (
	"context"
	"testing"

	"github.com/rtlab/rtlab/wsconn/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestReconnectValidate(t *testing.T) {
	_, err := Reconnect(context.Background(), ReconnectConfig{})
	require.ErrorContains(t, err, "wsconn/load: ReconnectConfig.Server is zero")
	_, err = Reconnect(context.Background(), ReconnectConfig{Server: goroutineChild, Conns: -1})
	require.ErrorContains(t, err, "wsconn/load: ReconnectConfig.Conns -1 must be > 0")
	_, err = Reconnect(context.Background(), ReconnectConfig{Server: goroutineChild, Conns: 1, Load: Config{TLS: &TLSConfig{Resume: true}}})
	require.ErrorContains(t, err, "ReconnectConfig.Load.TLS is set but server")
}

// TestReconnect storms each design over ws:// and wss://, with and without
// session resumption: every client comes back, and over wss with Resume
// every redial resumes (the first dials left a ticket each), without it
// none does.
func TestReconnect(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	const conns = 60
	for _, srv := range []ServerChild{designChildren[server.DesignGoroutine], designChildren[server.DesignReactor]} {
		for _, mode := range []string{"ws", "wss", "wss-resume"} {
			t.Run(srv.Name()+"/"+mode, func(t *testing.T) {
				cfg := ReconnectConfig{Server: srv, Conns: conns, Load: Config{ConnsPerProc: conns / 2}}
				if mode != "ws" {
					cfg.Server = srv.WithTLS()
				}
				if mode == "wss-resume" {
					cfg.Load.TLS = &TLSConfig{Resume: true}
				}
				r, err := Reconnect(context.Background(), cfg)
				require.NoError(t, err)
				t.Log(r)
				assert.Equal(t, conns, r.Conns)
				assert.EqualValues(t, conns, r.Connect.Count())
				want := 0
				if mode == "wss-resume" {
					want = conns
				}
				assert.Equal(t, want, r.Resumed)
				assert.Positive(t, r.PerSec())
			})
		}
	}
}
