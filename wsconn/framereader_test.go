package wsconn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/stretchr/testify/require"
)

// TestFrameReaderReads runs random sequences of Read, Peek and Discard on
// FrameReaders of several sizes over a source fed whole, in halves or a
// byte at a time, and checks each answer against the position in the
// source: what bufio.Reader promises for these methods (a Read returns
// some of the next bytes, a Peek of n up to the buffer's size returns the
// next n unless the source ends first, a Discard skips n), so the general
// path reads through a FrameReader as it does through a bufio.Reader. The
// buffer grows on the way when reads fill it, and never past
// MaxGrownReadBuffer.
func TestFrameReaderReads(t *testing.T) {
	data := make([]byte, 20000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, size := range []int{16, 100, 4096} {
		for si, src := range []func(io.Reader) io.Reader{
			func(r io.Reader) io.Reader { return r },
			iotest.HalfReader,
			iotest.OneByteReader,
		} {
			rng := rand.New(rand.NewPCG(uint64(size), uint64(si)))
			fr := NewFrameReader(src(bytes.NewReader(data)), size)
			require.Equal(t, size, fr.Size())
			off := 0 // bytes of data consumed
			for step := 0; off < len(data); step++ {
				n := rng.IntN(2 * size)
				msg := fmt.Sprintf("size %d, source %d, step %d at %d", size, si, step, off)
				rest := data[off:]
				switch rng.IntN(3) {
				case 0:
					p := make([]byte, n)
					k, err := fr.Read(p)
					require.NoError(t, err, "Read(%d): %s", n, msg)
					require.True(t, k > 0 || n == 0, "Read(%d) returned nothing: %s", n, msg)
					require.Equal(t, rest[:k], p[:k], "Read(%d): %s", n, msg)
					off += k
				case 1:
					got, err := fr.Peek(n)
					want := rest[:min(n, len(rest))]
					switch {
					case n > fr.Size():
						require.ErrorIs(t, err, bufio.ErrBufferFull, "Peek(%d): %s", n, msg)
						want = rest[:len(got)]
					case n > len(rest):
						require.ErrorIs(t, err, io.EOF, "Peek(%d): %s", n, msg)
					default:
						require.NoError(t, err, "Peek(%d): %s", n, msg)
					}
					require.Equal(t, want, got, "Peek(%d): %s", n, msg)
					require.GreaterOrEqual(t, fr.Buffered(), len(got))
				default:
					k, err := fr.Discard(n)
					require.Equal(t, min(n, len(rest)), k, "Discard(%d): %s", n, msg)
					if n > len(rest) {
						require.ErrorIs(t, err, io.EOF, "Discard(%d): %s", n, msg)
					} else {
						require.NoError(t, err, "Discard(%d): %s", n, msg)
					}
					off += k
				}
			}
			require.LessOrEqual(t, fr.Size(), MaxGrownReadBuffer)
			k, err := fr.Read(make([]byte, 10))
			require.Zero(t, k)
			require.ErrorIs(t, err, io.EOF)
		}
	}
	fr := NewFrameReader(bytes.NewReader(nil), 0)
	require.Equal(t, DefaultReadBuffer, fr.Size(), "size 0 is the default")
	require.Equal(t, minReadBuffer, NewFrameReader(nil, 3).Size(), "sizes below the minimum are raised to it")
	_, err := fr.Peek(-1)
	require.ErrorIs(t, err, bufio.ErrNegativeCount)
	_, err = fr.Discard(-1)
	require.ErrorIs(t, err, bufio.ErrNegativeCount)
}

// emptyReader returns nothing and no error, for ever.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// TestFrameReaderNoProgress: a source that returns nothing and no error is
// given up on with io.ErrNoProgress instead of being read for ever, by the
// fast path and the general path alike.
func TestFrameReaderNoProgress(t *testing.T) {
	var m MessageReader
	_, _, err := m.ReadMessageFrom(NewFrameReader(emptyReader{}, 0), io.Discard, nil)
	require.ErrorIs(t, err, io.ErrNoProgress)
	h := HandlerFunc(func(io.Writer, ws.OpCode, []byte) error { return nil })
	_, err = m.ServeFrom(NewFrameReader(emptyReader{}, 0), io.Discard, h, nil)
	require.ErrorIs(t, err, io.ErrNoProgress)
}

// TestServeFromCutFrames serves a stream whose frames are cut by the end of
// the reader's buffer at every offset (sizes around the buffer's), through
// a source that returns a few bytes per Read, and requires every message
// whole and in order, each read once into the buffer: a frame cut at the
// end is completed by moving it to the front, and one that is larger than
// the buffer goes to the message buffer.
func TestServeFromCutFrames(t *testing.T) {
	const size = 64
	var frames [][]byte
	var want [][]byte
	for n := range 2 * size {
		p := bytes.Repeat([]byte{byte(n)}, n)
		op := ws.OpBinary
		if n%3 == 0 {
			op = ws.OpText
		}
		frames = append(frames, wstest.ClientFrame(op, true, p))
		want = append(want, append([]byte{byte(op)}, p...))
	}
	stream := bytes.Join(frames, nil)
	for _, src := range []func(io.Reader) io.Reader{
		func(r io.Reader) io.Reader { return r },
		iotest.OneByteReader,
		iotest.HalfReader,
	} {
		fr := NewFrameReader(src(bytes.NewReader(stream)), size)
		var m MessageReader
		var got [][]byte
		h := HandlerFunc(func(_ io.Writer, op ws.OpCode, p []byte) error {
			got = append(got, append([]byte{byte(op)}, p...))
			return nil
		})
		var buf []byte
		var err error
		for err == nil {
			buf, err = m.ServeFrom(fr, io.Discard, h, buf)
		}
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, want, got)
	}
}

