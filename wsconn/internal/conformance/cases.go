package conformance

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Opcodes as they go on the wire.
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xa
)

// Case is one client script and what the server must answer.
type Case struct {
	// ID is the Autobahn case number.
	ID string
	// Desc says what is sent and what is expected.
	Desc string

	acts []act
	// want is what the server must send before the end of the case:
	// messages and pongs, in order.
	want []event
	end  endKind
	// codes are the close codes accepted from the server for endFail and
	// endClose (0 stands for a close frame without a code).
	codes []int
	// failFast marks a case with a checkpoint: a server that fails the
	// connection only after the checkpoint is non-strict.
	failFast bool
	// slow cases (big messages) get ten times the timeout.
	slow bool
}

type endKind int

const (
	// endEcho: after the answers, the client closes with 1000 and the
	// server must answer with 1000 and close TCP.
	endEcho endKind = iota
	// endFail: the server must fail the connection (close frame with one
	// of codes, then TCP close).
	endFail
	// endClose: the script sent a close; the server must answer it with
	// one of codes and nothing else after it.
	endClose
)

// act is one step of a script: bytes to write (in chops of chop bytes
// when chop > 0), a pause, or a checkpoint, where the script waits up to 2s
// (or the timeout, if shorter) for the server to fail the connection
// before it sends the rest.
type act struct {
	b          []byte
	chop       int
	pause      bool
	checkpoint bool
}

func send(frames ...[]byte) []act {
	var as []act
	for _, f := range frames {
		as = append(as, act{b: f})
	}
	return as
}

// octets sends each frame one byte per write.
func octets(frames ...[]byte) []act {
	return chopped(1, frames...)
}

func chopped(n int, frames ...[]byte) []act {
	var as []act
	for _, f := range frames {
		as = append(as, act{b: f, chop: n})
	}
	return as
}

// paced sends the frames with a pause before each but the first.
func paced(frames ...[]byte) []act {
	var as []act
	for i, f := range frames {
		if i > 0 {
			as = append(as, act{pause: true})
		}
		as = append(as, act{b: f})
	}
	return as
}

func text(s string) event { return event{kind: evMessage, op: opText, payload: []byte(s)} }

func pong(b []byte) event { return event{kind: evPong, payload: b} }

func echoCase(id, desc string, acts []act, want ...event) Case {
	return Case{ID: id, Desc: desc, acts: acts, want: want, end: endEcho}
}

func failCase(id, desc string, code int, acts []act, want ...event) Case {
	return Case{ID: id, Desc: desc, acts: acts, want: want, end: endFail, codes: []int{code}}
}

func closeCase(id, desc string, codes []int, acts []act, want ...event) Case {
	return Case{ID: id, Desc: desc, acts: acts, want: want, end: endClose, codes: codes}
}

// Cases returns the suite in Autobahn order.
func Cases() []Case {
	var cs []Case
	cs = append(cs, framing()...)
	cs = append(cs, pingPong()...)
	cs = append(cs, reserved()...)
	cs = append(cs, opcodes()...)
	cs = append(cs, fragmentation()...)
	cs = append(cs, utf8Cases()...)
	cs = append(cs, closing()...)
	cs = append(cs, limits()...)
	return cs
}

func repeat(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// Group 1: framing, text and binary messages across the length encodings.
func framing() []Case {
	var cs []Case
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536}
	for g, op := range []byte{opText, opBinary} {
		kind := [...]string{"text", "binary"}[g]
		for i, n := range sizes {
			p := repeat('*', n)
			if op == opBinary {
				p = repeat(0xfe, n)
			}
			cs = append(cs, echoCase(fmt.Sprintf("1.%d.%d", g+1, i+1), fmt.Sprintf("%s message of %d bytes", kind, n),
				send(frame(op, true, p)), event{kind: evMessage, op: op, payload: p}))
		}
		p := repeat('*', 65536)
		if op == opBinary {
			p = repeat(0xfe, 65536)
		}
		cs = append(cs, echoCase(fmt.Sprintf("1.%d.8", g+1), kind+" message of 65536 bytes in chops of 997",
			chopped(997, frame(op, true, p)), event{kind: evMessage, op: op, payload: p}))
	}
	return cs
}

