//go:build linux

package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn"
	"github.com/rtlab/rtlab/wsconn/internal/proto"
	"golang.org/x/sys/unix"
)

// maxReadsPerEvent bounds the reads one readiness event makes, so that a
// peer that never stops sending cannot keep a worker to itself: the
// descriptor is level-triggered and reported again at once.
const maxReadsPerEvent = 64

// inSlack is added to twice MaxMessage to bound the input buffer of one
// unit (payload, frame headers and control frames between fragments);
// past it the reactor fails the connection with 1009 rather than buffer
// more: without a bound a peer could hold a message open and send pings
// between its fragments forever.
const inSlack = 64 << 10

// readIn reads what the socket has (never waiting for more), and runs the
// frame path over every whole unit buffered: a lone ping or pong, or a
// message with any control frames between its fragments. What is left, the
// start of a unit still on its way, stays in c.in for the next readiness
// event; the worker returns instead of waiting for the rest, and the sweep
// closes the connection if the unit is not complete ReadTimeout after its
// first bytes arrived (c.partSince). It returns the error that ends the
// connection, as the frame path does.
func (r *reactor) readIn(c *srvConn, sc *reactorScratch) error {
	in := c.in
	if in == nil {
		in = r.inPool.Get().(*inBuf)
		if in.b == nil {
			in.b = make([]byte, 0, r.s.o.ReadBufferSize)
		}
		c.in = in
	}
	defer func() {
		if c.in != nil && len(c.in.b) == 0 {
			r.dropIn(c) // an idle connection holds no buffer
		}
	}()
	limit := 2*int(r.s.o.Limits.WithDefaults().MaxMessage) + inSlack
	for range maxReadsPerEvent {
		if len(in.b) == cap(in.b) {
			if len(in.b) >= limit {
				return r.s.failed(&sc.w, &sc.fw, &wsconn.CloseError{Code: ws.StatusMessageTooBig, Reason: proto.ReasonTooBig})
			}
			in.grow(r.s.o.ReadBufferSize, limit)
		}
		n, rerr := c.read(in.b[len(in.b):cap(in.b)])
		if n > 0 {
			now := time.Now()
			c.lastRead.Store(now.UnixNano())
			if len(in.b) == 0 {
				c.partSince.Store(msStamp(now))
			}
			in.b = in.b[:len(in.b)+n]
			if err := r.units(c, sc, in); err != nil {
				return err
			}
		}
		switch {
		case rerr == errWouldBlock:
			return nil
		case rerr == io.EOF && len(in.b) > 0:
			return io.ErrUnexpectedEOF
		case rerr != nil:
			return rerr
		}
	}
	return nil
}

// units runs the frame path over the whole units at the start of in.b and
// keeps the rest at its start.
func (r *reactor) units(c *srvConn, sc *reactorScratch, in *inBuf) error {
	lim := r.s.o.Limits.WithDefaults()
	done, bad := in.scan(lim)
	if done == 0 {
		return nil
	}
	for off := 0; off < done; {
		n, err := r.wholeFrames(c, sc, in.b[off:done], lim)
		if err != nil {
			return err
		}
		if off += n; off == done {
			break
		}
		// What wholeFrames leaves, the frame path reads from the buffer:
		// the same checks, the same close codes and the same handler calls
		// as from a socket. On bad input it is given all that arrived, and
		// fails where the scan stopped. One unit at a time, so that the
		// frames after it go back to wholeFrames.
		sc.src.Reset(in.b[off:done])
		sc.br.Reset(&sc.src)
		if err := r.s.unit(c, &sc.scratch, &sc.w); err != nil {
			return err
		}
		if sc.w.err != nil {
			return sc.w.err
		}
		off = done - sc.src.Len() - sc.br.Buffered()
	}
	if bad {
		return io.ErrUnexpectedEOF // not reached: the frame path failed
	}
	in.b = in.b[:copy(in.b, in.b[done:])]
	in.pos -= done
	if len(in.b) > 0 {
		c.partSince.Store(msStamp(time.Now()))
	} else {
		c.partSince.Store(0)
	}
	return nil
}

// wholeFrames handles the messages at the start of b that are one final
// text or binary frame each, valid and within the limits, where they lie:
// each header is parsed in place (wsconn.ParseHeader) and each payload
// unmasked in place and handed to the handler, with no copy after the
// socket read. It stops at the first frame that is anything else (a
// control frame, a fragment, a violation), leaving it masked, and returns
// how many bytes it consumed.
func (r *reactor) wholeFrames(c *srvConn, sc *reactorScratch, b []byte, lim wsconn.Limits) (int, error) {
	off := 0
	for off < len(b) {
		h, n, err := wsconn.ParseHeader(b[off:], false)
		if err != nil || !h.Fin || h.OpCode.IsControl() || h.Length > lim.MaxFrame || h.Length > lim.MaxMessage ||
			h.Length > int64(len(b)-off-n) {
			return off, nil
		}
		p := b[off+n : off+n+int(h.Length)]
		ws.Cipher(p, h.Mask, 0)
		if h.OpCode == ws.OpText && !utf8.Valid(p) {
			ws.Cipher(p, h.Mask, 0) // masked again: the frame path fails it
			return off, nil
		}
		off += n + len(p)
		// What Server.unit does with a message the frame path read.
		c.pingSent.Store(0)
		r.s.ctr.msgsIn.Add(1)
		r.s.ctr.bytesIn.Add(uint64(len(p)))
		if c.closeAt.Load() != 0 {
			continue // after our close frame, data is read and dropped
		}
		if err := r.s.h.HandleMessage(&sc.w, h.OpCode, p); err != nil {
			return off, err
		}
		if sc.w.err != nil {
			return off, sc.w.err
		}
	}
	return off, nil
}

