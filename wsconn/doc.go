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
// in one system call). The frame path removes all three: headers are
// parsed where they lie in the read buffer, a payload held whole there is
// unmasked in place and handed to the handler (other payloads are read
// once into a buffer the caller hands back for the next message), and the
// write sends a small frame as one copied buffer and a larger one as two
// iovecs of one writev. From the module root,
//
//	go test -run '^$' -bench 'BenchmarkWSFrame' -count 6 . | go tool benchstat -col /impl -
//
// shows impl=rtlab at 0 B/op and 0 allocs/op at every size. Its floor is
// impl=limit-header, what any reader must do at least: move and unmask the
// bytes (copy plus ws.Cipher) and decode each header from bytes in memory;
// impl=limit is the same floor without the header. At 64 KiB rtlab is at
// the floor; at 16 bytes and 1 KiB a fixed cost per message is left (see
// below). The allocating peers pay a fixed cost per message (allocation,
// locks, per-message setup) that dominates small messages, and extra
// copies that dominate large ones. Allocation counts are claims backed by
// tests (alloc_test.go, testing.AllocsPerRun), not only by benchmarks.
//
// # Where the nanoseconds of a small message go
//
// At 16 bytes and 1 KiB the cost of a message is mostly per message, not
// per byte. A CPU profile of the rows,
//
//	go test -run '^$' -bench 'BenchmarkWSFrameRead/impl=rtlab$/size=(16|1024)$' -cpuprofile cpu.prof .
//	go tool pprof -top rtlab.test cpu.prof
//
// was taken at each step; what each showed and what was removed:
//
//   - ReadMessage straight on a reader (now impl=rtlab-direct): about half
//     the time in reading the header, ws.ReadHeaderBuffer's two
//     io.ReadFull calls (each a Read through an interface for a few bytes)
//     and the rule checks, then the payload Read and ws.Cipher. A listing
//     (pprof -list) put the largest single cost on the lines that pass a
//     ws.Header from one function to the next: the struct holds an array,
//     so it lives in memory, is stored field by field and reloaded 16
//     bytes at a time, which the CPU cannot forward from the stores.
//     Removed: headers are decoded into a four-word struct that stays in
//     registers, the common header (final text or binary, masked, 7- or
//     16-bit length) inline, and the rule-by-rule check runs only for the
//     other headers; ServeBuffered parses each header where it lies in a
//     bufio.Reader's buffer (one Peek and one Discard per frame held whole
//     there) and unmasks the payload in place for the handler.
//   - ServeBuffered through a 4 KiB bufio.Reader, at 1 KiB: of the time,
//     33% in memmove (26% the conn's Read into the buffer, the copy the
//     floor makes too; 7.5% bufio sliding a frame cut by the end of its
//     buffer to the front before each read), 30% in ws.Cipher, and the
//     rest per message: Peek 7.5% of its own and Discard 6% (two calls
//     with their checks), the whole-frame path 5%, the handler 5%.
//     Removed: FrameReader, a buffered reader of this package's own, and
//     MessageReader.ServeFrom, which reads its buffer's bytes directly:
//     decode, limit check, wait for the rest of a cut frame, unmask and
//     hand over in one loop with no call but ws.Cipher, the handler and,
//     when the frame is not all there, the read. A cut frame is moved to
//     the front only if it does not fit behind the bytes before it, and
//     the buffer doubles from 4 KiB up to 16 KiB while reads fill it
//     (MaxGrownReadBuffer), which makes that slide a quarter as frequent
//     for a connection that streams. BenchmarkFrameReaderSize measures
//     the buffer sizes and the bufio.Reader path side by side.
//
// Left now, at 1 KiB: memmove 37% (the conn's Read 32%, the slide of cut
// frames 4%), ws.Cipher 36%, and per message ServeFrom's own code 9%, the
// header decode 4%, the limit check 3.5%, the handler 1%. At 16 bytes the
// copy is small and the rest shows: ServeFrom's code 35%, ws.Cipher 36%
// (mostly its fixed cost: the calls and the checks before the AVX2 kernel,
// which the floor pays too), the header decode 10%, the handler 5%. The
// epoll server in wsconn/server unmasks single-frame messages in place in
// its own input buffer; MessageReader.WholeFrame is this path over such
// bytes in memory.
//
// A MessageReader holds scratch only: nothing survives between two
// messages, so a server can keep no buffer and no reader per idle
// connection and borrow both from a sync.Pool while a message is read. A
// fragmented message is read to its end within one ReadMessage call.
// Writes on one connection must be serialised by the caller (the pong and
// close answers of ReadMessage are writes on its io.ReadWriter).
//
// Reading straight from a socket costs three read system calls per frame
// (two for the header, one for the payload; TestReadFrameReadCalls counts
// them). A server therefore reads through a FrameReader, with ServeFrom or
// ReadMessageFrom (or through a bufio.Reader, with ServeBuffered or
// ReadMessageBuffered): one read system call then serves every frame that
// fits its buffer (the same test counts one for 100 small frames), and
// payloads larger than the buffer still go straight into the caller's
// buffer (Read bypasses the buffer for them).
//
// Text in a frame that is not there whole (it straddles the end of the
// buffer or is larger than it) goes through the general path, which checks
// UTF-8 on each piece as it arrives, so that invalid text fails the
// connection before the rest of its frame is sent.
//
// Writes: a payload of up to 256 bytes is copied behind its header and
// leaves in one Write; a larger one leaves with its header as two iovecs of
// one writev. BenchmarkWriteCrossover (in this package) measures where
// copying stops paying; see smallFrame in write.go for what it showed.
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
//   - rtlab: ServeFrom through a FrameReader, as ServeConn serves a
//     connection, with a handler (a method on a struct) that checks the
//     message. The buffer starts at 4 KiB and grows to 16 KiB, since every
//     Read of the in-memory conn fills it. Copies: one (stream to the
//     FrameReader's buffer, by Read); a message held whole there is
//     unmasked in place and handed to the handler, a larger one is read
//     into the message buffer handed back. Writes:
//     FrameWriter.WriteMessage: up to 256 bytes copied behind the header
//     and one Write; larger payloads not copied, leaving with the header in
//     one writev on a socket (TestWriteOneSyscall counts them) and as two
//     Write calls on the discarding conn.
//   - rtlab-direct (reads only): ReadMessage straight on the conn, three
//     Reads per frame, the message buffer handed back.
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
//   - limit-header (reads only): limit plus decoding each frame's header
//     (what ws.ReadHeader decodes) where it lies in the stream, into a
//     small struct (not a ws.Header: see above), with no checks.
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
