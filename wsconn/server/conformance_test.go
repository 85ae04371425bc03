package server

import (
	"strings"
	"testing"

	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/internal/conformance"
	"github.com/stretchr/testify/require"
)

// TestServerConformance runs the Autobahn-style conformance suite of
// internal/conformance against both server designs with the echo handler,
// logs the table (totals and any case not passed), and requires every case
// to pass. It takes about a minute; -short skips it.
func TestServerConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite takes about a minute; -short skips it")
	}
	var (
		names   []string
		results [][]conformance.Result
	)
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			_, addr := startServer(t, d, wsconn.EchoHandler{}, Options{})
			rs := conformance.Run(addr, conformance.Options{})
			require.NotEmpty(t, rs, "conformance suite ran no case")
			for _, r := range rs {
				if r.Verdict != conformance.Pass {
					t.Errorf("%s (%s): %s: %s", r.Case, r.Desc, r.Verdict, r.Detail)
				}
			}
			names = append(names, string(d))
			results = append(results, rs)
		})
	}
	var b strings.Builder
	require.NoError(t, conformance.WriteTable(&b, names, results, false))
	t.Log("\n" + b.String())
}
