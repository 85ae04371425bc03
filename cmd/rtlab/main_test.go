package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/rtlab/rtlab/internal/nodejs"
	"github.com/rtlab/rtlab/internal/procmem"
	"github.com/rtlab/rtlab/internal/runinfo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/perf/benchfmt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// mainEnv makes the test binary run rtlab's Main with the arguments after
// "--" instead of the tests: how the pseudo-terminal test runs the command.
const mainEnv = "RTLAB_TEST_MAIN"

func TestMain(m *testing.M) {
	deadlockIfAsked()
	if os.Getenv(mainEnv) != "" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		os.Exit(runMain(args))
	}
	goleak.VerifyTestMain(m)
}

// run runs Main in this process and returns its output and exit status.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(t.Context(), args, &o, &e)
	return o.String(), e.String(), code
}

func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./cmd/rtlab -run %s -update to create it", t.Name())
	assert.Equal(t, string(want), got)
}

func TestList(t *testing.T) {
	out, errOut, code := run(t, "list")
	require.Zero(t, code, errOut)
	golden(t, "list.golden", out)
	for _, x := range experiments {
		for _, id := range x.claims {
			_, ok := rules[id]
			assert.True(t, ok, "%s names claim %s, which has no rule", x.name, id)
		}
	}
}

// fixedConfig stands for runinfo.Lines in golden files, which must not
// depend on the Go version or machine.
var fixedConfig = []runinfo.Line{{Key: "runtime", Value: "go"}, {Key: "go", Value: "go1.26.0"}, {Key: "gogc", Value: "100"}}

var fixedRows = []Row{
	{"StackRecurse/frame=small/depth=1000", []Metric{{511000, "ns/op"}, {48273, "stack-B"}, {5, "growths"}}},
	{"StackRecurse/frame=small/depth=100000", []Metric{{32e6, "ns/op"}, {4.8e6, "stack-B"}, {12, "growths"}}},
	{"StackRecurse/frame=large/depth=1000", []Metric{{804323, "ns/op"}, {1064280, "stack-B"}, {10, "growths"}}},
	{"StackRecurse/frame=small/depth=1000", []Metric{{531000, "ns/op"}, {48273, "stack-B"}, {5, "growths"}}},
}

func TestTableLayout(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, writeTable(&b, "stack-recurse: a title", fixedConfig, fixedRows))
	golden(t, "table.golden", b.String())
}

func TestTableHidesMeaninglessTime(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, writeTable(&b, "", nil, []Row{{"StackMaxDepth/model=go", []Metric{{0, "ns/op"}, {10891, "max-depth"}}}}))
	assert.NotContains(t, b.String(), "sec/op", "ns/op reported as 0 means nothing and is not shown")
	assert.Contains(t, b.String(), "10.89k")
}

func TestBenchfmt(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, writeBenchfmt(&b, fixedConfig, fixedRows, 2))
	golden(t, "benchfmt.golden", b.String())

	// What benchstat reads: every row, its configuration, its units.
	r := benchfmt.NewReader(bytes.NewReader(b.Bytes()), "x")
	n := 0
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		require.True(t, ok, "%v", r.Result())
		assert.Equal(t, "go1.26.0", res.GetConfig("go"))
		assert.Equal(t, fixedRows[n].Name+"-2", string(res.Name.Full()))
		v, ok := res.Value("stack-B")
		assert.True(t, ok)
		assert.Equal(t, fixedRows[n].Metrics[1].Value, v)
		n++
	}
	require.NoError(t, r.Err())
	assert.Equal(t, len(fixedRows), n)
}

func TestConfigLinesAreTheSuites(t *testing.T) {
	got := configLines()
	for i, l := range runinfo.Lines() {
		assert.Equal(t, l, got[i], "run -o opens with the root suite's configuration lines")
	}
	assert.Contains(t, got, runinfo.Line{Key: "pkg", Value: suitePkg})
}

