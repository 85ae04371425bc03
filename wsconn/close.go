package wsconn

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/rtlab/rtlab/wsconn/internal/proto"
)

// CloseError ends a connection: the close code and reason that were sent to
// the peer (Remote false: this side found a violation or the message was too
// big) or received from it (Remote true: the peer closed, and the same code
// was echoed back).
//
// The reader has already written the close frame when it returns a
// *CloseError; what is left to the caller is closing the TCP connection
// (ideally with CloseGracefully, so the close frame is not lost to a reset).
type CloseError struct {
	// Code is the status code carried by the close frame; for a peer's close
	// without a body it is ws.StatusNoStatusRcvd (1005), which is never sent.
	Code ws.StatusCode
	// Reason is the UTF-8 text after the code.
	Reason string
	// Remote reports whether the peer started the close.
	Remote bool
}

// Error implements error.
func (e *CloseError) Error() string {
	who := "local"
	if e.Remote {
		who = "remote"
	}
	if e.Reason == "" {
		return fmt.Sprintf("wsconn: %s close %d", who, e.Code)
	}
	return fmt.Sprintf("wsconn: %s close %d: %s", who, e.Code, e.Reason)
}

// validCloseCode reports whether a peer may send code in a close frame
// (RFC 6455 section 7.4 and the IANA registry it set up): 1000-1003,
// 1007-1014 and the 3000-4999 ranges for applications; 1004-1006 (reserved,
// or never to be sent), 1015 and unassigned codes are not.
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// parseClose checks the body of a close frame from the peer and returns the
// code and reason it carries, or the *CloseError with which to fail the
// connection instead.
func parseClose(p []byte) (ws.StatusCode, []byte, *CloseError) {
	switch {
	case len(p) == 0:
		return ws.StatusNoStatusRcvd, nil, nil
	case len(p) == 1:
		return 0, nil, &CloseError{Code: ws.StatusProtocolError, Reason: proto.ReasonCloseLen}
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return 0, nil, &CloseError{Code: ws.StatusProtocolError, Reason: proto.ReasonCloseCode}
	}
	if !utf8.Valid(p[2:]) {
		return 0, nil, &CloseError{Code: ws.StatusInvalidFramePayloadData, Reason: proto.ReasonCloseUTF8}
	}
	return code, p[2:], nil
}
