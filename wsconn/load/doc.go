// Package load measures WebSocket servers from outside: a load generator
// that checks every echo, a latency histogram, echo servers run in child
// processes so that their memory can be read through /proc, and a trace of
// a server's memory through the lifecycle of its connections. The root
// benchmarks BenchmarkWSIdleConns, BenchmarkWSEcho and BenchmarkWSLifecycle
// are built on it.
//
// # The load
//
// A Config is a population of clients: Conns connections opened against
// Addr at Rate, then Messages per connection (Run), or floods on demand
// (Open, then Session.Flood). Every message carries a sequence number, the
// connection's id, its send time and a CRC-32, and every echo is checked,
// so a Result counts lost and corrupted messages instead of assuming none
// (TestLoadCountsLoss, TestLoadCountsCorruption), and errors by kind.
// Connect and echo times go into a LatencyHist: log-linear buckets within
// 1/32 of the true value (TestLatencyHist), not a slice of every value,
// with quantiles by nearest rank as internal/quantile defines them.
// EchoRate is the load at a fixed rate instead (open loop): RateConfig.Rate
// messages per second over all connections, each connection sending on
// its own schedule whether or not its earlier echoes are back, and latency
// measured from each message's scheduled send time, so that a server that
// stalls cannot hide the stall by holding its clients back (coordinated
// omission; TestEchoRateShowsStall: a 200 ms stall shows in that p99, and
// not in the p99 from the actual send of a closed loop). RateResult has
// both latencies and the rate the server achieved.
// OpenChild runs the same load in child processes of the running binary,
// ConnsPerProc connections each, so that the clients' memory and
// descriptors are not the server's; ChildSession.Flood and Close drive
// them all and merge their results. Addr may name another host.
//
// # Servers in child processes
//
// DesignChild(d) is an EchoHandler server of a wsconn/server design
// (default Options: no server pings, since a load's idle connections read
// nothing until their next flood), and RegisterServerChild makes any other
// echo server runnable that way (the root benchmarks register
// gorilla/websocket and lesismal/nbio ones). CommandServerChild makes an
// external program one, in any language, if it speaks the same line
// protocol on its stdin and stdout (the root benchmarks run Node's ws
// library so, node/wsserver.js). ServerChild.Start returns a ServerProc whose
// Stats, GC and FreeOSMemory read RSS and VSS from outside (/proc/<pid>)
// and heap, stacks, goroutines and descriptors from the child's runtime;
// MemClasses and WriteHeapProfile show where the bytes go. Importing this
// package registers the children of the load and of both designs (see
// internal/child); importing wsconn alone registers none.
//
// From the module root,
//
//	go test -run '^$' -bench BenchmarkWSIdleConns -count 6 . | go tool benchstat -col /server -
//
// compares the goroutine, reactor, gorilla, nbio and nodews servers at
// 1000, 9000 and 18000 idle connections (1000 only with -short; 9000 and
// 18000 where the open-files limit holds them in one server process, and
// 1000 lowered to what it holds where it does not; the clients spread over
// child processes of at most 9000), each after one echo per connection
// and a forced GC (for Node, two global.gc calls over the child's control
// channel). Expect goroutines/conn at 1 for goroutine and
// gorilla and 0 for reactor, nbio and nodews, and B/conn lowest for the
// two epoll designs, reactor and nbio (a small struct and a socket per
// connection), then nodews (a ws WebSocket and a net.Socket object per
// connection on the V8 heap), then goroutine (mostly a goroutine stack,
// stack-B/conn, and the buffers it keeps, in heap-B/conn), then gorilla
// (the same goroutine and more heap). BenchmarkWSEchoRate runs EchoRate
// against every server: p50/p99/p999 from the schedule and the achieved
// rate.
//
// # wss://
//
// Config.TLS makes the clients dial wss:// (TLS 1.3), verifying the
// server against a CA given as public PEM (a load in child processes gets
// its Config as JSON, so no *tls.Config and no key travels), with session
// resumption on or off (TLSConfig.Resume: one tls.ClientSessionCache per
// process; Result.Resumed counts resumed dials). ServerChild.WithTLS
// serves wss:// from any server child, with an ECDSA P-256 certificate
// for 127.0.0.1, ::1 and localhost made at its start (internal/testcert):
// a Go child makes its own and reports its CA in its ready answer (its key
// never leaves it), an external program is handed its certificate and key
// in memory (RTLAB_TLS_CERT, RTLAB_TLS_KEY). ServerProc.ClientTLS is what
// a load needs to reach it, and Idle and Lifecycle fill it in themselves.
// The designs serve it with Options.TLSConfig. The root benchmarks add the level tls=off|on
// last (see BenchmarkWSIdleConns).
//
// # The lifecycle trace
//
// Lifecycle runs a server child and a load in child processes through
// establish → flood → idle → close → GC → FreeOSMemory, sampling the server
// every Interval and reading it from outside at the end of each phase. Its
// LifecycleConfig embeds the load's Config. LifecycleResult has the
// per-phase deltas (RSS, VSS, heap, stacks, goroutines), the samples
// (WriteCSV: one row per sample, with its phase) and the benchmark's
// figures (EstablishPerConn, FloodPerConn, CloseReturned, FreeReturned).
//
//	go test -run '^$' -bench BenchmarkWSLifecycle -v -wsload.csv DIR .
//
// logs each design's per-phase deltas and writes
// DIR/lifecycle-<server>-<conns>.csv, memory against time with a phase
// column. Expect the designs to differ most at establish (a goroutine and
// its buffers against a struct per connection), the flood to add message
// buffers and idle little; closing frees heap and stacks, yet RSS hardly
// moves after close and a GC (close-returned-% near zero, or negative: the
// runtime keeps freed pages until its background scavenger returns them),
// while FreeOSMemory gives most of it back (free-returned-% far above
// close-returned-%).
package load
