package main

import "unsafe"

// The conversions of the article's section 3.1, as rtlab reads them: a
// []byte viewed as a string and back without copying. Claim C37 type-checks
// this file (embedded as snippetSrc) and measures what the conversions
// save.

// bytesToString returns a string sharing b's bytes: b must not change
// while the string is in use.
func bytesToString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// stringToBytes returns the bytes of s without copying: they must never be
// written.
func stringToBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
