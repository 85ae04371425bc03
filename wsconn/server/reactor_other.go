//go:build !linux

package server

import (
	"errors"
	"net"
	"runtime"
)

// reactorSupported is false off Linux: the reactor needs epoll, so
// New turns DesignReactor into DesignGoroutine (Server.Design reports
// which one runs). Porting it to kqueue would change only epoll_linux.go.
const reactorSupported = false

func defaultWorkers() int { return max(4, 4*runtime.GOMAXPROCS(0)) }

// reactor is never created off Linux; its methods exist so that the server
// code compiles unchanged.
type reactor struct{}

func newReactor(*Server, net.Listener) (*reactor, error) {
	panic("wsconn/server: no reactor off Linux")
}
func (*reactor) goAway(*srvConn)    {}
func (*reactor) kill(*srvConn)      {}
func (*reactor) stop()              {}
func (*reactor) closeEpoll()        {}
func (*reactor) stopAccepting()     {}
func (*reactor) acceptEnded() error { return nil }

func (*reactor) appendConns(cs []*srvConn) []*srvConn { return cs }

// inBuf is the reactor's partial input; never allocated off Linux.
type inBuf struct{}

// KernelTLS reports errors.ErrUnsupported off Linux: kTLS is Linux's.
func KernelTLS() error { return errors.ErrUnsupported }
