package wstest

import (
	"context"
	"net/http"

	coderws "github.com/coder/websocket"
	gorillaws "github.com/gorilla/websocket"
)

// GorillaEcho is a gorilla/websocket echo server as its examples write
// one: the default Upgrader (which reuses net/http's 4 KiB read and write
// buffers of the hijacked connection), no read limit, ReadMessage then
// WriteMessage. The memory benchmark (server=gorilla) and the conformance
// run both serve it, so the two describe the same server.
func GorillaEcho(w http.ResponseWriter, r *http.Request) {
	c, err := gorillaUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		mt, p, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(mt, p); err != nil {
			return
		}
	}
}

// gorillaUpgrader is GorillaEcho's Upgrader: the zero value, shared, as a
// server keeps one.
var gorillaUpgrader gorillaws.Upgrader

// CoderEcho is coder/websocket's Read/Write echo loop, with compression
// off (the conformance suite negotiates no extension) and a 32 MiB read
// limit (its default, 32 KiB, is below the suite's 16 MiB messages).
func CoderEcho(w http.ResponseWriter, r *http.Request) {
	c, err := coderws.Accept(w, r, &coderws.AcceptOptions{CompressionMode: coderws.CompressionDisabled})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(32 << 20)
	ctx := context.Background()
	for {
		typ, p, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, p); err != nil {
			return
		}
	}
}
