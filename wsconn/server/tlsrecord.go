package server

// This file is the TLS 1.3 record layer (RFC 8446 section 5) that a reactor
// connection runs itself once crypto/tls has done the handshake: the
// connection keeps its traffic secrets, keys and sequence numbers, and
// builds its AEADs only while a worker owns it, so that an idle wss
// connection holds key material and no buffer.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// TLS record constants (RFC 8446 section 5).
const (
	recordHeaderLen   = 5
	maxPlaintext      = 1 << 14
	maxCiphertext     = maxPlaintext + 256
	recordTypeCCS     = 20
	recordTypeAlert   = 21
	recordTypeHS      = 22
	recordTypeAppData = 23
	hsTypeKeyUpdate   = 24
	alertCloseNotify  = 0
	tagLen            = 16
)

// recordBufSize holds one whole record, the most a connection buffers
// while a record is on its way.
const recordBufSize = recordHeaderLen + maxCiphertext

// recordPool lends the buffers a wss connection reads records into and
// seals records in; a connection holds one only while a record is partly
// received or its plaintext not yet all taken.
var recordPool = sync.Pool{New: func() any { b := make([]byte, recordBufSize); return &b }}

// errTLSRecord ends a connection that sent a record TLS 1.3 forbids or that
// fails to decrypt.
var errTLSRecord = errors.New("wsconn/server: bad TLS record")

// suiteParams are the hash and key length of a TLS 1.3 cipher suite.
func suiteParams(suite uint16) (func() hash.Hash, int, error) {
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256:
		return sha256.New, 16, nil
	case tls.TLS_AES_256_GCM_SHA384:
		return sha512.New384, 32, nil
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		return sha256.New, 32, nil
	}
	return nil, 0, fmt.Errorf("wsconn/server: TLS cipher suite %#04x is not a TLS 1.3 suite", suite)
}

// expandLabel is HKDF-Expand-Label (RFC 8446 section 7.1) with an empty
// context.
func expandLabel(h func() hash.Hash, secret []byte, label string, n int) []byte {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, 0)
	out, err := hkdf.Expand(h, secret, string(info), n)
	if err != nil {
		panic(err) // n is at most 48, far below HKDF's limit
	}
	return out
}

// tlsDir is one direction of a record layer: its traffic secret (kept for
// KeyUpdate), the key and IV made from it, and the sequence number.
type tlsDir struct {
	secret [48]byte
	key    [32]byte
	iv     [12]byte
	seq    uint64
	aead   cipher.AEAD // built while an owner works (cipher), nil while idle
	nonceb [12]byte    // nonce's result: on the stack it would escape through aead
}

// tlsRecords is the record layer of one wss reactor connection.
type tlsRecords struct {
	suite  uint16
	hashFn func() hash.Hash
	keyLen int
	in     tlsDir
	out    tlsDir
	// sendKeyUpdate: the peer asked for a KeyUpdate, ours goes before our
	// next record (RFC 8446 section 4.6.3).
	sendKeyUpdate bool
	closeNotify   bool // the peer sent close_notify

	// buf holds, while a record is partly received or its plaintext not
	// all taken, plaintext buf[pStart:pEnd] then records buf[rStart:rEnd];
	// nil otherwise.
	buf                        *[]byte
	pStart, pEnd, rStart, rEnd int
}

// newTLSRecords starts a record layer from the handshake's application
// traffic secrets: in is the peer's (client) secret, out ours.
func newTLSRecords(suite uint16, in, out []byte) (*tlsRecords, error) {
	h, keyLen, err := suiteParams(suite)
	if err != nil {
		return nil, err
	}
	if len(in) != h().Size() || len(out) != len(in) {
		return nil, fmt.Errorf("wsconn/server: TLS traffic secrets of %d and %d bytes for suite %#04x", len(in), len(out), suite)
	}
	t := &tlsRecords{suite: suite, hashFn: h, keyLen: keyLen}
	t.setSecret(&t.in, in)
	t.setSecret(&t.out, out)
	return t, nil
}

// setSecret makes d's key and IV from secret and restarts its sequence.
func (t *tlsRecords) setSecret(d *tlsDir, secret []byte) {
	copy(d.secret[:], secret)
	copy(d.key[:], expandLabel(t.hashFn, secret, "key", t.keyLen))
	copy(d.iv[:], expandLabel(t.hashFn, secret, "iv", len(d.iv)))
	d.seq = 0
	d.aead = nil
}

