package wsconn_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn"
)

// Example feeds a fragmented text message with a ping between its
// fragments, then a close, to the echo handler, and prints what the server
// sent back.
func Example() {
	var in bytes.Buffer
	for _, f := range []ws.Frame{
		ws.NewFrame(ws.OpText, false, []byte("hello, ")),
		ws.NewPingFrame([]byte("are you there?")),
		ws.NewFrame(ws.OpContinuation, true, []byte("world")),
		ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "done")),
	} {
		// Clients mask every frame.
		_ = ws.WriteFrame(&in, ws.MaskFrameWith(f, [4]byte{1, 2, 3, 4}))
	}
	var out bytes.Buffer
	err := wsconn.ServeConn(struct {
		io.Reader
		io.Writer
	}{&in, &out}, wsconn.EchoHandler{}, wsconn.Limits{})

	var ce *wsconn.CloseError
	fmt.Println("ended by:", err, errors.As(err, &ce) && ce.Remote)
	for out.Len() > 0 {
		h, _ := ws.ReadHeader(&out)
		fmt.Printf("opcode %d %q\n", h.OpCode, out.Next(int(h.Length)))
	}
	// Output:
	// ended by: wsconn: remote close 1000: done true
	// opcode 10 "are you there?"
	// opcode 1 "hello, world"
	// opcode 8 "\x03\xe8"
}
