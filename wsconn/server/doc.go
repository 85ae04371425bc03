// Package server runs WebSocket servers of two designs over wsconn's frame
// path, to show what a connection costs a server while it waits.
//
// New(design, handler, Options) builds a server; Serve(listener) accepts
// until Shutdown(ctx), which sends close 1001 (going away) to every
// connection and waits for them; Stats reads its counters. Both designs
// upgrade with ws.Upgrader (no net/http): the goroutine design on the
// net.Conn (wsconn.Handshake), the reactor on the request's bytes as they
// arrive, with the same checks and answers. Both run the same frame path
// (wsconn.MessageReader, wsconn.FrameWriter) and call the same
// wsconn.Handler, and differ only in what a connection holds while it
// waits:
//
//   - DesignGoroutine: one goroutine per connection, blocked in Read while
//     the connection is idle. It holds, for the life of the connection, a
//     bufio.Reader (Options.ReadBufferSize), a MessageReader and the buffer
//     of the last message (dropped when it grew past 64 KiB), plus the
//     goroutine's stack. Writes go through a bufio.Writer (WriteBufferSize)
//     borrowed from a pool at the first write and given back at the flush
//     that ends a burst, and block up to WriteTimeout: the kernel's socket
//     buffer is its write queue. Its timers are one read deadline: when it
//     passes on an idle connection, a ping goes out and the deadline moves
//     to PongTimeout.
//   - DesignReactor (Linux): one epoll instance and a bounded pool of
//     workers that accept, upgrade, read and write the raw non-blocking
//     sockets themselves: the poller accepts with accept4 on the listener's
//     descriptor, and the request is read and answered like any other
//     input, so no goroutine is ever started per connection, not even for
//     its handshake. An idle connection holds no goroutine, no buffer and
//     no timer: one small struct and a slot in a table indexed by
//     descriptor. No worker waits for a peer, and writes never block: what
//     the socket does not take waits in a queue bounded by
//     WriteQueueBytes. How it works is described at its type, reactor, in
//     reactor_linux.go. Off Linux, New(DesignReactor, ...) runs
//     DesignGoroutine (Server.Design says which).
//
// # TLS (wss://)
//
// Options.TLSConfig serves wss://, TLS 1.3 only (a copy of the config with
// MinVersion TLS 1.3 is served; rtlab's own runs use an ECDSA P-256
// certificate made at run time by internal/testcert). The goroutine
// design wraps each accepted connection in crypto/tls's tls.Server and
// runs the TLS handshake on the connection's goroutine, then the opening
// handshake: both within one HandshakeTimeout from accept, so a peer that
// stops in the TLS handshake, or after it without sending its request, is
// closed then and counted in Stats.HandshakeTimeouts. A peer that sends a
// malformed record is sent a TLS alert and closed (Stats.HandshakeErrors
// before the upgrade); one that sends plain HTTP to the TLS port is
// answered once, in plain HTTP, "400 Bad Request ... TLS (wss://)
// server" (as net/http answers it), and closed after reading five bytes,
// with nothing logged. A close frame is followed by the TLS close_notify
// (the clean end of the TLS stream); a connection that ends without one
// (EOF, I/O error, pong timeout, Shutdown's context) is closed without
// close_notify, which a peer that no longer reads could hold for seconds.
// A client past MaxConns gets its TLS handshake, then the 503; one
// accepted when descriptors have run out is closed unanswered (the answer
// would need a TLS handshake on the acceptor). What an idle TLS
// connection holds besides the plain one: crypto/tls's Conn, with its
// keys and the record buffers it keeps between reads and writes (its raw
// input and output buffers, grown to the largest records it has handled).
// Stats count plaintext bytes.
// The reactor refuses TLSConfig for now: its Serve returns ErrReactorTLS.
// To see the goroutine design under each of these peers, and the
// conformance suite over TLS:
//
//	go test -v -run 'TestWSS' ./wsconn/server/
//
// # What to expect
//
// What each design keeps per idle connection at 9000 connections (RSS
// growth B/conn, heap-B/conn, goroutines/conn and stack-B/conn, after one
// echo per connection and a forced GC, server and clients in separate
// processes, the server at the benchmark's GOMAXPROCS) is printed, at the
// root of the module, by
//
//	go test -run '^$' -bench 'BenchmarkWSIdleConns/server=(goroutine|reactor)/conns=9000' -cpu 2,16 -count 3 . | go tool benchstat -
//
// Expect goroutines/conn at 1 for goroutine and 0 for reactor
// (TestReactorGoroutinesFlat), and B/conn many times lower for reactor,
// and the same at any GOMAXPROCS: its heap part is one srvConn
// (TestSrvConnSizeClass keeps it within 128 bytes) and its 8-byte table
// slot, the rest what establishing left behind (freed heap not yet
// returned to the OS: the handshake's garbage, the table's old copies). No
// goroutine stack is left behind, since none was started per connection:
// a goroutine that ends keeps its stack on its P's free list (up to 64 per
// P, runtime/proc.go, gfput), so short-lived goroutines per connection,
// one per handshake say, leave more stack behind the more Ps there are. The goroutine design's is its bufio.Reader,
// MessageReader scratch, goroutine stack, and the net.Conn with the
// runtime's poller state. The README shows a run with its machine.
//
// # At the limit
//
// A server has two limits: Options.MaxConns (connections held at once, in
// their handshake or upgraded; 0 for none) and the process's open-files
// limit. At either, both designs answer a new connection
//
//	HTTP/1.1 503 Service Unavailable
//	Retry-After: 1
//
// (Options.RetryAfter, whole seconds) with a line saying which limit,
// before any upgrade, so the client knows it was never connected; then
// close it, and count it in Stats.RefusedMaxConns or Stats.RefusedNoFDs. A
// connection past MaxConns is closed gracefully (FIN, then what the client
// still sends is read until it closes or CloseTimeout passes). To refuse
// when descriptors have run out, Serve keeps one descriptor in reserve:
// when accept fails for want of a descriptor, the reserve is closed and
// the connection accepted in its place; if the reserve can be reopened
// then (connections closed meanwhile), the connection is served as usual,
// otherwise it is answered 503 and closed at once, and the reserve
// reopened. Without a reserve (something else took its slot) the
// goroutine design backs off in Accept, as net/http does, and the reactor
// stops watching the listener until its sweep gets the reserve back; the
// clients wait in the listen backlog meanwhile. Where the limit is hit
// differs by design: the goroutine design takes a descriptor and a
// goroutine per connection, the reactor a descriptor alone. The reactor
// never takes a socket over after answering 101 (it accepts raw
// descriptors), so a client it upgraded is never reset for want of a
// descriptor. wsconn/client waits for the Retry-After (plus its jitter)
// before its next attempt; wsconn/load counts refused connections apart
// from failures. To see both designs refuse and recover, at MaxConns 100
// with 150 clients and in a child process whose open-files limit leaves
// room for 8 connections, with 20 clients:
//
//	go test -v -run 'TestServerMaxConns|TestServerOutOfDescriptors' ./wsconn/server/
//
// # Liveness, close and bad peers
//
// Any frame from the peer proves it alive. A connection silent for
// PingInterval is sent a ping; if nothing arrives within PongTimeout after
// it, the connection is closed (Stats.PongTimeouts).
//
// Whichever side starts the close, once its close frame is written the
// server flushes it, sends FIN (CloseWrite, or shutdown(2) on the
// reactor's raw descriptor), discards what the peer still sends until it
// closes or CloseTimeout passes, then closes the socket, so the close
// frame is never lost to a reset.
//
// Bad peers, each a test in server_test.go: a request that is not HTTP
// gets 400 (as soon as its first line is in); a missing Upgrade or Sec-WebSocket-Key 400; another
// Sec-WebSocket-Version 426 with "Sec-WebSocket-Version: 13"; a request
// over MaxHeaderBytes 431; a client trickling its request is closed at
// HandshakeTimeout (408 if it is still listening); a client that stops
// reading is closed when its write queue would pass WriteQueueBytes
// (reactor) or a write blocks past WriteTimeout (goroutine), and the bytes
// held for it never pass the bound; a connection cut or stalled mid-frame
// is closed and forgotten (ReadTimeout), and more stalled peers than
// reactor workers do not hold up anyone else (TestServerStalledPeers).
// After Shutdown the goroutines and open descriptors of the process are
// back to their count before the server started. To see the servers under
// every fault above:
//
//	go test -race -v -run 'TestServer|TestHandshake|TestSlowConsumer|TestReactor' ./wsconn/server/
//
// # wss: the reactor with TLS
//
// With Options.TLSConfig the reactor keeps its promise under TLS: an idle
// wss connection holds no goroutine, no buffer and no crypto/tls.Conn,
// only its record layer's state (tlsRecords: the two application traffic
// secrets, the keys and IVs made from them, two sequence numbers; on top
// of the srvConn). crypto/tls cannot pause a handshake when the socket has
// nothing to read, so each TLS handshake runs on a goroutine of its own,
// over a duplicate of the descriptor in Go's network poller, bounded by
// HandshakeTimeout (the sweep kills it, counted in HandshakeTimeouts);
// it hands crypto/tls one record per read so that it never reads past the
// client's Finished. The reactor then takes the application traffic
// secrets from the config's KeyLogWriter (a clone of the config's, which
// still gets every line), matched to the connection by its ClientHello
// random, counts the session tickets crypto/tls sealed under the first
// key (its next sequence number), closes the duplicate and runs the TLS
// 1.3 record layer itself (tlsrecord.go; RFC 8446 section 5: AES-GCM or
// ChaCha20-Poly1305, KeyUpdate both ways, close_notify): records are
// read into and sealed in buffers borrowed from a pool while a worker owns
// the connection, and the AEADs are built from the keys then and dropped
// when it lets go. TestReactorTLSIdleHoldsNoBuffer fails if an idle wss
// connection holds a record buffer, an input buffer or cipher state.
// That is a trade: holding an AES-GCM cipher would cost 1280 bytes a
// direction per connection, and building it from the keys at each wake-up
// costs 1.4 µs and two allocations a direction, against 0.3 µs to seal and
// open a 64-byte record (BenchmarkTLSRecords, this 2-core machine).
// Only TLS 1.3 is served, without client certificates. A plain HTTP
// request to the TLS port is answered 400 ("Client sent an HTTP request to
// an HTTPS server.", as net/http answers it) and closed gracefully;
// anything else that is not a handshake is closed without an answer, and
// logs nothing. Past MaxConns a TLS connection is closed without the 503:
// the answer would need the handshake that refusing saves.
//
// Kernel TLS (kTLS) would take the same secrets and do the record layer in
// the socket; KernelTLS reports whether this kernel offers it (here:
// setsockopt TCP_ULP "tls" fails with ENOENT, no tls module), and the
// record layer in Go works on every kernel.
//
//	go test -v -run 'TLS' ./wsconn/server/
//
// TestServerConformance runs the RFC 6455 conformance suite
// (wsconn/internal/conformance) against both designs and requires every
// case to pass.
package server