// Group 2: pings and pongs.
func pingPong() []Case {
	bin := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
	var pings [][]byte
	var pongs []event
	for i := range 10 {
		p := fmt.Appendf(nil, "payload-%d", i)
		pings = append(pings, frame(opPing, true, p))
		pongs = append(pongs, pong(p))
	}
	unsolicited := []byte("unsolicited pong payload")
	return []Case{
		echoCase("2.1", "ping without payload", send(frame(opPing, true, nil)), pong(nil)),
		echoCase("2.2", "ping with text payload", send(frame(opPing, true, []byte("Hello, world!"))), pong([]byte("Hello, world!"))),
		echoCase("2.3", "ping with binary payload", send(frame(opPing, true, bin)), pong(bin)),
		echoCase("2.4", "ping with 125 bytes", send(frame(opPing, true, repeat(0xfe, 125))), pong(repeat(0xfe, 125))),
		failCase("2.5", "ping with 126 bytes: fail 1002", 1002, send(frame(opPing, true, repeat(0xfe, 126)))),
		echoCase("2.6", "ping with 125 bytes, one octet per write", octets(frame(opPing, true, repeat(0xfe, 125))), pong(repeat(0xfe, 125))),
		echoCase("2.7", "unsolicited pong without payload: ignored", send(frame(opPong, true, nil))),
		echoCase("2.8", "unsolicited pong with payload: ignored", send(frame(opPong, true, unsolicited))),
		echoCase("2.9", "unsolicited pong then ping", send(frame(opPong, true, unsolicited), frame(opPing, true, []byte("ping payload"))), pong([]byte("ping payload"))),
		echoCase("2.10", "10 pings", send(pings...), pongs...),
		echoCase("2.11", "10 pings, one octet per write", octets(pings...), pongs...),
	}
}

// Group 3: reserved bits without a negotiated extension.
func reserved() []Case {
	hello := []byte("Hello, world!")
	ping := frame(opPing, true, nil)
	return []Case{
		failCase("3.1", "text with RSV=1", 1002, send(rawFrame(opText, true, 1, hello))),
		failCase("3.2", "text, text with RSV=2, ping: echo then fail", 1002,
			send(frame(opText, true, hello), rawFrame(opText, true, 2, hello), ping), text("Hello, world!")),
		failCase("3.3", "as 3.2 with RSV=3, frame by frame with pauses", 1002,
			paced(frame(opText, true, hello), rawFrame(opText, true, 3, hello), ping), text("Hello, world!")),
		failCase("3.4", "as 3.2 with RSV=4, one octet per write", 1002,
			octets(frame(opText, true, hello), rawFrame(opText, true, 4, hello), ping), text("Hello, world!")),
		failCase("3.5", "binary with RSV=5", 1002, send(rawFrame(opBinary, true, 5, []byte{0, 1, 2, 3, 4, 5, 6, 7}))),
		failCase("3.6", "ping with RSV=6", 1002, send(rawFrame(opPing, true, 6, hello))),
		failCase("3.7", "close with RSV=7", 1002, send(rawFrame(opClose, true, 7, nil))),
	}
}

// Group 4: reserved opcodes.
func opcodes() []Case {
	hello := []byte("Hello, world!")
	payload := []byte("reserved opcode payload")
	ping := frame(opPing, true, nil)
	var cs []Case
	for g, ops := range [][]byte{{3, 4, 5, 6, 7}, {11, 12, 13, 14, 15}} {
		for i, op := range ops {
			id := fmt.Sprintf("4.%d.%d", g+1, i+1)
			var p []byte
			if i%3 != 0 {
				p = payload
			}
			if i < 2 {
				cs = append(cs, failCase(id, fmt.Sprintf("opcode %d", op), 1002, send(frame(op, true, p))))
				continue
			}
			cs = append(cs, failCase(id, fmt.Sprintf("text, opcode %d, ping: echo then fail", op), 1002,
				send(frame(opText, true, hello), frame(op, true, p), ping), text("Hello, world!")))
		}
	}
	return cs
}

