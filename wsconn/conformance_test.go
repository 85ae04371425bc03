package wsconn_test

import (
	"errors"
	"flag"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/internal/conformance"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var (
	conformanceAll    = flag.Bool("conformance.all", false, "print every case of the conformance table, not only those some server does not pass")
	conformanceServer = flag.String("conformance.server", "", "run the conformance suite against this server only (rtlab, gorilla, coder)")
)

// startFramePathServer is the smallest server on the frame path: an accept
// loop, Handshake, ServeConn with EchoHandler, CloseGracefully.
func startFramePathServer(t *testing.T) *wstest.Listener {
	return wstest.Accept(t, func(_ int, c net.Conn) {
		if _, err := wsconn.Handshake(c, 5*time.Second, 0); err != nil {
			c.Close()
			return
		}
		err := wsconn.ServeConn(c, wsconn.EchoHandler{}, wsconn.Limits{})
		var ce *wsconn.CloseError
		if errors.As(err, &ce) {
			_ = wsconn.CloseGracefully(c, time.Second)
			return
		}
		c.Close()
	})
}

// TestConformance runs the Autobahn-style suite against the frame path
// server and, as reference points, gorilla/websocket and coder/websocket
// echo servers, and logs the case table (go test -v -run TestConformance
// ./wsconn/; -conformance.all for every row). The frame path must pass
// every case; the peers' verdicts are findings, not test failures.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite takes about a minute; -short skips it")
	}
	t.Cleanup(func() { goleak.VerifyNone(t) })
	servers := []struct {
		name  string
		start func(t *testing.T) *wstest.Listener
	}{
		{"rtlab", startFramePathServer},
		{"gorilla", func(t *testing.T) *wstest.Listener { return wstest.HTTP(t, wstest.GorillaEcho) }},
		{"coder", func(t *testing.T) *wstest.Listener { return wstest.HTTP(t, wstest.CoderEcho) }},
	}
	var (
		names   []string
		results [][]conformance.Result
	)
	for _, s := range servers {
		if *conformanceServer != "" && s.name != *conformanceServer {
			continue
		}
		srv := s.start(t)
		start := time.Now()
		rs := conformance.Run(srv.Addr, conformance.Options{})
		srv.Close()
		t.Logf("%s: suite ran in %v", s.name, time.Since(start).Round(time.Millisecond))
		names = append(names, s.name)
		results = append(results, rs)
	}
	require.NotEmpty(t, names, "-conformance.server %q names no server; want rtlab, gorilla or coder", *conformanceServer)
	var b strings.Builder
	require.NoError(t, conformance.WriteTable(&b, names, results, *conformanceAll))
	t.Log("\n" + b.String())
	for _, r := range results[0] {
		if names[0] == "rtlab" && r.Verdict != conformance.Pass {
			t.Errorf("rtlab %s (%s): %s: %s", r.Case, r.Desc, r.Verdict, r.Detail)
		}
	}
}
