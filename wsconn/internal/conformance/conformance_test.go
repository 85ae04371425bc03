package conformance

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// startSilentServer completes the opening handshake and then reads and
// drops everything: a server that answers nothing must fail the cases that
// expect an answer and the cases that expect it to fail the connection.
func startSilentServer(t *testing.T) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
				_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
					base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
				_, _ = io.Copy(io.Discard, br)
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close(); wg.Wait() }
}

func TestSilentServerFails(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	addr, stop := startSilentServer(t)
	defer stop()
	want := map[string]bool{"1.1.1": true, "2.5": true, "7.3.3": true, "6.4.1": true}
	rs := Run(addr, Options{Timeout: 200 * time.Millisecond, Filter: func(id string) bool { return want[id] }})
	require.Len(t, rs, len(want))
	for _, r := range rs {
		assert.Equal(t, Fail, r.Verdict, "case %s: %s", r.Case, r.Detail)
		assert.NotEmpty(t, r.Detail, "a fail says why")
	}
}

func TestCases(t *testing.T) {
	seen := map[string]bool{}
	groups := map[string]int{}
	for _, c := range Cases() {
		require.False(t, seen[c.ID], "duplicate case %s", c.ID)
		seen[c.ID] = true
		require.NotEmpty(t, c.Desc, c.ID)
		require.NotEmpty(t, c.acts, c.ID)
		groups[strings.SplitN(c.ID, ".", 2)[0]]++
	}
	for _, g := range []string{"1", "2", "3", "4", "5", "6", "7", "9"} {
		assert.Positive(t, groups[g], "group %s has no case", g)
	}
}

func TestWriteTable(t *testing.T) {
	a := []Result{{Case: "1.1.1", Desc: "one", Verdict: Pass}, {Case: "2.1", Desc: "two", Verdict: NonStrict, Detail: "late"}}
	b := []Result{{Case: "1.1.1", Desc: "one", Verdict: Pass}, {Case: "2.1", Desc: "two", Verdict: Fail, Detail: "wrong"}}
	var out strings.Builder
	require.NoError(t, WriteTable(&out, []string{"x", "y"}, [][]Result{a, b}, false))
	s := out.String()
	assert.NotContains(t, s, "1.1.1 ", "rows where every server passes are left out")
	assert.Contains(t, s, "2.1")
	assert.Contains(t, s, "1/1/0")
	assert.Contains(t, s, "1/0/1")
	assert.Contains(t, s, "y 2.1 fail: wrong")
}