// Group 5: fragmentation.
func fragmentation() []Case {
	f := func(s string) []byte { return []byte(s) }
	frag := []([]byte){frame(opText, false, f("fragment1")), frame(opCont, true, f("fragment2"))}
	withPing := []([]byte){frame(opText, false, f("fragment1")), frame(opPing, true, f("ping payload")), frame(opCont, true, f("fragment2"))}
	hello := frame(opText, true, f("Hello, world!"))
	ping := frame(opPing, true, nil)
	contFin := []([]byte){frame(opCont, true, f("non-continuation payload")), hello, ping}
	contStart := []([]byte){frame(opCont, false, f("non-continuation payload")), hello, ping}
	twice := func(fs ...[]byte) [][]byte { return append(slices.Clone(fs), fs...) }
	five := []([]byte){
		frame(opText, false, f("fragment1")), frame(opCont, false, f("fragment2")), frame(opPing, true, f("pongme 1!")),
		frame(opCont, false, f("fragment3")), frame(opCont, false, f("fragment4")), frame(opPing, true, f("pongme 2!")),
		frame(opCont, true, f("fragment5")),
	}
	fiveWant := []event{pong(f("pongme 1!")), pong(f("pongme 2!")), text("fragment1fragment2fragment3fragment4fragment5")}
	return []Case{
		failCase("5.1", "ping in 2 fragments", 1002, send(frame(opPing, false, f("fragment1")), frame(opCont, true, f("fragment2")))),
		failCase("5.2", "pong in 2 fragments", 1002, send(frame(opPong, false, f("fragment1")), frame(opCont, true, f("fragment2")))),
		echoCase("5.3", "text in 2 fragments", send(frag...), text("fragment1fragment2")),
		echoCase("5.4", "text in 2 fragments, one octet per write", octets(frag...), text("fragment1fragment2")),
		echoCase("5.5", "text in 2 fragments, with a pause", paced(frag...), text("fragment1fragment2")),
		echoCase("5.6", "text in 2 fragments with a ping between", send(withPing...), pong(f("ping payload")), text("fragment1fragment2")),
		echoCase("5.7", "as 5.6, one octet per write", octets(withPing...), pong(f("ping payload")), text("fragment1fragment2")),
		echoCase("5.8", "as 5.6, with pauses", paced(withPing...), pong(f("ping payload")), text("fragment1fragment2")),
		failCase("5.9", "final continuation without a message, then text, ping", 1002, send(contFin...)),
		failCase("5.10", "as 5.9, one octet per write", 1002, octets(contFin...)),
		failCase("5.11", "as 5.9, with pauses", 1002, paced(contFin...)),
		failCase("5.12", "non-final continuation without a message, then text, ping", 1002, send(contStart...)),
		failCase("5.13", "as 5.12, one octet per write", 1002, octets(contStart...)),
		failCase("5.14", "as 5.12, with pauses", 1002, paced(contStart...)),
		failCase("5.15", "text in 2 fragments, then continuation, then text: echo then fail", 1002,
			send(frame(opText, false, f("fragment1")), frame(opCont, true, f("fragment2")), frame(opCont, false, f("fragment3")), frame(opText, true, f("fragment4"))),
			text("fragment1fragment2")),
		failCase("5.16", "twice: continuation, text start, final continuation", 1002,
			send(twice(frame(opCont, false, f("fragment1")), frame(opText, false, f("fragment2")), frame(opCont, true, f("fragment3")))...)),
		failCase("5.17", "twice: final continuation, text start, final continuation", 1002,
			send(twice(frame(opCont, true, f("fragment1")), frame(opText, false, f("fragment2")), frame(opCont, true, f("fragment3")))...)),
		failCase("5.18", "text start, then a new text instead of a continuation", 1002,
			send(frame(opText, false, f("fragment1")), frame(opText, true, f("fragment2")))),
		echoCase("5.19", "text in 5 fragments with 2 pings between", send(five...), fiveWant...),
		echoCase("5.20", "as 5.19, with pauses", paced(five...), fiveWant...),
	}
}

