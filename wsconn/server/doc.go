// # Servers
//
// NewServer(design, handler, Options) builds a server; Serve(listener)
// accepts until Shutdown(ctx), which sends close 1001 (going away) to every
// connection and waits for them; Stats() reads its counters (open
// connections, goroutines now and at peak, messages and bytes, pings, pong
// timeouts, slow consumers, bytes queued, protocol errors by close code).
// Both designs upgrade with ws.Upgrader on the raw net.Conn (no net/http,
// see Handshake), run the same frame path (MessageReader, FrameWriter) and
// call the same Handler, and differ only in what a connection holds while
// it waits:
//
//   - DesignGoroutine: one goroutine per connection, blocked in Read while
//     the connection is idle. It holds, for the life of the connection, a
//     bufio.Reader (Options.ReadBufferSize), a MessageReader and the
//     buffer of the last message (dropped when it grew past 64 KiB), plus
//     the goroutine's stack. Writes go through a bufio.Writer
//     (WriteBufferSize) borrowed from a pool at the first write and given
//     back at the flush that ends a burst, and block up to WriteTimeout:
//     the kernel's socket buffer is its write queue. Its timers are one read
//     deadline: when it passes on an idle connection, a ping goes out and
//     the deadline moves to PongTimeout.
//   - DesignReactor (Linux): connections registered with one epoll instance
//     (EPOLLONESHOT). A readiness event hands the connection to one of a
//     bounded pool of workers (Options.Workers), which reads what the
//     socket has, without waiting for more, into an input buffer borrowed
//     from a sync.Pool, and runs the frame path (a borrowed reader,
//     MessageReader and message buffer) over every whole unit in it: a lone
//     ping or pong, or a message with any control frames between its
//     fragments. A scan of what arrived (frame headers, MaxFrame and
//     MaxMessage, the UTF-8 of text as it comes) tells whole units from
//     the start of one still on its way, and hands input the frame path
//     will fail on to it at once, so the checks, close codes and fail-fast
//     UTF-8 are those of a socket read. The worker calls the Handler, gives
//     every borrowed buffer back and re-arms the descriptor; only a unit
//     partly received keeps its input buffer on the connection, with the
//     bytes of the next unit that came with the last read. No worker and
//     no poller ever waits for a peer: peers that send half a frame and
//     stop, however many, hold a buffer each but no worker, and the sweep
//     closes them (and frees the buffer) ReadTimeout after the unit began.
//     Control frames between the fragments of a message are answered once
//     the message is whole; a unit that would need a buffer over twice
//     MaxMessage plus 64 KiB (its headers and those control frames count)
//     is failed with 1009 rather than buffered without bound. After the
//     handshake the reactor takes the socket out of its net.Conn (a
//     close-on-exec duplicate of the descriptor, then the net.Conn is
//     closed) and reads and writes the raw non-blocking descriptor itself,
//     so Go's network poller keeps nothing for it: no netFD, no addresses,
//     no finalizer and no runtime pollDesc (which the runtime never
//     frees, only reuses). An idle connection then holds no goroutine, no
//     buffer and no timer: one small struct (srvConn) and its pointer in a
//     table indexed by descriptor, which is also how the poller, the sweep
//     and Shutdown find it. Writes never block a worker: small writes are
//     gathered so a header and its payload leave in one writev; what the
//     socket does not take is copied to a per-connection queue bounded by
//     WriteQueueBytes (a write past the bound closes the connection as a
//     slow consumer) and flushed when epoll reports the socket writable.
//     The epoll goroutine sweeps all connections every tick (a quarter of
//     the shortest timeout, 10 ms to 1 s) for pings due and for read, pong,
//     close and write-queue timeouts, so a connection keeps no timer
//     either.
//     Off Linux, NewServer(DesignReactor, ...) runs DesignGoroutine
//     (Server.Design says which).
//
// What each design keeps per idle connection at 9000 connections (RSS
// growth B/conn, heap-B/conn, goroutines/conn and stack-B/conn, after one
// echo per connection and a forced GC, server and clients in separate
// processes) is printed, at the root of the module, by
//
//	go test -run '^$' -bench 'BenchmarkWSIdleConns/server=(goroutine|reactor)/conns=9000' -count 3 . | go tool benchstat -
//
// The reactor's heap part is one srvConn (TestSrvConnSizeClass keeps it
// within 128 bytes) and its 8-byte slot in the descriptor table; the rest
// of its B/conn is what establishing left behind (stacks of the finished
// handshake goroutines, freed heap not yet returned to the OS). The
// goroutine design's is its bufio.Reader, MessageReader scratch, goroutine
// stack, and the net.Conn with the runtime's poller state.
//
// Liveness: any frame from the peer proves it alive. A connection silent
// for PingInterval is sent a ping; if nothing arrives within PongTimeout
// after it, the connection is closed (Stats.PongTimeouts).
//
// Close: whichever side starts it, once its close frame is written the
// server flushes it, sends FIN (CloseWrite, or shutdown(2) on the
// reactor's raw descriptor), discards what the peer still
// sends until it closes or CloseTimeout passes, then closes the socket, so
// the close frame is never lost to a reset.
//
// Bad peers, each a test in server_test.go: a request that is not HTTP gets
// 400; a missing Upgrade or Sec-WebSocket-Key 400; another
// Sec-WebSocket-Version 426 with "Sec-WebSocket-Version: 13"; a request
// over MaxHeaderBytes 431; a client trickling its request is closed at
// HandshakeTimeout (408 if it is still listening); a client that stops
// reading is closed when its write queue would pass WriteQueueBytes
// (reactor) or a write blocks past WriteTimeout (goroutine), and the bytes
// held for it never pass the bound; a connection cut or stalled mid-frame is
// closed and forgotten (ReadTimeout), and more stalled peers than reactor
// workers do not hold up anyone else (TestServerStalledPeers). After
// Shutdown the goroutines and open descriptors of the process are back to
// their count before the server started.
//
// # Client
//
// NewClient(url, ClientOptions) returns a Client that stays connected:
// heartbeat pings every PingInterval with a PongTimeout, reconnection with
// exponential backoff and full jitter (BackoffBase, BackoffMax,
// MaxAttempts), every state change reported to OnState in order, and Close
// that stops everything and returns once no goroutine of the client is
// left:
//
//	        Start                 handshake ok
//	Idle ─────────▶ Connecting ───────────────▶ Open
//	                 ▲      │                  │  │
//	       backoff   │      │ dial/handshake   │  │ close frame sent
//	       elapsed   │      │ failed           │  │ or received
//	                 │      ▼                  │  ▼
//	               Backoff ◀───────────────────┘ Closing
//	                 │  ▲   connection lost,       │
//	                 │  │   pong timeout           │ server closed:
//	                 │  └──────────────────────────┘ reconnect
//	                 │
//	                 ▼  Close, or MaxAttempts failed attempts in a row
//	               Closed ◀── (also from Idle, Connecting, Closing on Close)
//
// To see the servers and the client under every fault above:
//
//	go test -race -v -run 'TestServer|TestHandshake|TestSlowConsumer|TestReactor|TestClient' ./wsconn/
package server