func TestRunWritesBenchfmt(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.txt")
	stdout, stderr, code := run(t, "run", "stack-recurse", "-frame", "small", "-depth", "100,1000", "-count", "2", "-o", out)
	require.Zero(t, code, stderr)
	assert.Contains(t, stdout, "stack-B")
	assert.Empty(t, stderr, "no progress bar when stderr is not a terminal")
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	r := benchfmt.NewReader(f, out)
	n := 0
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		require.True(t, ok, "%v", r.Result())
		for _, l := range runinfo.Lines() {
			assert.Equal(t, l.Value, res.GetConfig(l.Key))
		}
		n++
	}
	require.NoError(t, r.Err())
	assert.Equal(t, 4, n)
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"run"}, "run needs an experiment"},
		{[]string{"run", "nope"}, `unknown experiment "nope"`},
		{[]string{"run", "stack-recurse", "-frame", "huge"}, `"huge" is not one of all, small, large`},
		{[]string{"run", "stack-recurse", "-depth", "-3"}, `-depth`},
		{[]string{"run", "stack-recurse", "-count", "0"}, "-count 0"},
		{[]string{"run", "stack-recurse", "-nope"}, "flag provided but not defined: -nope"},
		{[]string{"plot", "stack"}, "-o file.svg or -o file.png is required"},
		{[]string{"plot", "stack", "-o", "x.jpg"}, "want a .svg or .png file"},
		{[]string{"plot", "nope", "-o", "x.svg"}, `unknown plot "nope"`},
		{[]string{"claims", "C99"}, `unknown claim "C99"`},
		{[]string{"ws"}, "ws needs serve or load"},
		{[]string{"ws", "serve", "-design", "threads"}, `-design "threads": want one of`},
		{[]string{"ws", "load", "-conns", "0"}, "-conns 0"},
		{[]string{"ws", "load", "-size", "3"}, "-size 3: want at least 24"},
		{[]string{"ws", "load", "-conns", "100000000"}, "-conns 100000000: the open-files limit is"},
		{[]string{"run", "ws-frame-read", "-benchtime", "0x"}, `-benchtime "0x": want a positive duration`},
		{[]string{"run", "ws-frame-read", "-impl", "Gorilla"}, `"Gorilla" is not an impl name`},
		{[]string{"run", "ws-frame-read", "-impl", "nope", "-size", "16", "-benchtime", "1x"}, "no row of the root suite's BenchmarkWSFrameRead matched"},
		{[]string{"run", "ws-echo", "-size", "8"}, "-size 8: want at least 24"},
		{[]string{"run", "ws-echo", "-server", "threads"}, `"threads" is not one of all, goroutine, reactor, nodews`},
		{[]string{"run", "chan-throughput", "-cap", "-1"}, `"-1" is not an integer of at least 0`},
		{[]string{"run", "gc-sampler", "-interval", "0s"}, `"0s" is not a positive duration`},
		{[]string{"run", "ws-idleconns", "-conns", "4000000000"}, "-conns 4000000000: in the server's process, the open-files limit is"},
		{[]string{"run", "ws-echo", "-conns", "4000000000"}, "-conns 4000000000: in the server's process, the open-files limit is"},
		{[]string{"run", "ws-echo-rate", "-conns", "4000000000"}, "-conns 4000000000: in the server's process, the open-files limit is"},
		{[]string{"run", "ws-lifecycle", "-conns", "4000000000"}, "-conns 4000000000: in the server's process, the open-files limit is"},
		{[]string{"run", "ws-reconnect", "-conns", "4000000000"}, "-conns 4000000000: in the server's process, the open-files limit is"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := run(t, tc.args...)
			assert.Equal(t, 2, code, "stdout: %s\nstderr: %s", stdout, stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
	_, _, code := run(t, "-h")
	assert.Zero(t, code)
}

// TestFitConns: a default connection count over the open-files limit
// becomes what fits (4e9 is over any Linux limit); a count given with
// -conns is refused.
func TestFitConns(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	counts := intList(fs, "conns", []int{1, 4_000_000_000, 4_000_000_001}, "")
	got, err := fitConns(fs, *counts)
	require.NoError(t, err)
	fit, why := procmem.FitFDs(4_000_000_000, 1, 0, "connections")
	require.NotEmpty(t, why)
	assert.Equal(t, []int{1, fit}, got, "defaults fit, each count once")

	require.NoError(t, fs.Parse([]string{"-conns", "1,4000000000"}))
	_, err = fitConns(fs, *counts)
	assert.ErrorContains(t, err, "-conns 4000000000: in the server's process, the open-files limit is")
}

func TestParseClaims(t *testing.T) {
	cs, err := parseClaims(claimsMD)
	require.NoError(t, err)
	require.Len(t, cs, 48)
	for i, c := range cs {
		assert.Equal(t, "C"+twoDigits(i+1), c.ID)
		_, ok := rules[c.ID]
		assert.True(t, ok, "no rule for %s", c.ID)
		assert.NotEmpty(t, rules[c.ID].deeper, "%s has no deeper command", c.ID)
	}
	assert.Len(t, rules, len(cs), "a rule for every claim and no other")
	_, err = parseClaims("| C01 | x |\n")
	assert.ErrorContains(t, err, "want 4 cells")
}

func twoDigits(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

// TestClaimsQuickJSON runs the whole ledger as CI would and checks its
// structure: every claim present with a verdict, or a skip saying why.
// Never a particular verdict: that is the machine's to say.
func TestClaimsQuickJSON(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector slows the measurements several times over; the plain go test ./... runs the ledger")
	}
	if testing.Short() {
		t.Skip("-short: the quick ledger takes about a minute")
	}
	t0 := time.Now()
	stdout, stderr, code := run(t, "claims", "--quick", "--json")
	require.Zero(t, code, "stderr:\n%s", stderr)
	t.Logf("claims --quick --json took %v", time.Since(t0).Round(time.Second))
	var got struct {
		Quick  bool
		Config []string
		Claims []ledgerRow
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &got))
	assert.True(t, got.Quick)
	all, err := parseClaims(claimsMD)
	require.NoError(t, err)
	require.Len(t, got.Claims, len(all))
	for i, c := range all {
		r := got.Claims[i]
		assert.Equal(t, c.ID, r.ID)
		assert.Contains(t, []string{verdictHolds, verdictNot, verdictDepends, verdictSkip}, r.Verdict, "%s", r.ID)
		if r.Verdict == verdictSkip || r.Verdict == verdictDepends || r.Verdict == verdictNot {
			assert.NotEmpty(t, r.On, "%s: a %s must say why", r.ID, r.Verdict)
		}
		if r.Verdict != verdictSkip {
			assert.NotEmpty(t, r.Measured, "%s: a verdict comes from a measurement", r.ID)
		}
		assert.NotContains(t, r.On, "measurement failed", "%s: a measurement the machine allows broke", r.ID)
		t.Logf("%s %-13s %5.1fs %s", r.ID, r.Verdict, r.Seconds, r.On)
	}
}

