package load

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rtlab/rtlab/internal/testcert"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestLoadTLSValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"ws-url", Config{Addr: "ws://127.0.0.1:1/", Conns: 1, TLS: &TLSConfig{}}, `Config.Addr "ws://127.0.0.1:1/" is ws:// but Config.TLS is set`},
		{"bad-ca", Config{Addr: "127.0.0.1:1", Conns: 1, TLS: &TLSConfig{CAPEM: "not PEM"}}, "Config.TLS.CAPEM: testcert: the CA PEM holds no certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.cfg)
			require.ErrorContains(t, err, "wsconn/load: "+tc.want)
			_, err = OpenChild(context.Background(), tc.cfg)
			require.ErrorContains(t, err, "wsconn/load: "+tc.want)
		})
	}
	require.Equal(t, "wss://127.0.0.1:1/", Config{Addr: "127.0.0.1:1", TLS: &TLSConfig{}}.url())
}

// TestLoadTLS runs a load over wss:// against the goroutine design in this
// process, with session resumption off (every dial a full handshake) and
// on (one dial at a time: every dial after the first resumes); a client
// that trusts another authority fails every dial as a handshake error.
func TestLoadTLS(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	a, err := testcert.New()
	require.NoError(t, err)
	s, err := server.New(server.DesignGoroutine, wsconn.EchoHandler{}, server.Options{TLSConfig: a.ServerConfig()})
	require.NoError(t, err)
	addr := wstest.Start(t, s, server.ErrServerClosed)
	const conns = 6
	for _, resume := range []bool{false, true} {
		cfg := Config{Addr: addr, Conns: conns, Dialers: 1, Messages: 3, MsgSize: 5000, TLS: &TLSConfig{CAPEM: string(a.CAPEM()), Resume: resume}}
		// A load in child processes gets its Config as JSON: the TLS part
		// must survive it, and hold no key.
		j, err := json.Marshal(cfg)
		require.NoError(t, err)
		assert.NotContains(t, string(j), "PRIVATE")
		var back Config
		require.NoError(t, json.Unmarshal(j, &back))
		require.Equal(t, cfg, back)

		res, err := Run(context.Background(), back)
		require.NoError(t, err)
		require.NoError(t, res.Err())
		assert.Equal(t, uint64(conns*3), res.Received)
		if resume {
			assert.Equal(t, conns-1, res.Resumed, "every dial after the first resumes")
		} else {
			assert.Zero(t, res.Resumed)
		}
	}

	other, err := testcert.New()
	require.NoError(t, err)
	_, err = Run(context.Background(), Config{Addr: addr, Conns: 2, TLS: &TLSConfig{CAPEM: string(other.CAPEM())}})
	require.ErrorContains(t, err, "handshake=")
	require.ErrorContains(t, err, "certificate signed by unknown authority")
}

// TestServerChildTLS starts each design's server child WithTLS: it makes
// its certificate, reports its CA (and nothing private) in its ready
// answer, and serves a wss:// load and Idle; a design that refuses TLS
// says so with server.ErrReactorTLS, errors.Is-able across the process
// boundary.
func TestServerChildTLS(t *testing.T) {
	for _, d := range server.Designs() {
		t.Run("design="+string(d), func(t *testing.T) {
			c, err := DesignChild(d)
			require.NoError(t, err)
			require.False(t, c.ServesTLS())
			c = c.WithTLS()
			require.True(t, c.ServesTLS())
			p, err := c.Start(context.Background())
			wstest.SkipReactorTLS(t, err, server.ErrReactorTLS)
			require.NoError(t, err)
			t.Cleanup(func() { _ = p.Close() })
			tc := p.ClientTLS()
			require.NotNil(t, tc)
			require.NotContains(t, tc.CAPEM, "PRIVATE")
			_, err = testcert.ClientConfig([]byte(tc.CAPEM))
			require.NoError(t, err)
			res, err := Run(context.Background(), Config{Addr: p.Addr(), Conns: 10, Messages: 2, TLS: tc})
			require.NoError(t, err)
			require.NoError(t, res.Err())
			require.NoError(t, p.Close())

			ir, err := Idle(context.Background(), IdleConfig{Server: c, Conns: 50, Load: Config{TLS: &TLSConfig{Resume: true}}})
			require.NoError(t, err)
			require.Equal(t, 50, ir.Conns)
		})
	}
	plain, err := DesignChild(server.DesignGoroutine)
	require.NoError(t, err)
	_, err = Idle(context.Background(), IdleConfig{Server: plain, Conns: 1, Load: Config{TLS: &TLSConfig{}}})
	require.ErrorContains(t, err, "wsconn/load: IdleConfig.Load.TLS is set but server goroutine serves ws://; use ServerChild.WithTLS")
}