// TestReadMessageFrom reads the same stream with ReadMessageFrom as with
// ReadMessage: the same messages, copied into the caller's buffer (so they
// survive the next read), and the same end.
func TestReadMessageFrom(t *testing.T) {
	stream := bytes.Join([][]byte{
		wstest.ClientFrame(ws.OpText, true, []byte("small")),
		wstest.ClientFrame(ws.OpBinary, true, bytes.Repeat([]byte("b"), 3000)),
		wstest.ClientFrame(ws.OpText, false, []byte("frag")),
		wstest.ClientFrame(ws.OpPing, true, []byte("p")),
		wstest.ClientFrame(ws.OpContinuation, true, []byte("ment")),
		wstest.ClientFrame(ws.OpText, true, []byte("bad \xff")),
	}, nil)
	var m MessageReader
	var want [][]byte
	c := newConn(stream)
	var err error
	for {
		var msg []byte
		var op ws.OpCode
		if op, msg, err = m.ReadMessage(c, nil); err != nil {
			break
		}
		want = append(want, append([]byte{byte(op)}, msg...))
	}
	fc := newConn(stream)
	fr := NewFrameReader(fc.in, 1024)
	var got [][]byte
	var ferr error
	var buf []byte
	for {
		var msg []byte
		var op ws.OpCode
		if op, msg, ferr = m.ReadMessageFrom(fr, &fc.out, buf); ferr != nil {
			break
		}
		got = append(got, append([]byte{byte(op)}, msg...))
		buf = msg
	}
	require.Equal(t, want, got)
	var ce *CloseError
	require.True(t, errors.As(ferr, &ce), "%v", ferr)
	require.Equal(t, ws.StatusInvalidFramePayloadData, ce.Code)
	require.True(t, sameEnd(err, ferr), "ReadMessageFrom ended with %v, ReadMessage with %v", ferr, err)
	require.Equal(t, c.out.Bytes(), fc.out.Bytes(), "the same pong and close frame written")
}

