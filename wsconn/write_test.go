package wsconn

import (
	"bytes"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// writeSyscalls is the number of write system calls (write, writev, ...)
// this process has made, from /proc/self/io.
func writeSyscalls(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/io")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no syscw in /proc/self/io")
	return 0
}

// TestWriteOneSyscall backs the claim that header and payload leave in one
// system call, copied together (a payload of up to smallFrame bytes) or
// vectored: n messages written with FrameWriter cost about n write system
// calls on a TCP connection, where writing the header and the payload
// separately (as ws.WriteFrame does) costs at least 2n.
func TestWriteOneSyscall(t *testing.T) {
	if _, err := os.Stat("/proc/self/io"); err != nil {
		t.Skip("needs /proc/self/io (Linux)")
	}
	c, done := wstest.TCPPeer(t, func(sc net.Conn) { _, _ = io.Copy(io.Discard, sc) })
	defer done()

	const n = 300
	for _, size := range []int{16, 1024} {
		p := bytes.Repeat([]byte("s"), size)
		var fw FrameWriter
		before := writeSyscalls(t)
		for range n {
			require.NoError(t, fw.WriteMessage(c, ws.OpBinary, p))
		}
		one := writeSyscalls(t) - before

		before = writeSyscalls(t)
		for range n {
			require.NoError(t, ws.WriteHeader(c, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: int64(len(p))}))
			_, err := c.Write(p)
			require.NoError(t, err)
		}
		separate := writeSyscalls(t) - before

		t.Logf("%d messages of %d bytes: %d write syscalls with FrameWriter, %d with header and payload written apart", n, size, one, separate)
		require.GreaterOrEqual(t, separate, 2*n, "control: two writes per message must show as two syscalls")
		require.Less(t, one, n+n/2, "FrameWriter should make one write or writev per message of %d bytes", size)
	}
}

func TestWriteClose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   ws.StatusCode
		reason string
		body   string // the close payload expected
	}{
		{"code and reason", ws.StatusGoingAway, "bye", "\x03\xe9bye"},
		{"no status", ws.StatusNoStatusRcvd, "ignored", ""},
		{"long ascii cut to 123", ws.StatusNormalClosure, strings.Repeat("a", 200), "\x03\xe8" + strings.Repeat("a", 123)},
		// 123 bytes would end inside the 62nd "é": the reason stops before it.
		{"long utf8 cut at a boundary", ws.StatusNormalClosure, strings.Repeat("é", 100), "\x03\xe8" + strings.Repeat("é", 61)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var fw FrameWriter
			require.NoError(t, fw.WriteClose(&out, tc.code, tc.reason))
			fs := wstest.ServerFrames(t, out.Bytes())
			require.Len(t, fs, 1)
			require.Equal(t, ws.OpClose, fs[0].Header.OpCode)
			require.True(t, fs[0].Header.Fin)
			require.Equal(t, tc.body, string(fs[0].Payload))
			if len(tc.body) > 2 {
				_, _, ce := parseClose(fs[0].Payload)
				require.Nil(t, ce, "a peer accepts the close frame")
			}
		})
	}
}

// BenchmarkWriteCrossover finds where copying header and payload into one
// buffer for one write stops paying against leaving them in place for a
// vectored write, on two sinks. sink=devnull: write(2) of the copy against
// writev(2) of two iovecs on /dev/null, where the kernel takes the bytes
// and does nothing else, so that what is left is what differs between the
// two (on a socket the kernel's own copy of the bytes is the same either
// way and would hide the difference). sink=memory: one Write of the copy
// against net.Buffers.WriteTo, FrameWriter's vectored path, which on a
// writer that is not a socket (a bufio.Writer, a server's write buffer)
// makes one Write per part. Run
//
//	go test -run '^$' -bench 'BenchmarkWriteCrossover' -count 6 ./wsconn/ | go tool benchstat -col /mode -
//
// to see the crossover on a machine; FrameWriter copies payloads up to
// smallFrame bytes. Besides ns/op it reports cpu-ns/op, the CPU time of the
// benchmark's thread (user and system) per write: on a machine shared with
// other work, time spent waiting for a CPU inflates ns/op but not that.
func BenchmarkWriteCrossover(b *testing.B) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	var mem io.Writer = &countSink{}
	for _, sink := range []string{"devnull", "memory"} {
		b.Run("sink="+sink, func(b *testing.B) {
			for _, mode := range []string{"copy", "writev"} {
				b.Run("mode="+mode, func(b *testing.B) {
					for _, size := range []int{16, 128, 256, 512, 1024, 2048, 4096} {
						b.Run("size="+strconv.Itoa(size), func(b *testing.B) {
							p := bytes.Repeat([]byte("w"), size)
							hdr := make([]byte, ws.MaxHeaderSize)
							hdr = hdr[:putHeader(hdr, ws.Header{Fin: true, OpCode: ws.OpBinary}, size)]
							frame := make([]byte, 0, ws.MaxHeaderSize+size)
							// Held outside the loop as FrameWriter holds them: a
							// net.Buffers made in the loop escapes (WriteTo
							// consumes it through a pointer) and allocates.
							v := &struct {
								vec  [2][]byte
								bufs net.Buffers
							}{}
							b.SetBytes(int64(size))
							b.ReportAllocs()
							runtime.LockOSThread()
							defer runtime.UnlockOSThread()
							cpu0 := threadCPU(b)
							for b.Loop() {
								var err error
								v.vec = [2][]byte{hdr, p}
								switch {
								case mode == "copy" && sink == "devnull":
									frame = append(append(frame[:0], hdr...), p...)
									_, err = unix.Write(fd, frame)
								case mode == "copy":
									frame = append(append(frame[:0], hdr...), p...)
									_, err = mem.Write(frame)
								case sink == "devnull":
									_, err = unix.Writev(fd, v.vec[:])
								default:
									v.bufs = v.vec[:]
									_, err = v.bufs.WriteTo(mem)
								}
								if err != nil {
									b.Fatal(err)
								}
							}
							b.ReportMetric(float64(threadCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
						})
					}
				})
			}
		})
	}
}

// countSink is an io.Writer that counts and drops what it is given.
type countSink struct{ n int64 }

func (c *countSink) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// threadCPU is the CPU time, user and system, the calling thread has used.
func threadCPU(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
