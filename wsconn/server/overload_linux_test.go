//go:build linux

package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/child"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// fdLimitedServer is an echo server in a child process whose open-files
// limit leaves room for only a few connections. Its argument is
// "<design> <room>"; it answers "stats" with its Stats.
var fdLimitedServer = child.Register("wsconn/server.fdlimited", func(arg string) int {
	d, roomArg, _ := strings.Cut(arg, " ")
	room, err := strconv.Atoi(roomArg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fdlimited: bad argument:", arg)
		return 2
	}
	s, err := New(Design(d), wsconn.EchoHandler{}, Options{HandshakeTimeout: 2 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	err = limitFDs(s, ln.Addr().String(), room)
	child.Serve(os.Stdin, os.Stdout, ln.Addr().String(), err, func(cmd, _ string) (any, bool, error) {
		if cmd == "stats" {
			return s.Stats(), false, nil
		}
		return nil, false, fmt.Errorf("fdlimited: unknown command %q", cmd)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = errors.Join(err, s.Shutdown(ctx))
	if serr := <-served; !errors.Is(serr, ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
})

// limitFDs waits until the server serves (one connection to itself, upgraded
// and closed: its reserve descriptor, listener and epoll are open by then),
// then sets the process's open-files limit so that room descriptors are
// left.
func limitFDs(s *Server, addr string, room int) error {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	nc, _, _, err := ws.Dial(ctx, "ws://"+addr+"/")
	if err != nil {
		return err
	}
	nc.Close()
	for deadline := time.Now().Add(10 * time.Second); s.Stats().Upgraded != 1 || s.Stats().Open != 0; {
		if time.Now().After(deadline) {
			return fmt.Errorf("fdlimited: the first connection is not closed: %+v", s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	open := map[int]bool{}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil {
			open[fd] = true
		}
	}
	// A new descriptor takes the lowest free number, below the limit: the
	// limit goes just past the room-th free number (descriptors inherited
	// above it stay open and take no room).
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	for fd, free := 0, 0; ; fd++ {
		if !open[fd] {
			if free++; free == room {
				lim.Cur = uint64(fd + 1)
				break
			}
		}
	}
	return unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
}

// TestServerOutOfDescriptors runs a server of each design in a child
// process whose open-files limit leaves room for a few connections, and
// dials more clients than fit, one after another. Every client past the
// limit is answered 503 with Retry-After (on the reserve descriptor), none
// is left hanging and none that got its 101 is reset; once some served
// clients close, as many new ones are served.
func TestServerOutOfDescriptors(t *testing.T) {
	const room, clients, freed = 8, 20, 3
	for _, d := range designs {
		t.Run("design="+string(d), func(t *testing.T) {
			var addr string
			ctl, err := fdLimitedServer.StartCtl(context.Background(), child.Options{Arg: fmt.Sprintf("%s %d", d, room), Timeout: 2 * time.Minute}, &addr)
			require.NoError(t, err)
			t.Cleanup(func() { ctl.Kill() })
			stats := func() Stats {
				var st Stats
				require.NoError(t, ctl.Call("stats", &st))
				return st
			}

			served, refused := dialPeers(t, addr, clients, "1", "file descriptors")
			st := stats()
			t.Logf("design=%s room=%d: %d of %d clients served, %d refused with 503 (out of descriptors); stats %+v", d, room, len(served), clients, refused, st)
			require.NotEmpty(t, served)
			// room, plus the descriptor that listed /proc/self/fd, counted
			// open while the child set its limit.
			require.LessOrEqual(t, len(served), room+1)
			require.Positive(t, refused)
			require.EqualValues(t, refused, st.RefusedNoFDs)
			require.Zero(t, st.RefusedMaxConns)
			require.EqualValues(t, len(served), st.Open)

			for _, p := range served[:freed] {
				closePeer(t, p)
			}
			wstest.WaitFor(t, dialTimeout, "closed connections gone from the server", func() bool {
				return stats().Open == int64(len(served)-freed)
			})
			for i := range freed {
				p := dialPeer(t, addr, clients+i)
				require.NotNil(t, p.nc, "client %d after %d closed: status %d; stats %+v", clients+i, freed, p.status, stats())
			}
			p := dialPeer(t, addr, 2*clients)
			require.Equal(t, http.StatusServiceUnavailable, p.status, "out of descriptors again")
			require.EqualValues(t, refused+1, stats().RefusedNoFDs)
			require.NoError(t, ctl.End())
		})
	}
}