// msStamp is t in unix ms truncated to 32 bits, never 0 (which means no
// time): the form of srvConn.partSince.
func msStamp(t time.Time) uint32 { return max(uint32(t.UnixMilli()), 1) }

// msSince is the time from stamp to t, right across the wrap of 32-bit
// milliseconds (every 49 days), for stamps within 24 days either side of t.
func msSince(stamp uint32, t time.Time) time.Duration {
	// The difference as a signed number: a stamp a worker took after t
	// (the sweep reads its clock once, then the stamps one by one) is
	// negative, not 49 days ago.
	return time.Duration(int32(uint32(t.UnixMilli())-stamp)) * time.Millisecond
}

// dropIn gives c's input buffer back to the pool (owner only).
func (r *reactor) dropIn(c *srvConn) {
	in := c.in
	if in == nil {
		return
	}
	c.in = nil
	c.partSince.Store(0)
	in.reset()
	r.inPool.Put(in)
}

// inBuf is the input of a reactor connection while a unit is partly
// received, borrowed from a pool: the bytes from the start of the unit in
// progress and how far scan has got through them, so that each byte is
// scanned once however many reads a message takes.
type inBuf struct {
	b []byte

	pos        int   // bytes of b scanned
	remain     int64 // payload bytes of the current frame not yet scanned
	inFrame    bool  // a header was scanned, its payload not yet all
	last       bool  // the unit ends with the current frame
	text       bool  // the current frame's payload is text
	fragmented bool
	op         ws.OpCode
	msgLen     int64
	mask       [4]byte
	maskOff    int
	utf8       proto.UTF8State

	hr  bytes.Reader
	hdr [ws.MaxHeaderSize]byte
	tmp [256]byte // unmasked text, for the UTF-8 check
}

// reset empties in for the pool, dropping a buffer grown past maxKeptBuf.
func (in *inBuf) reset() {
	b := proto.KeepBuf(in.b)
	*in = inBuf{b: b}
}

// grow gives in.b more room: doubled (at least min bytes), never past
// limit, and, for the last frame of a unit whose header is known, not past
// the end of that frame, so that a buffer follows the bytes that arrive.
func (in *inBuf) grow(minSize, limit int) {
	n := proto.NextCap(cap(in.b), minSize, int64(limit))
	if in.inFrame && in.last && int64(in.pos)+in.remain < int64(n) {
		n = max(in.pos+int(in.remain), len(in.b)+1)
	}
	in.b = proto.Grow(in.b, n)
}

// scan goes on through in.b from in.pos, checking what the frame path
// would check before it needs more bytes: each header (ReadHeader's rules,
// MaxFrame, MaxMessage) and the UTF-8 of text as it arrives. It returns the
// length of the prefix of in.b made of whole units; bad reports input the
// frame path will fail on without needing more of it, and then done is
// all of in.b.
func (in *inBuf) scan(lim wsconn.Limits) (done int, bad bool) {
	b := in.b
	for {
		if !in.inFrame {
			in.hr.Reset(b[in.pos:])
			h, err := ws.ReadHeaderBuffer(&in.hr, in.hdr[:])
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return done, false
			}
			if err != nil || proto.CheckHeader(h, in.fragmented) != "" {
				return len(b), true
			}
			in.pos = len(b) - in.hr.Len()
			in.inFrame, in.remain, in.mask, in.maskOff = true, h.Length, h.Mask, 0
			in.text, in.last = false, false
			switch {
			case h.OpCode == ws.OpClose || (h.OpCode.IsControl() && !in.fragmented):
				in.last = true
			case h.OpCode.IsControl():
			default:
				if h.Length > lim.MaxFrame || in.msgLen+h.Length > lim.MaxMessage {
					return len(b), true
				}
				if !in.fragmented {
					in.op = h.OpCode
				}
				in.msgLen += h.Length
				in.text = in.op == ws.OpText
				in.last = h.Fin
				in.fragmented = !h.Fin
			}
		}
		k := int(min(in.remain, int64(len(b)-in.pos)))
		if in.text && !in.validText(b[in.pos:in.pos+k]) {
			return len(b), true
		}
		in.pos += k
		in.remain -= int64(k)
		if in.remain > 0 {
			return done, false
		}
		in.inFrame = false
		if in.last {
			done = in.pos
			in.fragmented, in.op, in.msgLen, in.utf8 = false, 0, 0, 0
		}
	}
}

// validText feeds the masked text payload p to the message's UTF-8 state
// and reports whether it can still be valid.
func (in *inBuf) validText(p []byte) bool {
	for len(p) > 0 {
		n := copy(in.tmp[:], p)
		ws.Cipher(in.tmp[:n], in.mask, in.maskOff)
		in.maskOff += n
		if in.utf8 = in.utf8.Feed(in.tmp[:n]); in.utf8 == proto.UTF8Invalid {
			return false
		}
		p = p[n:]
	}
	return true
}

// read reads what c's socket has into p, never waiting: through the record
// layer for wss (owner only).
func (c *srvConn) read(p []byte) (int, error) {
	if c.tls == nil {
		return readNB(int(c.fd), p)
	}
	return c.tls.read(p, func(b []byte) (int, error) { return readNB(int(c.fd), b) })
}

// errWouldBlock is readNB's EAGAIN: the socket has nothing more for now.
var errWouldBlock = errors.New("wsconn/server: would block")

// readNB reads a non-blocking descriptor once: io.EOF when the peer has
// closed, errWouldBlock when nothing is there.
func readNB(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		switch {
		case err == nil && n > 0:
			return n, nil
		case err == nil:
			return 0, io.EOF
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, errWouldBlock
		}
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
	}
}
