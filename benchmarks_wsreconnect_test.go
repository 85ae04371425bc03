package rtlab

import (
	"context"
	"fmt"
	"testing"

	"github.com/rtlab/rtlab/wsconn/load"
)

// wsReconnectModes are BenchmarkWSReconnect's last level: ws://, wss://
// with a full TLS handshake per client, wss:// resuming the session of the
// client's first dial.
var wsReconnectModes = []string{"off", "full", "resumed"}

// BenchmarkWSReconnect measures a reconnect storm (load.Reconnect): 1000
// clients (200 with -short; fewer where the open-files limit is lower:
// wsConns, at two descriptors each, as the server may not have closed a
// dropped connection when its redial arrives) drop their connections and
// redial at once, as after a server restart, for every server, with tls=off
// (ws://), tls=full (wss://, every handshake full: ECDHE and the server's
// ECDSA P-256 signature) and tls=resumed (wss://, each client resuming its
// first session: ECDHE without the certificate). conns/s is what the server
// took per second over the storm, server-cpu-us/conn the server process's
// CPU time per connection over it (10 ms ticks of /proc, spread over the
// storm), resumed-% the redials that resumed. What TLS costs a connection,
// and what resumption saves of it:
//
//	go test -run '^$' -bench 'BenchmarkWSReconnect' -count 3 . | go tool benchstat -col /tls -
func BenchmarkWSReconnect(b *testing.B) {
	conns := 1000
	if testing.Short() {
		conns = 200
	}
	conns = wsConns(b, conns, 2)
	for _, s := range wsLoadServers {
		s.run(b, func(b *testing.B) {
			b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
				for _, mode := range wsReconnectModes {
					b.Run("tls="+mode, func(b *testing.B) { benchReconnect(b, s, conns, mode) })
				}
			})
		})
	}
}

func benchReconnect(b *testing.B, s wsLoadServer, conns int, mode string) {
	wsFit(b, conns, 2)
	cfg := load.ReconnectConfig{Server: s.child, Conns: conns, Load: wsLoad("", conns)}
	if mode != "off" {
		cfg.Server = s.child.WithTLS()
		s.skipFlakyTLS(b, cfg.Server)
	}
	if mode == "resumed" {
		cfg.Load.TLS = &load.TLSConfig{Resume: true}
	}
	var perSec, cpu, resumed, p50, p99 float64
	var runs int
	for b.Loop() {
		r, err := load.Reconnect(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		perSec += r.PerSec()
		cpu += float64(r.CPUPerConn().Nanoseconds()) / 1e3
		resumed += 100 * float64(r.Resumed) / float64(r.Conns)
		p50 += float64(r.Connect.Quantile(0.5).Nanoseconds())
		p99 += float64(r.Connect.Quantile(0.99).Nanoseconds())
		runs++
	}
	n := float64(runs)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(perSec/n, "conns/s")
	b.ReportMetric(cpu/n, "server-cpu-us/conn")
	b.ReportMetric(resumed/n, "resumed-%")
	b.ReportMetric(p50/n, "connect-p50-ns")
	b.ReportMetric(p99/n, "connect-p99-ns")
}
