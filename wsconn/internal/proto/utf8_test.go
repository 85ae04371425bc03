package proto

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// prefixValid is the oracle for fail-fast: p can be continued into valid
// UTF-8. Continuation ranges in UTF-8 are unions of the intervals between
// these boundaries, so trying only them is exhaustive.
func prefixValid(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	bounds := []byte{0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf}
	var try func(q []byte, depth int) bool
	try = func(q []byte, depth int) bool {
		if utf8.Valid(q) {
			return true
		}
		if depth == 0 {
			return false
		}
		for _, b := range bounds {
			if try(append(q[:len(q):len(q)], b), depth-1) {
				return true
			}
		}
		return false
	}
	return try(p, 3)
}

func TestUTF8Incremental(t *testing.T) {
	alphabet := []byte{'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff}
	r := rand.New(rand.NewPCG(1, 2))
	valid := 0
	for range 200000 {
		n := r.IntN(9)
		p := make([]byte, n)
		for i := range p {
			p[i] = alphabet[r.IntN(len(alphabet))]
		}
		// Every split into up to three fragments agrees with utf8.Valid on the
		// whole and fails exactly when the bytes so far cannot be continued.
		i, j := r.IntN(n+1), r.IntN(n+1)
		if i > j {
			i, j = j, i
		}
		var s UTF8State
		for _, part := range [][]byte{p[:i], p[i:j], p[j:]} {
			if s != UTF8Invalid {
				s = s.Feed(part)
			}
		}
		if got, want := s.Complete(), utf8.Valid(p); got != want {
			t.Fatalf("% x split %d,%d: complete=%v, utf8.Valid=%v", p, i, j, got, want)
		}
		if got, want := s != UTF8Invalid, prefixValid(p); got != want {
			t.Fatalf("% x split %d,%d: still valid=%v, can be continued=%v", p, i, j, got, want)
		}
		if utf8.Valid(p) {
			valid++
		}
	}
	if valid < 1000 {
		t.Fatalf("only %d valid inputs generated: the test would not check much", valid)
	}
}

func TestUTF8Long(t *testing.T) {
	text := []byte("κόσμε ∮ E⋅da = Q, 🎉 plain ASCII runs of some length, ")
	for range 6 {
		text = append(text, text...)
	}
	for split := 0; split < len(text); split += 7 {
		s := UTF8State(0).Feed(text[:split]).Feed(text[split:])
		if !s.Complete() {
			t.Fatalf("valid text split at %d rejected", split)
		}
	}
	bad := append(append([]byte{}, text...), 0xed, 0xa0, 0x80)
	if UTF8State(0).Feed(bad) != UTF8Invalid {
		t.Fatal("surrogate accepted")
	}
}
