package proto

import "unicode/utf8"

// UTF8State is the state of an incremental UTF-8 validator across the
// fragments of one text message. It is one word: the number of continuation
// bytes still expected and the range the next one must fall in, so that a
// sequence cut by a fragment boundary is checked byte by byte as it arrives
// and an impossible prefix (F4 90, ED A0, C0) fails on the fragment that
// carries it instead of at the end of the message (Autobahn's "fail fast").
//
// Layout: need<<16 | lo<<8 | hi. The zero value is "between code points".
type UTF8State uint32

// UTF8Invalid is a state no valid input reaches.
const UTF8Invalid UTF8State = 0xffffffff

func (s UTF8State) need() uint32 { return uint32(s) >> 16 }

// Complete reports whether the text seen so far ends on a code point boundary.
func (s UTF8State) Complete() bool { return s == 0 }

// step feeds one byte to the state machine.
func (s UTF8State) step(b byte) UTF8State {
	if n := s.need(); n > 0 {
		lo, hi := byte(s>>8), byte(s)
		if b < lo || b > hi {
			return UTF8Invalid
		}
		if n == 1 {
			return 0
		}
		return UTF8State((n-1)<<16 | 0x80<<8 | 0xbf)
	}
	switch {
	case b < 0x80:
		return 0
	case b >= 0xc2 && b <= 0xdf:
		return 1<<16 | 0x80<<8 | 0xbf
	case b == 0xe0:
		return 2<<16 | 0xa0<<8 | 0xbf
	case b == 0xed: // no surrogates
		return 2<<16 | 0x80<<8 | 0x9f
	case b >= 0xe1 && b <= 0xef:
		return 2<<16 | 0x80<<8 | 0xbf
	case b == 0xf0:
		return 3<<16 | 0x90<<8 | 0xbf
	case b >= 0xf1 && b <= 0xf3:
		return 3<<16 | 0x80<<8 | 0xbf
	case b == 0xf4: // nothing above U+10FFFF
		return 3<<16 | 0x80<<8 | 0x8f
	}
	return UTF8Invalid
}

// Feed validates p as the next bytes of a text message and returns the new
// state, UTF8Invalid as soon as p holds a byte no valid text could contain.
//
// The bulk of p goes through utf8.Valid, which the standard library keeps
// fast (ASCII eight bytes at a time); only the bytes that finish a sequence
// left open by the previous fragment and the at most three bytes of a
// sequence this fragment leaves open go through the byte machine.
func (s UTF8State) Feed(p []byte) UTF8State {
	i := 0
	for ; i < len(p) && s.need() > 0; i++ {
		if s = s.step(p[i]); s == UTF8Invalid {
			return s
		}
	}
	p = p[i:]
	// Find where a sequence still open at the end of p starts: scan back
	// over at most three continuation bytes to the last lead byte.
	cut := len(p)
	for j := len(p) - 1; j >= 0 && j >= len(p)-4; j-- {
		b := p[j]
		if b&0xc0 == 0x80 {
			continue
		}
		if b >= 0xc0 && seqLen(b) > len(p)-j {
			cut = j
		}
		break
	}
	if !utf8.Valid(p[:cut]) {
		return UTF8Invalid
	}
	for _, b := range p[cut:] {
		if s = s.step(b); s == UTF8Invalid {
			return s
		}
	}
	return s
}

// seqLen is the length of the sequence a lead byte announces (0 for bytes
// that cannot lead).
func seqLen(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b >= 0xc2 && b <= 0xdf:
		return 2
	case b >= 0xe0 && b <= 0xef:
		return 3
	case b >= 0xf0 && b <= 0xf4:
		return 4
	}
	return 0
}