// update moves d to its next traffic secret (KeyUpdate).
func (t *tlsRecords) update(d *tlsDir) {
	size := t.hashFn().Size()
	t.setSecret(d, expandLabel(t.hashFn, d.secret[:size], "traffic upd", size))
}

// cipher returns d's AEAD, built on first use since the owner took the
// connection.
func (t *tlsRecords) cipher(d *tlsDir) cipher.AEAD {
	if d.aead != nil {
		return d.aead
	}
	key := d.key[:t.keyLen]
	var err error
	if t.suite == tls.TLS_CHACHA20_POLY1305_SHA256 {
		d.aead, err = chacha20poly1305.New(key)
	} else {
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			d.aead, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		panic(err) // the key length comes from suiteParams
	}
	return d.aead
}

// idle drops what an owner built: the AEADs, and the buffer if it holds
// nothing.
func (t *tlsRecords) idle() {
	t.in.aead, t.out.aead = nil, nil
	if t.buf != nil && t.pStart == t.pEnd && t.rStart == t.rEnd {
		t.release()
	}
}

// release gives the buffer back.
func (t *tlsRecords) release() {
	if t.buf != nil {
		recordPool.Put(t.buf)
		t.buf = nil
	}
	t.pStart, t.pEnd, t.rStart, t.rEnd = 0, 0, 0, 0
}

// nonce is d's IV XOR its sequence number.
func (d *tlsDir) nonce() []byte {
	d.nonceb = d.iv
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], d.seq)
	for i := range s {
		d.nonceb[4+i] ^= s[i]
	}
	return d.nonceb[:]
}

// buffered reports whether plaintext or a whole record waits in t, which
// no readiness event will report.
func (t *tlsRecords) buffered() bool {
	return t.pStart < t.pEnd || t.wholeRecord() > 0
}

// wholeRecord returns the length of the record at rStart if all of it is
// buffered, else 0.
func (t *tlsRecords) wholeRecord() int {
	if t.rEnd-t.rStart < recordHeaderLen {
		return 0
	}
	b := (*t.buf)[t.rStart:t.rEnd]
	n := recordHeaderLen + int(binary.BigEndian.Uint16(b[3:5]))
	if n > len(b) {
		return 0
	}
	return n
}

// addRaw appends bytes read from the socket (before the first read, what
// the handshake read past its last record).
func (t *tlsRecords) addRaw(p []byte) {
	if len(p) == 0 {
		return
	}
	t.room()
	t.rEnd += copy((*t.buf)[t.rEnd:], p)
}

// room makes sure buf exists and that, once the plaintext is all taken,
// the partial record starts at the front.
func (t *tlsRecords) room() {
	if t.buf == nil {
		t.buf = recordPool.Get().(*[]byte)
	}
	if t.pStart == t.pEnd && t.rStart > 0 {
		n := copy(*t.buf, (*t.buf)[t.rStart:t.rEnd])
		t.pStart, t.pEnd, t.rStart, t.rEnd = 0, 0, 0, n
	}
}

// read gives p the plaintext of the records read from the socket through
// readRaw, reading only when no plaintext and no whole record is buffered:
// the form of readNB (errWouldBlock, io.EOF after the peer's close_notify
// or at a record boundary).
func (t *tlsRecords) read(p []byte, readRaw func([]byte) (int, error)) (int, error) {
	for {
		if t.pStart < t.pEnd {
			n := copy(p, (*t.buf)[t.pStart:t.pEnd])
			t.pStart += n
			return n, nil
		}
		if t.closeNotify {
			return 0, io.EOF
		}
		if n := t.wholeRecord(); n > 0 {
			if err := t.open(n); err != nil {
				return 0, err
			}
			continue
		}
		t.room()
		if t.rEnd-t.rStart >= recordHeaderLen && int(binary.BigEndian.Uint16((*t.buf)[t.rStart+3:])) > maxCiphertext {
			return 0, fmt.Errorf("%w: a record of %d bytes, above TLS's %d", errTLSRecord, binary.BigEndian.Uint16((*t.buf)[t.rStart+3:]), maxCiphertext)
		}
		n, err := readRaw((*t.buf)[t.rEnd:])
		t.rEnd += n
		if err == io.EOF && t.rEnd > t.rStart {
			return 0, io.ErrUnexpectedEOF
		}
		if err != nil {
			return 0, err
		}
	}
}

