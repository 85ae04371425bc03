package proto

import (
	"bytes"
	"io"
	"testing"

	"github.com/gobwas/ws"
	"github.com/stretchr/testify/require"
)

// TestAppendClientHeader: the header the client and the load generator
// write decodes, with gobwas, to what was meant, at each length encoding's
// edges.
func TestAppendClientHeader(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	for _, n := range []int{0, 125, 126, 0xffff, 0x10000, 1 << 24} {
		hdr := AppendClientHeader(make([]byte, 0, ws.MaxHeaderSize), ws.OpText, n, mask)
		require.Equal(t, ws.MaxHeaderSize, cap(hdr), "n=%d: no growth", n)
		h, err := ws.ReadHeader(bytes.NewReader(hdr))
		require.NoError(t, err)
		require.Equal(t, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: mask, Length: int64(n)}, h)
		require.Equal(t, ws.HeaderSize(h), len(hdr), "n=%d: shortest encoding", n)
	}
}

func TestCheckHeader(t *testing.T) {
	ok := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true}
	tests := []struct {
		name       string
		mod        func(*ws.Header)
		fragmented bool
		want       string
	}{
		{"valid", func(*ws.Header) {}, false, ""},
		{"rsv", func(h *ws.Header) { h.Rsv = 4 }, false, ReasonRsv},
		{"opcode", func(h *ws.Header) { h.OpCode = 3 }, false, ReasonOpcode},
		{"unmasked", func(h *ws.Header) { h.Masked = false }, false, ReasonUnmasked},
		{"long ping", func(h *ws.Header) { h.OpCode, h.Length = ws.OpPing, 126 }, false, ReasonControlLen},
		{"fragmented ping", func(h *ws.Header) { h.OpCode, h.Fin = ws.OpPing, false }, false, ReasonControlFrag},
		{"continuation first", func(h *ws.Header) { h.OpCode = ws.OpContinuation }, false, ReasonContUnexpected},
		{"text inside a message", func(*ws.Header) {}, true, ReasonContExpected},
		{"ping inside a message", func(h *ws.Header) { h.OpCode = ws.OpPing }, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := ok
			tc.mod(&h)
			require.Equal(t, tc.want, CheckHeader(h, tc.fragmented))
		})
	}
}

func TestBuffers(t *testing.T) {
	require.Equal(t, 512, NextCap(0, 512, 1<<20))
	require.Equal(t, 2048, NextCap(1024, 512, 1<<20))
	require.Equal(t, 1500, NextCap(1024, 512, 1500))
	b := Grow([]byte("abc"), 10)
	require.Equal(t, "abc", string(b))
	require.Equal(t, 10, cap(b))
	require.Nil(t, KeepBuf(make([]byte, 0, MaxKeptBuf+1)))
	require.Len(t, KeepBuf(make([]byte, 5, MaxKeptBuf)), 0)
	require.Equal(t, io.ErrUnexpectedEOF, NoEOF(io.EOF))
	require.Equal(t, io.ErrShortWrite, NoEOF(io.ErrShortWrite))
}