func TestPlotsRender(t *testing.T) {
	xy := func(v ...float64) plotter.XYs {
		var out plotter.XYs
		for i := 0; i+1 < len(v); i += 2 {
			out = append(out, plotter.XY{X: v[i], Y: v[i+1]})
		}
		return out
	}
	lc := lifecycleData{Conns: 1000, Servers: []string{"reactor", "goroutine"}, Traces: map[string][]lifecycleSample{
		"reactor":   {{"baseline", 0, 8 << 20}, {"establish", 1, 10 << 20}, {"flood", 2, 11 << 20}, {"close", 3, 9 << 20}},
		"goroutine": {{"baseline", 0, 8 << 20}, {"establish", 1, 16 << 20}, {"flood", 2, 20 << 20}, {"close", 3, 18 << 20}},
	}}
	cases := map[string]func() ([]*plot.Plot, error){
		"stack": func() ([]*plot.Plot, error) {
			return stackData{Go: xy(100, 5e3, 1000, 48e3, 1e5, 4.8e6), Fixed: xy(100, 5e3, 1000, 48e3, 20986, 1e6), Growths: xy(100, 2, 1000, 5, 1e5, 12), FixedMax: 20986, FixedBudget: 984 << 10, V8: xy(100, 9.6e3, 10467, 1e6)}.plots()
		},
		"gc": func() ([]*plot.Plot, error) {
			return gcData{Points: []gcPoint{{"go", 0.05, 2, 4, 0.001}, {"go", 0.05, 6, 20, 0.002}, {"go", 0.05, 110, 25, 0.003}, {"v8", 0.05, 1.4, 14, 0.004}, {"v8", 0.05, 80, 0, 0}}}.plots()
		},
		"lifecycle": func() ([]*plot.Plot, error) { return lc.plots() },
		"idleconns": func() ([]*plot.Plot, error) {
			return idleData{Points: []idlePoint{{"reactor", 1000, 600}, {"reactor", 9000, 565}, {"goroutine", 1000, 12000}, {"goroutine", 9000, 11900}}}.plots()
		},
		"pingpong": func() ([]*plot.Plot, error) {
			return pingData{Bars: []pingBar{{"Go chan", 600e-9}, {"Go spin", 9e-6}, {"Node atomics", 22e-6}}}.plots()
		},
	}
	for _, p := range plots {
		t.Run(p.name, func(t *testing.T) {
			mk, ok := cases[p.name]
			require.True(t, ok, "no fixture for plot %s", p.name)
			for _, ext := range []string{".png", ".svg"} {
				v, err := mk()
				require.NoError(t, err)
				path := filepath.Join(t.TempDir(), p.name+ext)
				require.NoError(t, savePlots(path, "fixture caption", v...))
				f, err := os.Open(path)
				require.NoError(t, err)
				if ext == ".png" {
					img, err := png.Decode(f)
					require.NoError(t, err)
					assert.Greater(t, img.Bounds().Dx(), 400)
				} else {
					var root struct {
						XMLName xml.Name
						Width   string `xml:"width,attr"`
					}
					require.NoError(t, xml.NewDecoder(f).Decode(&root))
					assert.Equal(t, "svg", root.XMLName.Local)
					data, err := os.ReadFile(path)
					require.NoError(t, err)
					assert.Contains(t, string(data), "fixture caption")
				}
				f.Close()
			}
		})
	}
	_, err := gcData{}.plots()
	assert.Error(t, err, "no data is an error, not an empty picture")
}