// utf8Seq is one byte sequence of Autobahn's group 6 (after Markus Kuhn's
// UTF-8 decoder stress test), sent as one text message.
type utf8Seq struct {
	id   string
	desc string
	b    string
}

// Group 6: UTF-8 handling.
func utf8Cases() []Case {
	const kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
	const hello = "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"
	const edited = kosme + "\xed\xa0\x80edited"
	cs := []Case{
		echoCase("6.1.1", "empty text", send(frame(opText, true, nil)), text("")),
		echoCase("6.1.2", "empty text in 3 empty fragments", send(frame(opText, false, nil), frame(opCont, false, nil), frame(opCont, true, nil)), text("")),
		echoCase("6.1.3", "text in 3 fragments, first and last empty", send(frame(opText, false, nil), frame(opCont, false, []byte("middle frame payload")), frame(opCont, true, nil)), text("middle frame payload")),
		echoCase("6.2.1", "valid UTF-8 in one frame", send(frame(opText, true, []byte(hello))), text(hello)),
		echoCase("6.2.2", "valid UTF-8 in 2 fragments cut at a code point", send(frame(opText, false, []byte(hello[:7])), frame(opCont, true, []byte(hello[7:]))), text(hello)),
		echoCase("6.2.3", "valid UTF-8, one octet per write", octets(frame(opText, true, []byte(hello))), text(hello)),
		echoCase("6.2.4", "valid UTF-8 in fragments of one octet (cut inside code points)", send(octetFragments(kosme)...), text(kosme)),
		failCase("6.3.1", "invalid UTF-8 (surrogate) in one frame", 1007, send(frame(opText, true, []byte(edited)))),
		failCase("6.3.2", "invalid UTF-8 in fragments of one octet", 1007, send(octetFragments(edited)...)),
	}
	// 6.4: fail fast. The invalid sequence arrives, then a pause: a strict
	// server fails the connection before the rest is sent.
	ff := func(id, desc string, acts []act) Case {
		c := failCase(id, desc, 1007, acts)
		c.failFast = true
		return c
	}
	cs = append(cs,
		ff("6.4.1", "fragments: valid, invalid (F4 90 80 80), valid; fail after the second", []act{
			{b: frame(opText, false, []byte(kosme))}, {b: frame(opCont, false, []byte("\xf4\x90\x80\x80"))},
			{checkpoint: true}, {b: frame(opCont, true, []byte("edited"))}}),
		ff("6.4.2", "fragments: valid ending F4, 90 alone, rest; fail after 90", []act{
			{b: frame(opText, false, []byte(kosme+"\xf4"))}, {b: frame(opCont, false, []byte("\x90"))},
			{checkpoint: true}, {b: frame(opCont, true, []byte("\x80\x80edited"))}}),
		ff("6.4.3", "one frame in chops: valid, invalid, rest; fail before the rest", frameChops(kosme, "\xf4\x90\x80\x80", "edited")),
		ff("6.4.4", "one frame in chops: valid+F4, 90, rest; fail before the rest", frameChops(kosme+"\xf4", "\x90", "\x80\x80edited")),
	)
	seqs := []utf8Seq{{"6.5.1", "valid: kosme", kosme}}
	for i := 1; i <= len(kosme); i++ {
		seqs = append(seqs, utf8Seq{fmt.Sprintf("6.6.%d", i), fmt.Sprintf("kosme cut after %d bytes", i), kosme[:i]})
	}
	table := []struct {
		group string
		desc  string
		seqs  []string
	}{
		{"6.7", "first possible sequence", []string{"\x00", "\xc2\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80"}},
		{"6.8", "first impossible sequence (5, 6 bytes)", []string{"\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80"}},
		{"6.9", "last possible sequence", []string{"\x7f", "\xdf\xbf", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"}},
		{"6.10", "last impossible sequence", []string{"\xf7\xbf\xbf\xbf", "\xfb\xbf\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf\xbf"}},
		{"6.11", "other boundaries", []string{"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80"}},
		{"6.12", "unexpected continuation bytes", []string{"\x80", "\xbf", "\x80\xbf", "\x80\xbf\x80", "\x80\xbf\x80\xbf", "\x80\xbf\x80\xbf\x80", "\x80\xbf\x80\xbf\x80\xbf", byteRange(0x80, 0xbf, "")}},
		{"6.13", "lonely start bytes followed by a space", []string{byteRange(0xc0, 0xdf, " "), byteRange(0xe0, 0xef, " "), byteRange(0xf0, 0xf7, " "), byteRange(0xf8, 0xfb, " "), byteRange(0xfc, 0xfd, " ")}},
		{"6.14", "sequences missing their last byte", []string{"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80", "\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf"}},
		{"6.15", "concatenated incomplete sequences", []string{"\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf"}},
		{"6.16", "impossible bytes", []string{"\xfe", "\xff", "\xfe\xfe\xff\xff"}},
		{"6.17", "overlong slash", []string{"\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf8\x80\x80\x80\xaf", "\xfc\x80\x80\x80\x80\xaf"}},
		{"6.18", "maximum overlong sequences", []string{"\xc1\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\xf8\x87\xbf\xbf\xbf", "\xfc\x83\xbf\xbf\xbf\xbf"}},
		{"6.19", "overlong NUL", []string{"\xc0\x80", "\xe0\x80\x80", "\xf0\x80\x80\x80", "\xf8\x80\x80\x80\x80", "\xfc\x80\x80\x80\x80\x80"}},
		{"6.20", "single UTF-16 surrogates", []string{"\xed\xa0\x80", "\xed\xad\xbf", "\xed\xae\x80", "\xed\xaf\xbf", "\xed\xb0\x80", "\xed\xbe\x80", "\xed\xbf\xbf"}},
		{"6.21", "paired UTF-16 surrogates", []string{"\xed\xa0\x80\xed\xb0\x80", "\xed\xa0\x80\xed\xbf\xbf", "\xed\xad\xbf\xed\xb0\x80", "\xed\xad\xbf\xed\xbf\xbf", "\xed\xae\x80\xed\xb0\x80", "\xed\xae\x80\xed\xbf\xbf", "\xed\xaf\xbf\xed\xb0\x80", "\xed\xaf\xbf\xed\xbf\xbf"}},
		{"6.22", "noncharacters (valid UTF-8)", nonCharacters()},
		{"6.23", "replacement character and neighbours", []string{"\xef\xbf\xbd", "\xef\xbf\xbc", "\xef\xbf\xbe" + "\xef\xbf\xbd"}},
	}
	for _, g := range table {
		for i, s := range g.seqs {
			seqs = append(seqs, utf8Seq{fmt.Sprintf("%s.%d", g.group, i+1), g.desc, s})
		}
	}
	for _, s := range seqs {
		if utf8.ValidString(s.b) {
			cs = append(cs, echoCase(s.id, s.desc+fmt.Sprintf(" % x: valid", short(s.b)), send(frame(opText, true, []byte(s.b))), text(s.b)))
		} else {
			cs = append(cs, failCase(s.id, s.desc+fmt.Sprintf(" % x: invalid, fail 1007", short(s.b)), 1007, send(frame(opText, true, []byte(s.b)))))
		}
	}
	return cs
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func byteRange(lo, hi byte, sep string) string {
	var b strings.Builder
	for c := int(lo); c <= int(hi); c++ {
		b.WriteByte(byte(c))
		b.WriteString(sep)
	}
	return b.String()
}

// nonCharacters are U+nFFFE and U+nFFFF of every plane: valid UTF-8.
func nonCharacters() []string {
	var s []string
	for plane := rune(0); plane <= 0x10; plane++ {
		s = append(s, string(plane<<16|0xfffe), string(plane<<16|0xffff))
	}
	return s
}

// octetFragments sends s as a text message in fragments of one byte.
func octetFragments(s string) [][]byte {
	var fs [][]byte
	for i := range len(s) {
		op := byte(opCont)
		if i == 0 {
			op = opText
		}
		fs = append(fs, frame(op, i == len(s)-1, []byte{s[i]}))
	}
	return fs
}

// frameChops sends valid+bad+rest as ONE text frame written in three
// parts: the first, a pause, the invalid one, a checkpoint, the rest.
func frameChops(valid, bad, rest string) []act {
	f := frame(opText, true, []byte(valid+bad+rest))
	hdr := len(f) - len(valid+bad+rest)
	a, b := hdr+len(valid), hdr+len(valid)+len(bad)
	return []act{{b: f[:a]}, {pause: true}, {b: f[a:b]}, {checkpoint: true}, {b: f[b:]}}
}

// Group 7: close handling.
func closing() []Case {
	hello := []byte("Hello World!")
	normal := frame(opClose, true, closeBody(1000, ""))
	cs := []Case{
		closeCase("7.1.1", "text then close 1000: echo, then close 1000", []int{1000},
			send(frame(opText, true, hello), normal), text("Hello World!")),
		closeCase("7.1.2", "close twice: one close answered", []int{1000}, send(normal, normal)),
		closeCase("7.1.3", "close then ping: no pong", []int{1000}, send(normal, frame(opPing, true, hello))),
		closeCase("7.1.4", "close then text: no echo", []int{1000}, send(normal, frame(opText, true, hello))),
		closeCase("7.1.5", "fragment, close, last fragment: no echo", []int{1000},
			send(frame(opText, false, []byte("fragment1")), normal, frame(opCont, true, []byte("fragment2")))),
		closeCase("7.3.1", "close without payload", []int{0, 1000}, send(frame(opClose, true, nil))),
		failCase("7.3.2", "close with a 1-byte payload", 1002, send(frame(opClose, true, []byte("a")))),
		closeCase("7.3.3", "close 1000 without reason", []int{1000}, send(normal)),
		closeCase("7.3.4", "close 1000 with reason", []int{1000}, send(frame(opClose, true, closeBody(1000, "Hello World!")))),
		closeCase("7.3.5", "close 1000 with a 123-byte reason", []int{1000}, send(frame(opClose, true, closeBody(1000, strings.Repeat("*", 123))))),
		failCase("7.3.6", "close with a 124-byte reason (payload 126)", 1002, send(frame(opClose, true, closeBody(1000, strings.Repeat("*", 124))))),
		failCase("7.5.1", "close with an invalid UTF-8 reason", 1007,
			send(frame(opClose, true, closeBody(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited")))),
	}
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cs = append(cs, closeCase(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("close with valid code %d: answered with it or 1000", code),
			[]int{code, 1000}, send(frame(opClose, true, closeBody(code, "")))))
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		cs = append(cs, failCase(fmt.Sprintf("7.9.%d", i+1), fmt.Sprintf("close with invalid code %d", code), 1002,
			send(frame(opClose, true, closeBody(code, "")))))
	}
	return cs
}

// Group 9 (part): large messages, whole (9.1, 9.2: 64 KiB to 16 MiB) and
// 4 MiB in fragments of 64 B, 4 KiB and 4 MiB (9.3.1, 9.3.4, 9.3.9 and the
// binary 9.4 twins), and 1000 messages of 0 and 1024 bytes back to back
// (9.7.1, 9.7.5, 9.8.1, 9.8.5), numbered as in Autobahn.
func limits() []Case {
	var cs []Case
	sizes := []int{64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20}
	for g, op := range []byte{opText, opBinary} {
		for i, n := range sizes {
			p := repeat('*', n)
			c := echoCase(fmt.Sprintf("9.%d.%d", g+1, i+1), fmt.Sprintf("%s message of %d bytes", [...]string{"text", "binary"}[g], n),
				send(frame(op, true, p)), event{kind: evMessage, op: op, payload: p})
			c.slow = true
			cs = append(cs, c)
		}
	}
	for g, op := range []byte{opText, opBinary} {
		for i, fragSize := range []int{64, 4 << 10, 4 << 20} {
			id := fmt.Sprintf("9.%d.%d", g+3, []int{1, 4, 9}[i])
			p := repeat('*', 4<<20)
			var frames [][]byte
			for off := 0; off < len(p); off += fragSize {
				fop := byte(opCont)
				if off == 0 {
					fop = op
				}
				frames = append(frames, frame(fop, off+fragSize >= len(p), p[off:min(off+fragSize, len(p))]))
			}
			c := echoCase(id, fmt.Sprintf("%s message of 4 MiB in fragments of %d bytes", [...]string{"text", "binary"}[g], fragSize),
				[]act{{b: bytes.Join(frames, nil)}}, event{kind: evMessage, op: op, payload: p})
			c.slow = true
			cs = append(cs, c)
		}
	}
	for g, op := range []byte{opText, opBinary} {
		for i, n := range []int{0, 1024} {
			var frames [][]byte
			var want []event
			p := repeat('*', n)
			for range 1000 {
				frames = append(frames, frame(op, true, p))
				want = append(want, event{kind: evMessage, op: op, payload: p})
			}
			c := echoCase(fmt.Sprintf("9.%d.%d", g+7, []int{1, 5}[i]), fmt.Sprintf("1000 %s messages of %d bytes back to back", [...]string{"text", "binary"}[g], n),
				[]act{{b: bytes.Join(frames, nil)}}, want...)
			c.slow = true
			cs = append(cs, c)
		}
	}
	return cs
}

// run executes the script and judges what the server did.
func (c Case) run(addr string, opts Options) (Verdict, string) {
	to := opts.timeout()
	if c.slow {
		to *= 10
	}
	cl, err := dial(addr, to, opts.TLS)
	if err != nil {
		return Fail, err.Error()
	}
	defer cl.close()

	closedAtCheckpoint := false
	for _, a := range c.acts {
		switch {
		case a.pause:
			time.Sleep(opts.pause())
		case a.checkpoint:
			closedAtCheckpoint = cl.waitClose(min(to, 2*time.Second))
		case a.chop > 0:
			for off := 0; off < len(a.b); off += a.chop {
				cl.write(a.b[off:min(off+a.chop, len(a.b))])
			}
		default:
			cl.write(a.b)
		}
	}

	if c.end == endEcho {
		return c.judgeEcho(cl, to)
	}
	return c.judgeClose(cl, to, closedAtCheckpoint)
}

// waitClose waits up to d for a close frame or the end of the connection.
func (cl *client) waitClose(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		for _, e := range cl.seen {
			if e.kind == evClose || e.kind == evEnd {
				return true
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		if _, ok := cl.next(left); !ok {
			return false
		}
	}
}

// dataEvents are the messages and pongs of evs, and whether a bad frame
// was among them.
func dataEvents(evs []event) (data []event, bad string) {
	for _, e := range evs {
		switch e.kind {
		case evMessage, evPong:
			data = append(data, e)
		case evBad:
			bad = string(e.payload)
		}
	}
	return data, bad
}

func sameEvent(a, b event) bool {
	return a.kind == b.kind && a.op == b.op && bytes.Equal(a.payload, b.payload)
}

// matchPrefix reports whether got equals want, or is a proper prefix of it.
func matchPrefix(got, want []event) (equal, prefix bool) {
	if len(got) > len(want) {
		return false, false
	}
	for i := range got {
		if !sameEvent(got[i], want[i]) {
			return false, false
		}
	}
	return len(got) == len(want), true
}

// collectUntil reads events until stop says so or d passes without one.
func (cl *client) collectUntil(d time.Duration, stop func(e event) bool) bool {
	for {
		e, ok := cl.next(d)
		if !ok {
			return false
		}
		if stop(e) {
			return true
		}
	}
}

func (c Case) judgeEcho(cl *client, to time.Duration) (Verdict, string) {
	n := 0
	wait := to
	if len(c.want) == 0 {
		// Nothing to wait for: only give a wrong answer time to show.
		wait = min(to, 200*time.Millisecond)
	}
	cl.collectUntil(wait, func(e event) bool {
		if e.kind == evMessage || e.kind == evPong {
			n++
		}
		return n >= len(c.want) || e.kind == evClose || e.kind == evEnd
	})
	// Give a server that answers too much a moment to show it.
	cl.collectUntil(20*time.Millisecond, func(e event) bool { return e.kind == evEnd })
	data, bad := dataEvents(cl.seen)
	if bad != "" {
		return Fail, "server sent a bad frame: " + bad
	}
	if eq, _ := matchPrefix(data, c.want); !eq {
		return Fail, fmt.Sprintf("got %s, want %s", describe(data), describe(c.want))
	}
	for _, e := range cl.seen {
		if e.kind == evClose || e.kind == evEnd {
			return Fail, fmt.Sprintf("server ended the connection: %s", describe(cl.seen))
		}
	}
	// Closing handshake started by the client.
	cl.write(frame(opClose, true, closeBody(1000, "")))
	var closeEv *event
	ended := cl.collectUntil(to, func(e event) bool {
		if e.kind == evClose && closeEv == nil {
			closeEv = &e
		}
		return e.kind == evEnd
	})
	switch {
	case closeEv == nil:
		return Fail, "no close answer to the client's close 1000"
	case closeEv.code == 0:
		return NonStrict, "close 1000 answered with a close without code"
	case closeEv.code != 1000:
		return Fail, fmt.Sprintf("close 1000 answered with %d", closeEv.code)
	case !ended:
		return NonStrict, "server kept TCP open after the closing handshake"
	}
	return Pass, ""
}

func (c Case) judgeClose(cl *client, to time.Duration, closedAtCheckpoint bool) (Verdict, string) {
	var closeEv *event
	for _, e := range cl.seen {
		if e.kind == evClose && closeEv == nil {
			ce := e
			closeEv = &ce
		}
	}
	// A script that sent its own close does not send another.
	answered := c.end == endClose
	ended := cl.waitEnd(to, &answered, func() bool {
		// Stop waiting as soon as the verdict cannot be a pass or
		// non-strict any more: an answer the case does not allow.
		data, bad := dataEvents(cl.seen)
		_, prefix := matchPrefix(data, c.want)
		return bad != "" || !prefix
	})
	for _, e := range cl.seen {
		if e.kind == evClose && closeEv == nil {
			ce := e
			closeEv = &ce
		}
	}
	// Data events before the close are judged; after it nothing may come.
	var before, after []event
	seenClose := false
	for _, e := range cl.seen {
		switch {
		case e.kind == evClose:
			seenClose = true
		case e.kind == evMessage || e.kind == evPong:
			if seenClose {
				after = append(after, e)
			} else {
				before = append(before, e)
			}
		case e.kind == evBad:
			return Fail, "server sent a bad frame: " + string(e.payload)
		}
	}
	if len(after) > 0 {
		return Fail, fmt.Sprintf("server sent %s after its close", describe(after))
	}
	eq, prefix := matchPrefix(before, c.want)
	if !prefix {
		return Fail, fmt.Sprintf("got %s before the close, want %s", describe(before), describe(c.want))
	}
	verdict, detail := Pass, ""
	worse := func(v Verdict, d string) {
		if v > verdict {
			verdict, detail = v, d
		}
	}
	if !eq {
		worse(NonStrict, fmt.Sprintf("failed before answering %s", describe(c.want[len(before):])))
	}
	switch {
	case closeEv == nil && !ended:
		return Fail, fmt.Sprintf("connection still open after %v: got %s", to, describe(cl.seen))
	case closeEv == nil:
		worse(NonStrict, "TCP closed without a close frame")
	case !slices.Contains(c.codes, closeEv.code):
		return Fail, fmt.Sprintf("close code %d, want %v", closeEv.code, c.codes)
	case !ended:
		worse(NonStrict, "server kept TCP open after the closing handshake")
	}
	if c.failFast && !closedAtCheckpoint {
		worse(NonStrict, "failed only after the rest of the message arrived, not when the invalid bytes did")
	}
	return verdict, detail
}

// waitEnd collects events until the connection ends, hopeless says the
// case is already lost, or d passes with nothing new. When the server's
// close frame arrives, the client answers it as RFC 6455 asks.
func (cl *client) waitEnd(d time.Duration, answered *bool, hopeless func() bool) bool {
	if hopeless() {
		return false
	}
	for _, e := range cl.seen {
		if e.kind == evEnd {
			return true
		}
	}
	return cl.collectUntil(d, func(e event) bool {
		if e.kind == evClose && !*answered {
			*answered = true
			cl.write(frame(opClose, true, closeBody(1000, "")))
		}
		return e.kind == evEnd || hopeless()
	})
}
