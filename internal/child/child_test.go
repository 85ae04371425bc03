package child

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	echoEnv = Register("child_test.env", func(arg string) int {
		fmt.Printf("arg=%s gogc=%s\n", arg, os.Getenv("GOGC"))
		fmt.Fprintln(os.Stderr, "to stderr")
		return 7
	})
	sleeper = Register("child_test.sleep", func(string) int {
		fmt.Fprintln(os.Stderr, "going to sleep")
		time.Sleep(time.Hour)
		return 0
	})
	upper = Register("child_test.upper", func(string) int {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println(strings.ToUpper(sc.Text()))
		}
		return 0
	})
	crash = Register("child_test.crash", func(string) int {
		panic("deliberate crash")
	})
)

func TestRunPassesArgEnvAndExitCode(t *testing.T) {
	r, err := echoEnv.Run(context.Background(), Options{Arg: "hello", Env: []string{"GOGC=37"}})
	require.NoError(t, err)
	assert.Equal(t, 7, r.ExitCode)
	assert.Equal(t, "arg=hello gogc=37\n", string(r.Stdout))
	assert.Equal(t, "to stderr\n", string(r.Stderr))
	assert.ErrorContains(t, r.Err(), "exit code 7")
	assert.ErrorContains(t, r.Err(), "to stderr")
}

func TestRunReportsCrashStderr(t *testing.T) {
	r, err := crash.Run(context.Background(), Options{})
	require.NoError(t, err)
	assert.Equal(t, 2, r.ExitCode)
	assert.ErrorContains(t, r.Err(), "deliberate crash")
}

func TestRunKillsAtTimeout(t *testing.T) {
	start := time.Now()
	// Long enough for a race-built child on a loaded machine to start and
	// say it is going to sleep (300 ms was not, once in CI).
	r, err := sleeper.Run(context.Background(), Options{Timeout: 2 * time.Second})
	require.ErrorIs(t, err, ErrTimeout)
	assert.ErrorContains(t, err, "going to sleep", "the error carries the child's stderr")
	assert.Equal(t, -1, r.ExitCode)
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := sleeper.Run(ctx, Options{})
	require.ErrorIs(t, err, ErrTimeout)
}

func TestStartPipes(t *testing.T) {
	p, err := upper.Start(context.Background(), Options{Timeout: time.Minute})
	require.NoError(t, err)
	assert.Positive(t, p.Pid())
	_, err = io.WriteString(p.Stdin, "abc\n")
	require.NoError(t, err)
	line, err := bufio.NewReader(p.Stdout).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "ABC\n", line)
	require.NoError(t, p.Stdin.Close())
	r, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, 0, r.ExitCode)
	r2, err2 := p.Wait()
	assert.Equal(t, r, r2)
	assert.Equal(t, err, err2)
}

func TestStartKill(t *testing.T) {
	p, err := sleeper.Start(context.Background(), Options{})
	require.NoError(t, err)
	p.Kill()
	r, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, -1, r.ExitCode)
}

func TestErrors(t *testing.T) {
	_, err := Func{}.Run(context.Background(), Options{})
	assert.ErrorContains(t, err, "Register")
	assert.Panics(t, func() { Register("child_test.env", nil) })
	assert.False(t, InChild())
	assert.Equal(t, "child_test.env", echoEnv.Name())
	assert.Contains(t, Registered(), "child_test.env")
}

type sumCfg struct{ A, B int }
type sumRes struct {
	Sum     int
	GODEBUG string
}

var sum = RegisterJSON("child_test.sum", func(c sumCfg) (sumRes, error) {
	if c.A < 0 {
		return sumRes{}, fmt.Errorf("A %d must be >= 0", c.A)
	}
	return sumRes{Sum: c.A + c.B, GODEBUG: os.Getenv("GODEBUG")}, nil
})

func TestJSON(t *testing.T) {
	t.Setenv("GODEBUG", "madvdontneed=1")
	r, err := sum.Run(context.Background(), sumCfg{A: 2, B: 3}, Options{Env: []string{GODEBUG(Flag("asyncpreemptoff", true))}})
	require.NoError(t, err)
	assert.Equal(t, 5, r.Sum)
	assert.Equal(t, "madvdontneed=1,asyncpreemptoff=1", r.GODEBUG)

	_, err = sum.Run(context.Background(), sumCfg{A: -1}, Options{})
	assert.ErrorContains(t, err, "child_test.sum")
	assert.ErrorContains(t, err, "A -1 must be >= 0")
	assert.Equal(t, "child_test.sum", sum.Name())
}

func TestGODEBUG(t *testing.T) {
	t.Setenv("GODEBUG", "")
	assert.Equal(t, "GODEBUG=a=0,b=1", GODEBUG(Flag("a", false), Flag("b", true)))
}

var counter = Register("child_test.ctl", func(arg string) int {
	if arg == "fail" {
		Serve(os.Stdin, os.Stdout, nil, fmt.Errorf("not ready: %s", arg), nil)
		return 1
	}
	n := 0
	Serve(os.Stdin, os.Stdout, "ready", nil, func(cmd, arg string) (any, bool, error) {
		switch cmd {
		case "add":
			n += len(arg)
			return n, false, nil
		case "quit":
			return n, true, nil
		}
		return nil, false, fmt.Errorf("unknown command %q", cmd)
	})
	return 0
})

func TestCtl(t *testing.T) {
	var ready string
	c, err := counter.StartCtl(context.Background(), Options{Timeout: time.Minute}, &ready)
	require.NoError(t, err)
	t.Cleanup(c.Kill)
	assert.Equal(t, "ready", ready)
	assert.Positive(t, c.Pid())
	var n int
	require.NoError(t, c.Call("add abc", &n))
	assert.Equal(t, 3, n)
	require.NoError(t, c.Call("add de", &n))
	assert.Equal(t, 5, n)
	assert.ErrorContains(t, c.Call("bogus", nil), `unknown command "bogus"`)
	require.NoError(t, c.Call("quit", &n))
	require.NoError(t, c.End())
	assert.ErrorContains(t, c.Call("add x", nil), "child_test.ctl", "an ended child answers nothing")
}

func TestCtlNotReady(t *testing.T) {
	_, err := counter.StartCtl(context.Background(), Options{Arg: "fail", Timeout: time.Minute}, nil)
	assert.ErrorContains(t, err, "not ready: fail")
}
