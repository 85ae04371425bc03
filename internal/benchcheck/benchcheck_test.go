package benchcheck

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var req = Required{
	"BenchmarkStackRecurse": {"ns/op", "stack-B"},
	"BenchmarkWSFrameRead":  {"MB/s", "allocs/op"},
}

const good = `goos: linux
runtime: go
BenchmarkStackRecurse/frame=small/depth=1000-2   	    1000	      1000 ns/op	      4096 stack-B
BenchmarkWSFrameRead/impl=rtlab/size=16-2   	 100	 20 ns/op	 800.00 MB/s	 0 B/op	 0 allocs/op
BenchmarkOther/x=1 1 1 ns/op
`

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string // substrings of the problems, in order
	}{
		{"good", good, nil},
		{"syntax error", good + "BenchmarkBroken 1 2\n", []string{"x.txt:6: syntax error"}},
		{"positional level", good + "BenchmarkOther/size64 1 1 ns/op\n", []string{`x.txt:6: BenchmarkOther/size64: level "/size64" is not key=value`}},
		{"semicolon", good + "BenchmarkOther/n=1;o=2 1 1 ns/op\n", []string{"holds ';'"}},
		{"duplicate suffix", good + "BenchmarkOther/n=1#01 1 1 ns/op\n", []string{"holds ';', ',' or '#'"}},
		{"empty key", good + "BenchmarkOther/=1 1 1 ns/op\n", []string{"empty key"}},
		{"empty value", good + "BenchmarkOther/k= 1 1 ns/op\n", []string{"empty value"}},
		{"missing unit", good + "BenchmarkStackRecurse/frame=large/depth=10 1 1 ns/op\n", []string{`x.txt:6: BenchmarkStackRecurse/frame=large/depth=10: missing unit "stack-B"`}},
		{"missing benchmark", "BenchmarkStackRecurse/frame=small 1 1 ns/op 1 stack-B\n", []string{"x.txt: BenchmarkWSFrameRead: required by the suite table but absent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Check(strings.NewReader(tc.input), "x.txt", req)
			require.NoError(t, err)
			requireProblems(t, rep, tc.want)
			if tc.want == nil {
				assert.NoError(t, rep.Err())
				assert.Equal(t, 3, rep.Results)
			} else {
				assert.ErrorContains(t, rep.Err(), tc.want[0])
			}
		})
	}
}

func TestCheckReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := Check(iotest.ErrReader(boom), "x.txt", nil)
	assert.ErrorIs(t, err, boom)
}

func TestCheckLastLevel(t *testing.T) {
	req := map[string]LastLevel{"BenchmarkWSIdleConns": {"tls", []string{"off", "on"}}}
	const both = `BenchmarkWSIdleConns/server=goroutine/conns=1000/tls=off-2 1 0 ns/op
BenchmarkWSIdleConns/server=goroutine/conns=1000/tls=on-2 1 0 ns/op
BenchmarkOther/x=1 1 1 ns/op
`
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"good", both, nil},
		{"old name", both + "BenchmarkWSIdleConns/server=nbio/conns=1000-2 1 0 ns/op\n", []string{`x.txt:4: BenchmarkWSIdleConns/server=nbio/conns=1000-2: last level "conns=1000", want tls=off|on`}},
		{"not last", both + "BenchmarkWSIdleConns/server=nbio/tls=on/conns=1000-2 1 0 ns/op\n", []string{`last level "conns=1000"`}},
		{"bad value", both + "BenchmarkWSIdleConns/server=nbio/conns=1000/tls=yes-2 1 0 ns/op\n", []string{`last level "tls=yes"`}},
		{"a value never shown", "BenchmarkWSIdleConns/server=nbio/conns=1000/tls=off 1 0 ns/op\n", []string{"x.txt: BenchmarkWSIdleConns: no result with tls=on"}},
		{"absent benchmark", "BenchmarkOther/x=1 1 1 ns/op\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := CheckLastLevel(strings.NewReader(tc.input), "x.txt", req)
			require.NoError(t, err)
			requireProblems(t, rep, tc.want)
		})
	}
}

// requireProblems checks that rep has one problem per want, in order, each
// containing it.
func requireProblems(t *testing.T, rep Report, want []string) {
	t.Helper()
	require.Len(t, rep.Problems, len(want), "%v", rep.Problems)
	for i, w := range want {
		assert.Contains(t, rep.Problems[i].String(), w)
	}
}
