// Package proto holds the pieces of RFC 6455 that more than one part of
// wsconn needs: the frame path (wsconn), the reactor's input scan
// (wsconn/server), the client (wsconn/client) and the load generator
// (wsconn/load). Each imports it without importing the others; the
// conformance suite (../conformance) imports nothing of it, so that its
// scripts cannot share a bug with the code they check.
package proto

import (
	"encoding/binary"
	"io"

	"github.com/gobwas/ws"
)

// Reasons sent with a close frame when a server fails the connection. They
// are short on purpose: a close payload holds at most 123 bytes of reason.
const (
	ReasonUnmasked        = "client frame not masked"
	ReasonRsv             = "reserved bits set without extension"
	ReasonOpcode          = "reserved opcode"
	ReasonControlLen      = "control frame longer than 125 bytes"
	ReasonControlFrag     = "fragmented control frame"
	ReasonContUnexpected  = "continuation without a started message"
	ReasonContExpected    = "new message inside a fragmented one"
	ReasonTooBig          = "message too big"
	ReasonFrameTooBig     = "frame too big"
	ReasonInvalidUTF8     = "invalid UTF-8 in text message"
	ReasonCloseLen        = "close payload of 1 byte"
	ReasonCloseCode       = "invalid close code"
	ReasonCloseUTF8       = "invalid UTF-8 in close reason"
	ReasonHeaderMalformed = "malformed frame header"
)

// CheckHeader checks a client frame header against the rules RFC 6455 sets
// for a server without extensions: masked, RSV bits zero, a known opcode,
// control frames final and at most 125 bytes, continuation only inside a
// fragmented message (fragmented says whether one is open) and no new data
// frame inside one. It returns the reason of the first rule broken (the
// connection is then failed with 1002), or "" for a valid header.
func CheckHeader(h ws.Header, fragmented bool) string {
	switch {
	case h.Rsv != 0:
		return ReasonRsv
	case h.OpCode.IsReserved():
		return ReasonOpcode
	case !h.Masked:
		return ReasonUnmasked
	case h.OpCode.IsControl() && h.Length > ws.MaxControlFramePayloadSize:
		return ReasonControlLen
	case h.OpCode.IsControl() && !h.Fin:
		return ReasonControlFrag
	case h.OpCode == ws.OpContinuation && !fragmented:
		return ReasonContUnexpected
	case h.OpCode.IsData() && h.OpCode != ws.OpContinuation && fragmented:
		return ReasonContExpected
	}
	return ""
}

// NoEOF turns an EOF inside a frame into io.ErrUnexpectedEOF.
func NoEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// MaxKeptBuf is the largest message buffer a connection keeps for reuse; a
// larger one (after a big message) is dropped so that it does not stay
// pinned by an idle connection.
const MaxKeptBuf = 64 << 10

// KeepBuf returns b emptied for reuse, or nil if it grew past MaxKeptBuf.
func KeepBuf(b []byte) []byte {
	if cap(b) > MaxKeptBuf {
		return nil
	}
	return b[:0]
}

// NextCap is the capacity a buffer of capacity c grows to: doubled (at
// least floor), as append would, but never past limit. Capacity then
// follows the bytes that actually arrive (at most twice them), not a length
// a header declares, and doubling keeps a message of many small fragments
// linear: growing only by each fragment's length would copy the message
// once per fragment.
func NextCap(c, floor int, limit int64) int {
	return int(min(int64(max(2*c, floor)), limit))
}

// Grow returns a copy of buf (same length) with capacity newCap, which must
// be at least len(buf).
func Grow(buf []byte, newCap int) []byte {
	nb := make([]byte, len(buf), newCap)
	copy(nb, buf)
	return nb
}

// AppendClientHeader appends to dst the header of a final, masked client
// frame of type op with an n-byte payload (RFC 6455 section 5.2: the
// shortest length encoding, then the mask). dst with ws.MaxHeaderSize bytes
// free never grows.
func AppendClientHeader(dst []byte, op ws.OpCode, n int, mask [4]byte) []byte {
	dst = append(dst, 0x80|byte(op))
	switch {
	case n <= 125:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, mask[:]...)
}