// BenchmarkFrameReaderSize serves a looping stream of size-byte binary
// messages: with ServeFrom through a FrameReader whose buffer is held at
// 4, 16 and 64 KiB, and one that starts at 4 KiB and grows as it does
// (buf=grown, to MaxGrownReadBuffer here, where every read fills the
// buffer); and with ServeBuffered through a 4 KiB bufio.Reader, the path
// ServeFrom replaces. A frame cut by the end of the buffer is moved to the
// front before the next read (compaction): about size²/(2·buf) bytes
// copied per message on average, size²/buf at worst, which this stream is
// close to at size=1024 and 4 KiB (each read leaves the next frame 1000 of
// its 1032 bytes in). Run
//
//	go test -run '^$' -bench 'BenchmarkFrameReaderSize' -count 6 ./wsconn/ | go tool benchstat -col /buf -
//
// to see what the buffer size buys at each message size.
func BenchmarkFrameReaderSize(b *testing.B) {
	for _, size := range []int{16, 1024, 4000} {
		frame := wstest.ClientFrame(ws.OpBinary, true, bytes.Repeat([]byte("s"), size))
		stream := bytes.Repeat(frame, max(1, (1<<20)/len(frame)))
		for _, bs := range []string{"bufio-4096", "4096", "16384", "65536", "grown"} {
			b.Run(fmt.Sprintf("size=%d/buf=%s", size, bs), func(b *testing.B) {
				src := &loopReader{b: stream}
				var m MessageReader
				var buf []byte
				h := &sizeCheck{size: size}
				var serve func() ([]byte, error)
				switch bs {
				case "bufio-4096":
					br := bufio.NewReaderSize(src, 4096)
					serve = func() ([]byte, error) { return m.ServeBuffered(br, io.Discard, h, buf) }
				case "grown":
					fr := NewFrameReader(src, 0)
					serve = func() ([]byte, error) { return m.ServeFrom(fr, io.Discard, h, buf) }
				default:
					n, err := strconv.Atoi(bs)
					require.NoError(b, err)
					fr := NewFrameReader(src, n)
					fr.maxBuf = n
					serve = func() ([]byte, error) { return m.ServeFrom(fr, io.Discard, h, buf) }
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if buf, err = serve(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// sizeCheck is a Handler that fails a message that is not of size bytes.
type sizeCheck struct{ size int }

func (c *sizeCheck) HandleMessage(_ io.Writer, _ ws.OpCode, p []byte) error {
	if len(p) != c.size {
		return fmt.Errorf("message of %d bytes, want %d", len(p), c.size)
	}
	return nil
}

// loopReader reads b over and over; b holds whole frames, so the stream
// never breaks one.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if l.off == len(l.b) {
		l.off = 0
	}
	n := copy(p, l.b[l.off:])
	l.off += n
	return n, nil
}

// TestFrameReaderGrows: a FrameReader's buffer doubles, up to
// MaxGrownReadBuffer, while reads fill it and frames it holds in part must
// be moved; it stays as it is when reads do not fill it, when messages are
// larger than it (read past it, not through it) and when it starts larger.
func TestFrameReaderGrows(t *testing.T) {
	stream := func(size int) []byte {
		return bytes.Repeat(wstest.ClientFrame(ws.OpBinary, true, bytes.Repeat([]byte("g"), size)), 100)
	}
	for _, tc := range []struct {
		name  string
		src   io.Reader
		size  int // of each message
		start int
		want  int
	}{
		{"reads fill it", &loopReader{b: stream(1024)}, 1024, 0, MaxGrownReadBuffer},
		{"a byte per read", iotest.OneByteReader(&loopReader{b: stream(1024)}), 1024, 0, DefaultReadBuffer},
		{"messages larger than it", &loopReader{b: stream(70000)}, 70000, 0, DefaultReadBuffer},
		{"larger to start with", &loopReader{b: stream(1024)}, 1024, 2 * MaxGrownReadBuffer, 2 * MaxGrownReadBuffer},
	} {
		fr := NewFrameReader(tc.src, tc.start)
		var m MessageReader
		h := &sizeCheck{size: tc.size}
		var buf []byte
		for range 100 {
			var err error
			buf, err = m.ServeFrom(fr, io.Discard, h, buf)
			require.NoError(t, err, tc.name)
		}
		require.Equal(t, tc.want, fr.Size(), tc.name)
	}
}

// TestWholeFrame: WholeFrame takes a whole common message where it lies
// and leaves everything else, unchanged, to the general path.
func TestWholeFrame(t *testing.T) {
	m := MessageReader{Limits: Limits{MaxFrame: 100, MaxMessage: 100}}
	text := wstest.ClientFrame(ws.OpText, true, []byte("héllo"))
	big := wstest.ClientFrame(ws.OpBinary, true, bytes.Repeat([]byte("b"), 300))
	mb := MessageReader{}
	op, p, n := mb.WholeFrame(append(slices.Clone(big), text...))
	require.Equal(t, ws.OpBinary, op)
	require.Equal(t, bytes.Repeat([]byte("b"), 300), p)
	require.Equal(t, len(big), n, "a 16-bit length, and the next frame left alone")
	op, p, n = m.WholeFrame(slices.Clone(text))
	require.Equal(t, ws.OpText, op)
	require.Equal(t, "héllo", string(p))
	require.Equal(t, len(text), n)
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"cut", text[:len(text)-1]},
		{"over MaxFrame", big},
		{"ping", wstest.ClientFrame(ws.OpPing, true, []byte("p"))},
		{"fragment", wstest.ClientFrame(ws.OpBinary, false, []byte("f"))},
		{"continuation", wstest.ClientFrame(ws.OpContinuation, true, []byte("c"))},
		{"unmasked", wstest.RawFrame(ws.Header{Fin: true, OpCode: ws.OpBinary}, []byte("u"))},
		{"reserved bits", wstest.RawFrame(ws.Header{Fin: true, Rsv: 2, OpCode: ws.OpBinary, Masked: true}, []byte("r"))},
		{"invalid text", wstest.ClientFrame(ws.OpText, true, []byte("a\xc0\xafb"))},
		{"empty", nil},
	} {
		b := slices.Clone(tc.frame)
		op, p, n := m.WholeFrame(b)
		require.Zero(t, n, tc.name)
		require.Zero(t, op, tc.name)
		require.Nil(t, p, tc.name)
		require.Equal(t, tc.frame, b, "%s: bytes left as they were", tc.name)
	}
}