func TestReadLifecycleCSV(t *testing.T) {
	dir := t.TempDir()
	csv := "phase,elapsed_s,rss_bytes,vss_bytes\nbaseline,0,8388608,1\nestablish,1.5,16777216,1\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lifecycle-reactor-1000.csv"), []byte(csv), 0o644))
	var src plotSource
	d, err := readLifecycleDir(dir, &src)
	require.NoError(t, err)
	assert.Equal(t, 1000, d.Conns)
	assert.Equal(t, []lifecycleSample{{"baseline", 0, 8 << 20}, {"establish", 1.5, 16 << 20}}, d.Traces["reactor"])
	assert.Contains(t, src.caption(), "recorded on a machine they do not name", "no machine file: the caption says so")
	require.NoError(t, os.WriteFile(filepath.Join(dir, lifecycleMachine), []byte("lab-7, Some CPU, linux/amd64, GOMAXPROCS 2, go1.26.0\n"), 0o644))
	_, err = readLifecycleDir(dir, &src)
	require.NoError(t, err)
	assert.Equal(t, "traces from "+dir+", recorded on lab-7, Some CPU, linux/amd64, GOMAXPROCS 2, go1.26.0", src.caption())
	_, err = readLifecycleDir(t.TempDir(), &src)
	assert.ErrorContains(t, err, "no lifecycle-<server>-<conns>.csv files")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lifecycle-reactor-1000.csv"), []byte("phase,x\nb,1\n"), 0o644))
	_, err = readLifecycleDir(dir, &src)
	assert.ErrorContains(t, err, "no elapsed_s column")
}

// commandOnPTY runs the test binary as rtlab with stderr on a
// pseudo-terminal (or, with tty false, a pipe) and returns what arrived
// on stderr.
func commandOnPTY(t *testing.T, tty bool, args ...string) (stdout, stderr string) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.CommandContext(t.Context(), exe, append([]string{"--"}, args...)...)
	cmd.Env = append(os.Environ(), mainEnv+"=1", "RTLAB_PROGRESS_DELAY=0")
	var out bytes.Buffer
	cmd.Stdout = &out
	if !tty {
		var errb bytes.Buffer
		cmd.Stderr = &errb
		require.NoError(t, cmd.Run(), "%s", errb.String())
		return out.String(), errb.String()
	}
	ptmx, tt, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	cmd.Stderr = tt
	require.NoError(t, cmd.Start())
	tt.Close() // the child holds it now
	var errb bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = io.Copy(&errb, ptmx) }() // ends with EIO when the child exits
	require.NoError(t, cmd.Wait())
	wg.Wait()
	return out.String(), errb.String()
}