// open decrypts the n-byte record at rStart in place and makes its
// content, if application data, the plaintext to take; it handles
// close_notify and KeyUpdate, and fails on anything else.
func (t *tlsRecords) open(n int) error {
	rec := (*t.buf)[t.rStart : t.rStart+n]
	t.rStart += n
	if rec[0] != recordTypeAppData {
		// After the handshake every record is encrypted and typed
		// application_data outside (RFC 8446 section 5.1): a change_cipher_spec
		// or alert in the clear is not allowed any more.
		return fmt.Errorf("%w: outer type %d after the handshake", errTLSRecord, rec[0])
	}
	if n < recordHeaderLen+tagLen+1 {
		return fmt.Errorf("%w: %d bytes, too short to be sealed", errTLSRecord, n)
	}
	nonce := t.in.nonce()
	body := rec[recordHeaderLen:]
	plain, err := t.cipher(&t.in).Open(body[:0], nonce, body, rec[:recordHeaderLen])
	if err != nil {
		return fmt.Errorf("%w: it does not decrypt (sequence %d)", errTLSRecord, t.in.seq)
	}
	t.in.seq++
	// TLSInnerPlaintext: content, its type, then zeros.
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 {
		return fmt.Errorf("%w: no content type", errTLSRecord)
	}
	typ, content := plain[i], plain[:i]
	start := t.rStart - n + recordHeaderLen
	switch typ {
	case recordTypeAppData:
		t.pStart, t.pEnd = start, start+len(content)
		return nil
	case recordTypeAlert:
		if len(content) == 2 && content[1] == alertCloseNotify {
			t.closeNotify = true
			return nil
		}
		return fmt.Errorf("wsconn/server: TLS alert %v from the peer", content)
	case recordTypeHS:
		return t.handshakeMsg(content)
	}
	return fmt.Errorf("%w: inner type %d", errTLSRecord, typ)
}

// handshakeMsg handles a post-handshake message: KeyUpdate. A server gets
// no other (NewSessionTicket is the server's to send, and the reactor asks
// no client certificate).
func (t *tlsRecords) handshakeMsg(m []byte) error {
	if len(m) != 5 || m[0] != hsTypeKeyUpdate || m[1] != 0 || m[2] != 0 || m[3] != 1 || m[4] > 1 {
		return fmt.Errorf("%w: a post-handshake message the reactor does not take (%d bytes, type %d)", errTLSRecord, len(m), m[0])
	}
	t.update(&t.in)
	if m[4] == 1 {
		t.sendKeyUpdate = true
	}
	return nil
}

// seal appends to dst one record of type typ holding the plaintext a then
// b (at most maxPlaintext bytes together), sealed with our key.
func (t *tlsRecords) seal(dst []byte, typ byte, a, b []byte) []byte {
	n := len(a) + len(b)
	start := len(dst)
	dst = slices.Grow(dst, recordHeaderLen+n+1+tagLen) // sealed in place
	dst = append(dst, recordTypeAppData, 3, 3, 0, 0)
	binary.BigEndian.PutUint16(dst[start+3:], uint16(n+1+tagLen))
	dst = append(dst, a...)
	dst = append(dst, b...)
	dst = append(dst, typ)
	nonce := t.out.nonce()
	body := dst[start+recordHeaderLen:]
	sealed := t.cipher(&t.out).Seal(body[:0], nonce, body, dst[start:start+recordHeaderLen])
	t.out.seq++
	return dst[:start+recordHeaderLen+len(sealed)]
}

// sealAll appends to dst the records of type typ that carry a then b, led
// by our KeyUpdate if the peer asked for one, each at most maxPlaintext.
func (t *tlsRecords) sealAll(dst []byte, typ byte, a, b []byte) []byte {
	if t.sendKeyUpdate {
		t.sendKeyUpdate = false
		dst = t.seal(dst, recordTypeHS, []byte{hsTypeKeyUpdate, 0, 0, 1, 0}, nil)
		t.update(&t.out)
	}
	for len(a)+len(b) > 0 {
		ka := min(len(a), maxPlaintext)
		kb := min(len(b), maxPlaintext-ka)
		dst = t.seal(dst, typ, a[:ka], b[:kb])
		a, b = a[ka:], b[kb:]
	}
	return dst
}
