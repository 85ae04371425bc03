// Package wsconn is a zero-copy WebSocket frame path for servers, on
// github.com/gobwas/ws with caller-owned buffers: reading and checking
// client frames and whole messages, writing server frames, close frames
// and codes, incremental UTF-8 validation and the opening handshake. It
// measures what a server pays per message, checks itself with an RFC 6455
// conformance suite over loopback, and is fuzzed.
//
// It imports nothing of the packages built on it: wsconn/server (a
// goroutine-per-connection and an epoll server), wsconn/client (a
// reconnecting client) and wsconn/load (the load generator, the memory
// trace and the child-process servers behind the memory benchmarks).
//
// # What the frame path shows
//
// A message path copies and allocates in three places: the header (a fresh
// buffer per frame), the payload (a fresh buffer per message, grown while
// reading, then copied again to unmask or to concatenate fragments) and
// the write (header and payload concatenated into one buffer so they leave
// in one system call). The frame path removes all three: the header is
// read into and written from a 14-byte array the caller keeps, the payload
// is read once into a buffer the caller hands back for the next message
// and unmasked in place, and the write sends header and payload as two
// iovecs of one writev. From the module root,
//
//	go test -run '^$' -bench 'BenchmarkWSFrame' -count 3 . | go tool benchstat -col /impl -
//
// shows impl=rtlab at 0 B/op and 0 allocs/op at every size, and at 64 KiB
// within about 10% of impl=limit, the floor of any reader that must move
// and unmask the bytes (copy plus ws.Cipher, no framing). The allocating
// peers pay a fixed cost per message (allocation, locks, per-message
// setup) that dominates small messages, and extra copies that dominate
// large ones. Allocation counts are claims backed by tests (alloc_test.go,
// testing.AllocsPerRun), not only by benchmarks.
//
// A MessageReader holds scratch only: nothing survives between two
// messages, so a server can keep no buffer and no reader per idle
// connection and borrow both from a sync.Pool while a message is read. A
// fragmented message is read to its end within one ReadMessage call.
// Writes on one connection must be serialised by the caller (the pong and
// close answers of ReadMessage are writes on its io.ReadWriter).
//
// Reading straight from a socket costs three read system calls per frame
// (ws.ReadHeaderBuffer reads the first two bytes, then the rest of the
// header; then the payload; TestReadFrameReadCalls counts them). Under a
// stream of small messages a server therefore reads through a
// bufio.Reader: small frames are then copied once more, out of its buffer,
// while payloads larger than the buffer still go straight into the
// caller's (bufio.Reader.Read bypasses its buffer for them). The in-memory
// benchmarks, whose Read is a plain copy, do not show that cost.
//
// RFC 6455 choices: close codes accepted from a peer are 1000-1003,
// 1007-1014 (1012-1014 are in the IANA registry RFC 6455 set up) and
// 3000-4999; a close is answered with the code it carried (an empty close
// with an empty one). The default limits (16 MiB per frame and message)
// are the sizes of Autobahn's largest cases; set Limits for anything else.
//
// # Peers in BenchmarkWSFrameRead and BenchmarkWSFrameWrite
//
// Every read benchmark consumes the same pre-built stream of masked binary
// client frames (about 1 MiB of them, looping) through an in-memory
// net.Conn whose Read is a plain copy out of the stream, which stands for
// the kernel's copy out of the socket buffer; every write goes to the same
// conn, whose Write discards. One iteration is one message of size bytes.
//
//   - rtlab: MessageReader.ReadMessage with the message buffer handed back.
//     Copies: one (stream to buffer, by Read); unmasking in place. Writes:
//     FrameWriter.WriteMessage: no copy; on a socket header and payload
//     leave in one writev (TestWriteOneSyscall counts them), on the
//     discarding conn as two Write calls.
//   - wsutil: wsutil.ReadClientData, which allocates a wsutil.Reader and
//     reads with io.ReadAll into a fresh slice that starts at 512 bytes and
//     doubles: the payload is copied about twice and about 1.5 times its
//     size is allocated per message. Writes: wsutil.WriteServerMessage,
//     whose ws.WriteHeader allocates the 14-byte header (it escapes through
//     the io.Writer), then header and payload as two writes (two system
//     calls on a socket).
//   - gorilla: the conn is handed to Upgrader.Upgrade by a hijacking
//     ResponseWriter; NextReader, then reads into a reused buffer. Copies:
//     through gorilla's 4 KiB bufio.Reader (small payloads are copied
//     twice, large ones mostly read straight into the caller's buffer);
//     unmasking with gorilla's own word-at-a-time maskBytes, slower than
//     gobwas' AVX2 ws.Cipher; NextReader allocates 8 bytes per message.
//     Writes: WriteMessage's server fast path copies what fits of the
//     payload into its 4 KiB write buffer after the header and writes the
//     rest with net.Buffers, whose slice escapes (2 allocations for large
//     messages).
//   - coder: the same hijacking upgrade into coder.Accept; Reader(ctx),
//     then reads into a reused buffer up to EOF. Copies: through a
//     bufio.Reader (reset onto an io.MultiReader), then to the caller. No
//     allocation, but a fixed cost per message of channel-based locks and
//     timeout setup, which is most of its time for small messages. Writes:
//     Write(ctx, ...) copies into a bufio.Writer (large payloads pass
//     through) and flushes per message, under the same locks.
//   - naive: a fresh header buffer (ws.ReadHeader) and a fresh payload
//     buffer per message, then unmask: the pattern of a per-message
//     Buffer.concat. Writes: ws.CompileFrame copies header and payload into
//     one new buffer, then one Write.
//   - limit (reads only): copy each frame's payload out of the stream and
//     ws.Cipher it; no header, no checks.
//
// On the discarding conn, a writer that concatenates nothing and calls
// Write once or twice costs almost nothing, so write MB/s at 64 KiB
// measure the per-message overhead, not bandwidth; the writev advantage of
// rtlab and gorilla shows only on a real socket.
//
// # Conformance
//
// internal/conformance is a Go-native port of the Autobahn|Testsuite case
// groups 1-7 and part of 9 that apply to a server without extensions: raw
// byte-level client scripts over TCP loopback, with pass, non-strict and
// fail verdicts. TestConformance runs it against a frame path echo server
// (Handshake, ServeConn, EchoHandler) and, as reference points, against a
// gorilla/websocket and a coder/websocket echo server, and logs the table:
//
//	go test -run TestConformance -v ./wsconn/ -conformance.all
//
// The frame path passes every case; the peers' failures are findings (both
// echo text messages that are not valid UTF-8, which RFC 6455 says must
// fail the connection with 1007).
//
// # Fuzzing
//
// FuzzFrameRead feeds arbitrary bytes to MessageReader (no panic, no buffer
// past the limit, a valid message or an error with the matching close
// frame written); FuzzHandshake feeds arbitrary bytes to Handshake (a 101
// with the right accept key or a 4xx/505 answer, and a deadline set before
// the first read, so a stalled client cannot hold the server past the
// timeout). The seeds in testdata/fuzz run with every go test; to fuzz
// longer:
//
//	go test -run '^$' -fuzz '^FuzzFrameRead$' -fuzztime 30m ./wsconn/
//	go test -run '^$' -fuzz '^FuzzHandshake$' -fuzztime 30m ./wsconn/
package wsconn