func TestProgressOnTerminalOnly(t *testing.T) {
	args := []string{"run", "stack-recurse", "-frame", "small", "-depth", "100,1000,10000"}
	stdout, stderr := commandOnPTY(t, true, args...)
	assert.Contains(t, stdout, "stack-B", "the table goes to stdout")
	assert.Contains(t, stderr, "StackRecurse/frame=small/depth=", "the bar says what runs")
	assert.Contains(t, stderr, "/3", "the bar says how far")
	assert.Contains(t, stderr, "\r", "the bar redraws its line")

	stdout, stderr = commandOnPTY(t, false, args...)
	assert.Contains(t, stdout, "stack-B")
	assert.Empty(t, stderr, "nothing on a pipe")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWSServeLoad runs ws serve and two ws load against it, as a class
// would in three terminals, and reads the two load outputs together as
// benchstat does.
func TestWSServeLoad(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var sout, serr syncBuffer
	served := make(chan int, 1)
	go func() {
		served <- Main(ctx, []string{"ws", "serve", "-design", "reactor", "-addr", "127.0.0.1:0", "-every", "100ms"}, &sout, &serr)
	}()
	var addr string
	require.Eventually(t, func() bool {
		line, _, _ := strings.Cut(sout.String(), "\n")
		if _, rest, ok := strings.Cut(line, " on "); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
		return addr != ""
	}, 10*time.Second, 10*time.Millisecond, "serve printed: %s %s", sout.String(), serr.String())

	var files [][]byte
	for i := 0; i < 2; i++ {
		out, errOut, code := run(t, "ws", "load", "-addr", addr, "-conns", "20", "-duration", "300ms", "-msg-rate", "20")
		require.Zero(t, code, errOut)
		files = append(files, []byte(out))
	}
	for i, f := range files {
		r := benchfmt.NewReader(bytes.NewReader(f), "load"+string(rune('0'+i)))
		n := 0
		for r.Scan() {
			res, ok := r.Result().(*benchfmt.Result)
			require.True(t, ok, "%v", r.Result())
			assert.Equal(t, "WSLoad/conns=20/size=64", strings.TrimSuffix(string(res.Name.Full()), procsSuffix(runtime.GOMAXPROCS(0))))
			for unit, want := range map[string]float64{"conns": 20, "lost-msgs": 0, "corrupted-msgs": 0, "errors": 0} {
				v, ok := res.Value(unit)
				assert.True(t, ok, unit)
				assert.Equal(t, want, v, unit)
			}
			n++
		}
		require.NoError(t, r.Err())
		assert.Equal(t, 1, n)
	}
	assert.Eventually(t, func() bool { return strings.Count(sout.String(), "\n") >= 3 }, 5*time.Second, 50*time.Millisecond, "status lines every 100ms")
	assert.Contains(t, sout.String(), "goroutines")
	cancel()
	select {
	case code := <-served:
		assert.Zero(t, code, serr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	assert.Contains(t, sout.String(), "stopped")
}

// TestInterrupt sends Ctrl-C's SIGINT to rtlab while a measurement runs in
// child processes: it exits 130, leaves no -o file and no child behind.
// The measurement blocks 1000 goroutines, or as many as the open-files
// limit holds the pipes of, so that it can fail of nothing but the signal.
func TestInterrupt(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "r.txt")
	blocked, why := procmem.FitFDs(1000, 2, 0, "pipes")
	if why != "" {
		t.Log(why)
	}
	cmd := exec.CommandContext(t.Context(), exe, "--", "run", "sched-blocking", "-blocked", strconv.Itoa(blocked), "-count", "50", "-o", out)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	pid := cmd.Process.Pid
	// Wait for the first child process: the measurement is under way.
	require.Eventually(t, func() bool { return len(childrenOf(pid)) > 0 }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stderr: %s", stderr.String())
	assert.Equal(t, 130, exit.ExitCode(), "stderr: %s", stderr.String())
	assert.Contains(t, stderr.String(), "interrupted")
	_, err = os.Stat(out)
	assert.ErrorIs(t, err, os.ErrNotExist, "an interrupted run leaves no -o file")
	assert.Eventually(t, func() bool { return len(childrenOf(pid)) == 0 }, 5*time.Second, 50*time.Millisecond, "children left: %v", childrenOf(pid))
}

// childrenOf lists the processes started by internal/child for parent pid,
// found by the RTLAB_CHILD_PPID their environment carries.
func childrenOf(pid int) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/environ")
	want := []byte("RTLAB_CHILD_PPID=" + strconv.Itoa(pid) + "\x00")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil && bytes.Contains(b, want) {
			out = append(out, d)
		}
	}
	return out
}

// TestDeeperCommandsExist: every "rtlab run X" and "rtlab plot Y" a ledger
// row points to names an experiment or a plot that exists.
func TestDeeperCommandsExist(t *testing.T) {
	for id, r := range rules {
		f := strings.Fields(strings.NewReplacer(";", " ", "(", " ", ")", " ").Replace(r.deeper))
		for i := 0; i+2 < len(f); i++ {
			if f[i] != "rtlab" {
				continue
			}
			switch f[i+1] {
			case "run":
				_, err := findExperiment(f[i+2])
				assert.NoError(t, err, "%s: %s", id, r.deeper)
			case "plot":
				found := false
				for _, p := range plots {
					found = found || p.name == f[i+2]
				}
				assert.True(t, found, "%s: no plot %q", id, f[i+2])
			}
		}
	}
}

// TestClaimsNeedNode: without node a V8 row is a skip that says so, and a
// row with a Go half still shows what Go measured.
func TestClaimsNeedNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	stdout, stderr, code := run(t, "claims", "--quick", "--json", "C04", "C17", "C46")
	require.Zero(t, code, stderr)
	var got struct{ Claims []ledgerRow }
	require.NoError(t, json.Unmarshal([]byte(stdout), &got))
	require.Len(t, got.Claims, 3)
	for _, r := range got.Claims {
		assert.Equal(t, verdictSkip, r.Verdict, r.ID)
		assert.True(t, strings.HasPrefix(r.On, "needs node"), "%s: %s", r.ID, r.On)
	}
	assert.Contains(t, got.Claims[1].Measured, "Go: a 32769 B object", "the Go half of C17 is measured without node")
	assert.Contains(t, got.Claims[2].Measured, "Go: two goroutines incrementing their own counters", "the Go half of C46 is measured without node")
}

