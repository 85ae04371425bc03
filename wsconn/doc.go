// Package wsconn measures what a WebSocket server pays per message and per
// connection, and builds the path that pays least: zero-copy framing on
// github.com/gobwas/ws with caller-owned buffers.
//
// # Frame path (this file's API)
//
// Reading (server side, client frames):
//
//	ReadHeader(src, hdr, fragmented) (ws.Header, error)
//	    ws.ReadHeaderBuffer into hdr (caller-owned, >= 14 bytes, long-lived),
//	    then the RFC 6455 server checks; a violation is a *CloseError 1002.
//	ReadFrame(src, hdr, buf, fragmented) (ws.Header, []byte, error)
//	    header as above, payload into buf[:n] (one copy), unmasked in place
//	    with ws.Cipher; n > cap(buf) is a *CloseError 1009. 0 allocs.
//	MessageReader{Limits}.ReadMessage(rw, buf) (op, msg, error)
//	    one whole message: fragments assembled into buf (grown as bytes
//	    arrive, up to Limits.MaxMessage; keep msg and pass it back next time
//	    for 0 allocs), text validated as UTF-8 incrementally (fail fast per
//	    fragment), control frames between fragments answered on rw (ping ->
//	    pong with the same payload, pong ignored, close -> checked and echoed).
//	    A violation writes a close frame (1002 protocol, 1007 invalid UTF-8,
//	    1009 too big) and returns *CloseError{Code, Reason, Remote:false};
//	    a peer's close returns *CloseError{Remote:true} after echoing it.
//
// Writing (server frames, never masked):
//
//	FrameWriter.WriteFrame(w, h, payload) / WriteMessage(w, op, payload) / WriteClose(w, code, reason)
//	    ws.WriteHeaderBuffer into the writer's 14-byte array, then header and
//	    payload in one net.Buffers write (writev on a TCP conn). 0 allocs.
//	WriteFrame, WriteMessage, WriteClose (package functions)
//	    the same with a FrameWriter borrowed from a sync.Pool for the call.
//
// Serving:
//
//	Handler{HandleMessage(w io.Writer, op, payload) error}, HandlerFunc, EchoHandler
//	MessageReader.Serve(rw, h, buf) (buf, error)  one message -> h
//	ServeConn(rw, h, Limits) error                loop until close or error
//	CloseGracefully(conn, d)                      FIN, drain up to d, close
//	IsNormalClose(err)                            peer closed with 1000/1001/none or EOF
//
// Per-connection state: MessageReader is scratch only (header and control
// payload arrays, limits); nothing survives between two messages, so a
// reactor can keep no buffer and no reader per idle connection and borrow
// both from a sync.Pool only while a message is being read. A fragmented
// message is read to its end within one ReadMessage call. Writes on one
// connection must be serialised by the caller (the pong and close answers
// of ReadMessage are writes on rw).
package wsconn
