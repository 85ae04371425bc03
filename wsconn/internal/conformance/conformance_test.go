package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/rtlab/rtlab/internal/wstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestSilentServerFails(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	// Upgraded, then never an answer: it must fail the cases that expect
	// an answer and those that expect it to fail the connection.
	addr, stop, err := wstest.SilentServer()
	require.NoError(t, err)
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