func TestNodeValueUnits(t *testing.T) {
	res, err := nodejs.Parse([]byte("BenchmarkGCShape/survival=0.05/ptrs=high-2 1 0 p99-pause-ns 81.9 ptrs/KiB\nBenchmarkGCShape/survival=0.2/ptrs=low-2 1 2500000 p99-pause-ns 3000 ns/op\n"), "node.txt")
	require.NoError(t, err)
	nr := &benchRun{results: res}
	for _, tc := range []struct {
		name, unit string
		want       float64
	}{
		{"GCShape/survival=0.05/ptrs=high", "p99-pause-ns", 0},
		{"GCShape/survival=0.05/ptrs=high", "ptrs/KiB", 81.9},
		{"GCShape/survival=0.2/ptrs=low", "p99-pause-ns", 2.5e6},
		{"GCShape/survival=0.2/ptrs=low", "sec/op", 3e-6},
	} {
		v, ok := nr.value(tc.name, tc.unit)
		assert.True(t, ok, "%s %s", tc.name, tc.unit)
		assert.InDelta(t, tc.want, v, tc.want*1e-9, "%s %s", tc.name, tc.unit)
	}
	_, ok := nr.value("GCShape/survival=0.2/ptrs=low", "gc-cpu-%")
	assert.False(t, ok)
}
