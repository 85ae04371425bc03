//go:build linux

package server

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// KernelTLS reports whether this kernel offers kernel TLS (kTLS) to a TCP
// socket: nil if setsockopt(TCP_ULP, "tls") succeeds on a loopback
// connection, else that error (ENOENT where the kernel has no tls module).
// kTLS would let the reactor hand the keys it takes from the handshake to
// the kernel, which then encrypts and decrypts in the socket; the reactor
// runs the record layer itself instead (tlsrecord.go), which works on
// every kernel. The benchmarks print the answer as a "ktls:" line.
func KernelTLS() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if c2 := <-accepted; c2 != nil {
		defer c2.Close()
	}
	if err != nil {
		return err
	}
	defer c.Close()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.SOL_TCP, unix.TCP_ULP, "tls")
	}); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError(`setsockopt TCP_ULP "tls"`, serr)
	}
	return nil
}
