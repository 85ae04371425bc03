package wsconn

import (
	"bufio"
	"io"

	"github.com/gobwas/ws"
)

// DefaultReadBuffer is the size a FrameReader made with size 0 starts
// with: messages up to about this size are read with one read system call
// for many of them and handed to the handler where they lie.
const DefaultReadBuffer = 4096

// MaxGrownReadBuffer is the size up to which a FrameReader's buffer grows
// while reads fill it (see FrameReader).
const MaxGrownReadBuffer = 16 << 10

// minReadBuffer is the smallest FrameReader buffer: room for the largest
// frame header and a little more.
const minReadBuffer = 16

// FrameReader reads a connection through a buffer of its own, like a
// bufio.Reader, for MessageReader.ServeFrom and ReadMessageFrom, which
// parse each frame where it lies in the buffer and hand a frame held whole
// there to the handler without copying it out. Against a bufio.Reader
// (ServeBuffered) it saves what a profile of the 1 KiB read showed bufio
// costing per message: a Peek and a Discard (two calls with their checks)
// and some of the compaction, the slide of the buffered bytes to the front
// before each read, which it does only when the frame being read does not
// fit behind them.
//
// The buffer starts at the size given and doubles, up to
// MaxGrownReadBuffer, when a frame it holds in part (one that fits the
// buffer, held for the whole-frame path) must be moved to the front while
// the last read filled all the space it was given: the source had more to
// give, so larger reads will take fewer system calls, and the compaction
// costs less (a frame of f bytes cut by the end of a buffer of b bytes is
// moved once per about b bytes read: about f²/2b bytes copied per
// message). A connection that never fills its buffer, an idle one or one
// of small messages at a low rate, keeps the size it started with, and so
// does one of messages larger than the buffer, which the general path
// reads straight into the message buffer (a larger buffer would only copy
// more of each twice); one that grew keeps the larger buffer until it is
// dropped. BenchmarkFrameReaderSize measures the sizes.
//
// It also has the bufio.Reader methods the frame path uses (Read, Peek,
// Discard, Buffered, Size), with their semantics, so it can be handed to
// ReadFrame or anything else that reads an io.Reader. It is not safe for
// concurrent use.
type FrameReader struct {
	src    io.Reader
	buf    []byte
	r, w   int // buffered bytes are buf[r:w]
	err    error
	grow   bool // the last read filled all the space it was given
	maxBuf int  // the buffer grows up to this size
}

// NewFrameReader returns a FrameReader reading src through a buffer of
// size bytes to start with: DefaultReadBuffer if size is 0 or less, 16 if
// it is less than that.
func NewFrameReader(src io.Reader, size int) *FrameReader {
	if size <= 0 {
		size = DefaultReadBuffer
	}
	size = max(size, minReadBuffer)
	return &FrameReader{src: src, buf: make([]byte, size), maxBuf: max(size, MaxGrownReadBuffer)}
}

// Reset drops the buffered bytes and any pending error and makes fr read
// from src, keeping its buffer.
func (fr *FrameReader) Reset(src io.Reader) {
	*fr = FrameReader{src: src, buf: fr.buf, maxBuf: fr.maxBuf}
}

// Size is the size of the buffer in bytes.
func (fr *FrameReader) Size() int { return len(fr.buf) }

// Buffered is the number of bytes that can be read without reading src.
func (fr *FrameReader) Buffered() int { return fr.w - fr.r }

// maxEmptyReads is how many reads in a row may return nothing and no error
// before fill gives up with io.ErrNoProgress (bufio's figure).
const maxEmptyReads = 100

// fill reads src once into the buffer, for a reader that wants want bytes
// buffered. It first moves the buffered bytes to the front if fewer than
// want bytes from the first buffered one fit in the buffer (the frame being
// read needs room) or nothing is buffered (a free move); otherwise it reads
// into the space behind them. If the bytes must move for a frame (want is
// more than a header) and the last read filled its space, they move to
// the front of a buffer twice the size, up to maxBuf. The buffer must not
// be full.
func (fr *FrameReader) fill(want int) {
	move := fr.r > 0 && (fr.r == fr.w || fr.r+want > len(fr.buf))
	switch {
	case move && fr.grow && want > ws.MaxHeaderSize && len(fr.buf) < fr.maxBuf:
		buf := make([]byte, min(2*len(fr.buf), fr.maxBuf))
		fr.w = copy(buf, fr.buf[fr.r:fr.w])
		fr.r, fr.buf = 0, buf
	case move:
		fr.w = copy(fr.buf, fr.buf[fr.r:fr.w])
		fr.r = 0
	}
	for range maxEmptyReads {
		space := fr.buf[fr.w:]
		n, err := fr.src.Read(space)
		if n < 0 || n > len(space) {
			panic("wsconn: FrameReader's source returned an impossible count")
		}
		fr.w += n
		fr.grow = n == len(space)
		if err != nil {
			fr.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	fr.err = io.ErrNoProgress
}

// readErr returns the pending read error and clears it.
func (fr *FrameReader) readErr() error {
	err := fr.err
	fr.err = nil
	return err
}

// Read reads into p as bufio.Reader.Read does: the buffered bytes if any,
// else one read of src, straight into p when p is at least as large as the
// buffer.
func (fr *FrameReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		if fr.Buffered() > 0 {
			return 0, nil
		}
		return 0, fr.readErr()
	}
	if fr.r == fr.w {
		if fr.err != nil {
			return 0, fr.readErr()
		}
		if len(p) >= len(fr.buf) {
			n, err := fr.src.Read(p)
			if n < 0 || n > len(p) {
				panic("wsconn: FrameReader's source returned an impossible count")
			}
			return n, err
		}
		// One read, as bufio does: fill would retry an empty one.
		n, err := fr.src.Read(fr.buf)
		if n < 0 || n > len(fr.buf) {
			panic("wsconn: FrameReader's source returned an impossible count")
		}
		fr.r, fr.w, fr.err, fr.grow = 0, n, err, n == len(fr.buf)
		if n == 0 {
			return 0, fr.readErr()
		}
	}
	n := copy(p, fr.buf[fr.r:fr.w])
	fr.r += n
	return n, nil
}

// Peek returns the next n bytes without consuming them, as
// bufio.Reader.Peek does: valid until the next read; fewer than n only with
// an error, bufio.ErrBufferFull if n is larger than the buffer.
func (fr *FrameReader) Peek(n int) ([]byte, error) {
	if n < 0 {
		return nil, bufio.ErrNegativeCount
	}
	for fr.w-fr.r < n && fr.w-fr.r < len(fr.buf) && fr.err == nil {
		fr.fill(n)
	}
	if n > len(fr.buf) {
		return fr.buf[fr.r:fr.w], bufio.ErrBufferFull
	}
	var err error
	if avail := fr.w - fr.r; avail < n {
		n = avail
		if err = fr.readErr(); err == nil {
			err = bufio.ErrBufferFull
		}
	}
	return fr.buf[fr.r : fr.r+n], err
}

// Discard skips the next n bytes, as bufio.Reader.Discard does, and
// returns how many it skipped.
func (fr *FrameReader) Discard(n int) (int, error) {
	if n < 0 {
		return 0, bufio.ErrNegativeCount
	}
	remain := n
	for {
		skip := min(fr.w-fr.r, remain)
		fr.r += skip
		if remain -= skip; remain == 0 {
			return n, nil
		}
		if fr.err != nil {
			return n - remain, fr.readErr()
		}
		fr.fill(1) // nothing is buffered: a free move, and a full read
	}
}
