//go:build linux

package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// epoll is one epoll instance plus an eventfd that wakes its waiter.
//
// Connections are registered with EPOLLONESHOT: once an event is reported
// for a descriptor it stays disarmed until rearm, so exactly one worker owns
// a connection between an event and its rearm, whatever the event mix. The
// descriptors come from the reactor's own accept4, so Go's own netpoller
// does not watch them.
//
// Each registration carries the descriptor and a generation number in the
// 64-bit event data, so an event that was already queued for a descriptor
// that has since been closed and reused by a new connection is recognised
// as stale and dropped.
type epoll struct {
	fd   int
	wake int // eventfd, registered level-triggered with data fd=evWake
}

// Event data of the two descriptors that are not connections.
const (
	evWake     = -1 // the eventfd
	evListener = -2 // the listener (reactor.lfd), level-triggered
)

const (
	evRead   = unix.EPOLLIN | unix.EPOLLRDHUP
	evWrite  = unix.EPOLLOUT
	evOnce   = unix.EPOLLONESHOT
	evHangup = unix.EPOLLHUP | unix.EPOLLERR | unix.EPOLLRDHUP
)

func newEpoll() (*epoll, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("wsconn/server: epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("wsconn/server: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: evWake}
	if err := unix.EpollCtl(fd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(wake)
		unix.Close(fd)
		return nil, fmt.Errorf("wsconn/server: epoll_ctl add eventfd: %w", err)
	}
	return &epoll{fd: fd, wake: wake}, nil
}

// add registers fd for the events in mask, one-shot.
func (e *epoll) add(fd int, gen int32, mask uint32) error {
	ev := unix.EpollEvent{Events: mask | evOnce, Fd: int32(fd), Pad: gen}
	return os.NewSyscallError("epoll_ctl add", epollCtlRaw(e.fd, unix.EPOLL_CTL_ADD, fd, &ev))
}

// rearm re-enables a disarmed (or changes an armed) one-shot registration.
func (e *epoll) rearm(fd int, gen int32, mask uint32) error {
	ev := unix.EpollEvent{Events: mask | evOnce, Fd: int32(fd), Pad: gen}
	return os.NewSyscallError("epoll_ctl mod", epollCtlRaw(e.fd, unix.EPOLL_CTL_MOD, fd, &ev))
}

// del removes fd; it must be called before fd is closed, so a reused
// descriptor number never inherits the registration.
func (e *epoll) del(fd int) error {
	var ev unix.EpollEvent // ignored, but kernels before 2.6.9 wanted one
	err := epollCtlRaw(e.fd, unix.EPOLL_CTL_DEL, fd, &ev)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EBADF) {
		return nil
	}
	return os.NewSyscallError("epoll_ctl del", err)
}

// wait fills events and returns how many are valid. It retries on EINTR
// and returns 0 at timeout (msec < 0 waits for ever). A wake-up through
// the eventfd is reported as an event with Fd evWake.
func (e *epoll) wait(events []unix.EpollEvent, msec int) (int, error) {
	for {
		n, err := unix.EpollWait(e.fd, events, msec)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("epoll_wait", err)
		}
		return n, nil
	}
}

// signal wakes a goroutine blocked in wait.
func (e *epoll) signal() {
	var one = [8]byte{1}
	_, _ = unix.Write(e.wake, one[:])
}

// drainWake resets the eventfd counter after a wake-up.
func (e *epoll) drainWake() {
	var buf [8]byte
	_, _ = unix.Read(e.wake, buf[:])
}

func (e *epoll) close() error {
	err1 := unix.Close(e.wake)
	err2 := unix.Close(e.fd)
	return errors.Join(err1, err2)
}

// listenerFD returns a close-on-exec, non-blocking duplicate of ln's
// descriptor, for the reactor to accept on with accept4. Closing ln (as
// Shutdown does) does not close the duplicate: stopAccepting does.
func listenerFD(ln net.Listener) (int, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("wsconn/server: the reactor accepts on the listener's descriptor; %T has none (use a *net.TCPListener or *net.UnixListener)", ln)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("wsconn/server: listener: %w", err)
	}
	fd, derr := -1, error(nil)
	if err := raw.Control(func(f uintptr) {
		fd, derr = fcntlRaw(int(f), unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, fmt.Errorf("wsconn/server: listener: %w", err)
	}
	if derr != nil {
		return -1, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", derr)
	}
	// The duplicate shares the file status flags; a listener from Go's net
	// package is already non-blocking.
	fl, err := fcntlRaw(fd, unix.F_GETFL, 0)
	if err == nil && fl&unix.O_NONBLOCK == 0 {
		_, err = fcntlRaw(fd, unix.F_SETFL, fl|unix.O_NONBLOCK)
	}
	if err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl O_NONBLOCK", err)
	}
	return fd, nil
}

// fcntlRaw and epollCtlRaw make system calls that never block without
// telling the scheduler (RawSyscall), as the runtime does for its own
// epoll_ctl. Through Syscall, each would let the scheduler hand the
// goroutine's P to another thread if the call is slow to return on a busy
// machine; with thousands of connections registering, that starts dozens
// of OS threads the runtime never ends, each with its own stacks. accept4
// on a non-blocking listener never blocks either.
func fcntlRaw(fd, cmd, arg int) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// accept4Raw accepts a connection on the non-blocking listener lfd as a
// non-blocking, close-on-exec socket, without asking for its address.
func accept4Raw(lfd int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func epollCtlRaw(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
