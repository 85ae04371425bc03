package server_test

import (
	"context"
	"fmt"
	"net"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/client"
	"github.com/rtlab/rtlab/wsconn/server"
)

// A reactor echo server on loopback and a Client that connects, sends one
// message, reads its echo and closes; then the server shuts down.
func ExampleNew() {
	srv, err := server.New(server.DesignReactor, wsconn.EchoHandler{}, server.Options{})
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	states := make(chan client.State, 16)
	echoes := make(chan string, 1)
	c, err := client.New("ws://"+ln.Addr().String()+"/", client.Options{
		OnState:   func(t client.Transition) { states <- t.To },
		OnMessage: func(op ws.OpCode, p []byte) { echoes <- string(p) },
	})
	if err != nil {
		panic(err)
	}
	c.Start()
	fmt.Println(<-states, <-states) // Connecting Open
	if err := c.Send(ws.OpText, []byte("hello")); err != nil {
		panic(err)
	}
	fmt.Println("echo:", <-echoes)
	c.Close()
	fmt.Println(<-states, <-states) // Closing Closed

	if err := srv.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(<-served, srv.Stats().Open)
	// Output:
	// Connecting Open
	// echo: hello
	// Closing Closed
	// wsconn/server: server closed 0
}
