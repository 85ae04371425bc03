package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rtlab/rtlab/channels"
	"github.com/rtlab/rtlab/gc"
	"github.com/rtlab/rtlab/internal/nodejs"
	"github.com/rtlab/rtlab/stack"
	"github.com/rtlab/rtlab/wsconn/load"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// A plotDef is one picture: its flags, how it measures its data, and how
// it draws them (separately, so tests draw fixture data).
type plotDef struct {
	name, desc string
	// define adds the plot's flags and returns what measures and draws.
	define func(fs *flag.FlagSet) func(ctx context.Context, e *env, src *plotSource) ([]*plot.Plot, error)
}

var plots = []plotDef{
	{"stack", "stack bytes and copies vs recursion depth: Go, the fixed model, V8", func(fs *flag.FlagSet) func(context.Context, *env, *plotSource) ([]*plot.Plot, error) {
		useNode := fs.Bool("node", true, "add V8's line (needs node and a clone of rtlab)")
		return func(ctx context.Context, e *env, src *plotSource) ([]*plot.Plot, error) {
			d, err := gatherStack(ctx, e, src, *useNode)
			if err != nil {
				return nil, err
			}
			return d.plots()
		}
	}},
	{"gc", "GC CPU share and p99 pause vs pointer density, by survival: Go and V8", func(fs *flag.FlagSet) func(context.Context, *env, *plotSource) ([]*plot.Plot, error) {
		useNode := fs.Bool("node", true, "add V8's lines (needs node and a clone of rtlab)")
		live := fs.Int("live-mib", 8, "Go's live heap in MiB")
		return func(ctx context.Context, e *env, src *plotSource) ([]*plot.Plot, error) {
			if *live <= 0 {
				return nil, usagef("-live-mib %d: want a positive size", *live)
			}
			d, err := gatherGC(ctx, e, src, int64(*live)<<20, *useNode)
			if err != nil {
				return nil, err
			}
			return d.plots()
		}
	}},
	{"lifecycle", "server RSS through establish, flood, idle, close, GC, free, per server design", func(fs *flag.FlagSet) func(context.Context, *env, *plotSource) ([]*plot.Plot, error) {
		dir := fs.String("csv", "", "read the traces from `dir` (lifecycle-<server>-<conns>.csv, from rtlab run ws-lifecycle -csv) instead of measuring")
		conns := fs.Int("conns", 2000, "connections when measuring")
		servers := serverFlag(fs)
		return func(ctx context.Context, e *env, src *plotSource) ([]*plot.Plot, error) {
			var d lifecycleData
			var err error
			if *dir != "" {
				d, err = readLifecycleDir(*dir, src)
			} else if *conns <= 0 {
				return nil, usagef("-conns %d: want a positive count", *conns)
			} else {
				d, err = gatherLifecycle(ctx, e, src, servers(), *conns)
			}
			if err != nil {
				return nil, err
			}
			return d.plots()
		}
	}},
	{"idleconns", "server RSS per idle connection vs connection count, per server design", func(fs *flag.FlagSet) func(context.Context, *env, *plotSource) ([]*plot.Plot, error) {
		conns := intList(fs, "conns", []int{500, 2000, 5000}, "connection counts")
		servers := serverFlag(fs)
		return func(ctx context.Context, e *env, src *plotSource) ([]*plot.Plot, error) {
			d, err := gatherIdle(ctx, e, src, servers(), *conns)
			if err != nil {
				return nil, err
			}
			return d.plots()
		}
	}},
	{"pingpong", "round trip between two threads of control by mechanism: Go and Node", func(fs *flag.FlagSet) func(context.Context, *env, *plotSource) ([]*plot.Plot, error) {
		useNode := fs.Bool("node", true, "add Node's mechanisms (needs node and a clone of rtlab)")
		return func(ctx context.Context, e *env, src *plotSource) ([]*plot.Plot, error) {
			d, err := gatherPingPong(ctx, e, src, *useNode)
			if err != nil {
				return nil, err
			}
			return d.plots()
		}
	}},
}

func cmdPlot(ctx context.Context, e *env, args []string) error {
	var all []string
	for _, p := range plots {
		all = append(all, p.name)
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprintln(e.stdout, "usage: rtlab plot <plot> -o file.svg|file.png [flags]")
			fmt.Fprintln(e.stdout)
			for _, p := range plots {
				fmt.Fprintf(e.stdout, "  %-10s %s\n", p.name, p.desc)
			}
			return errHelp
		}
		return usagef("plot needs a plot first: one of %s", strings.Join(all, ", "))
	}
	var def *plotDef
	for i := range plots {
		if plots[i].name == args[0] {
			def = &plots[i]
		}
	}
	if def == nil {
		return usagef("unknown plot %q: want one of %s", args[0], strings.Join(all, ", "))
	}
	fs := newFlagSet(e, "plot "+def.name, "-o file.svg|file.png [flags]", def.desc+".")
	out := fs.String("o", "", "output `file`: .svg or .png")
	build := def.define(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("plot %s: unexpected arguments %q", def.name, fs.Args())
	}
	if *out == "" {
		return usagef("plot %s: -o file.svg or -o file.png is required", def.name)
	}
	if ext := strings.ToLower(filepath.Ext(*out)); ext != ".svg" && ext != ".png" {
		return usagef("-o %s: want a .svg or .png file", *out)
	}
	var src plotSource
	ps, err := build(ctx, e, &src)
	if err != nil {
		return err
	}
	return savePlots(*out, src.caption(), ps...)
}

// plotSource is where a picture's figures came from, for its caption.
type plotSource struct {
	node   string // the version of the node whose figures are drawn; "" if none are
	noNode string // why a picture that can show Node's figures shows none
	trace  string // the machine a trace read from files was recorded on
}

// without notes that no Node figures are drawn, and why.
func (s *plotSource) without(why string) {
	s.node, s.noNode = "", why
}

// nodeServer notes the node behind a nodews server among servers, or why
// there is none.
func (s *plotSource) nodeServer(servers []string) {
	if !slices.Contains(servers, serverNodeWS) {
		why := "nodews not asked for (-server)"
		if err := nodeHere(); err != nil {
			why = oneLine(err.Error())
		}
		s.without(why)
		return
	}
	if n, err := nodejs.Find(); err == nil {
		s.node = n.Version
	}
}

// caption names the machine and the runtimes under a picture: this one,
// Go, and the node whose figures are drawn; for traces read from files,
// the machine they were recorded on.
func (s *plotSource) caption() string {
	c := machineLine()
	if s.trace != "" {
		return s.trace
	}
	switch {
	case s.node != "":
		c += ", node " + s.node
	case s.noNode != "":
		c += "; no Node figures: " + s.noNode
	}
	return c
}

// machineLine is this machine and its Go: host, CPU, OS/architecture,
// GOMAXPROCS and Go version.
func machineLine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %s, %s/%s, GOMAXPROCS %d, %s", host, strings.TrimSpace(cpuName()), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.Version())
}

// savePlots draws the plots one above the other with the caption below and
// writes them to path, as SVG or PNG by its extension. A failed write
// leaves no file.
func savePlots(path, caption string, ps ...*plot.Plot) error {
	lines := wrapWords(caption, 150)
	lineH := 0.15 * vg.Inch
	pad := 0.25*vg.Inch + vg.Length(len(lines))*lineH
	w, h := 8*vg.Inch, vg.Length(len(ps))*4*vg.Inch+pad
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		c = vgsvg.New(w, h)
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))}
	default:
		return fmt.Errorf("%s: want .svg or .png", path)
	}
	dc := draw.New(c)
	area := draw.Crop(dc, 0, 0, pad, 0)
	var rows [][]*plot.Plot
	for _, p := range ps {
		rows = append(rows, []*plot.Plot{p})
	}
	tiles := draw.Tiles{Rows: len(ps), Cols: 1, PadTop: 4, PadBottom: 4, PadLeft: 4, PadRight: 8, PadY: 12}
	cs := plot.Align(rows, tiles, area)
	for i, p := range ps {
		p.Draw(cs[i][0])
	}
	sty := draw.TextStyle{Color: color.Gray{Y: 0x50}, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler}
	sty.Font.Size = vg.Points(8)
	for i, l := range lines {
		dc.FillText(sty, vg.Point{X: dc.Min.X + 8, Y: dc.Min.Y + 8 + vg.Length(len(lines)-1-i)*lineH}, l)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = c.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// wrapWords breaks s into lines of at most n bytes at spaces (a longer
// word gets a line of its own).
func wrapWords(s string, n int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > n {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

// headroom raises a linear Y axis so the legend in the top left corner
// sits above the data: by a twelfth of the range per legend entry, at
// least a fifth. from0 also starts the axis at 0.
func headroom(p *plot.Plot, from0 bool, entries int) {
	if from0 {
		p.Y.Min = 0
	}
	frac := max(0.2, float64(entries)/12)
	p.Y.Max += (p.Y.Max - p.Y.Min) * frac
}

// addLine adds a line with points of the next default colour.
func addLine(p *plot.Plot, i int, name string, xys plotter.XYs, dashed bool) error {
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
	s.Shape = plotutil.Shape(i)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}

// nodeBench runs node/bench.js -short -benchtime 1x -bench re for a plot
// and notes the node in src; when node cannot run it says why on stderr
// and in src, and returns nil.
func nodeBench(ctx context.Context, e *env, src *plotSource, re string) *benchRun {
	n, root, err := findNode(ctx)
	if err == nil {
		r, _, berr := n.Bench(ctx, root, nodejs.BenchConfig{Bench: re, Benchtime: "1x", Short: true})
		if berr == nil {
			src.node = n.Version
			return &benchRun{results: r}
		}
		err = berr
	}
	src.noNode = oneLine(err.Error())
	fmt.Fprintf(e.stderr, "rtlab: plot without Node: %v\n", src.noNode)
	return nil
}

// stackData is the stack plot's figures.
type stackData struct {
	Go, Fixed, Growths plotter.XYs // (depth, bytes), (depth, copies)
	FixedMax           float64     // the fixed model's overflow depth
	FixedBudget        float64     // and its budget in bytes
	V8                 plotter.XYs // (depth, bytes) up to its RangeError
}

func gatherStack(ctx context.Context, e *env, src *plotSource, useNode bool) (stackData, error) {
	var d stackData
	depths := []int{100, 300, 1000, 3000, 10000, 30000, 100000}
	p := e.startProgress(2*len(depths) + 2)
	defer p.Finish()
	for _, n := range depths {
		p.Step(fmt.Sprintf("stack: Go, depth %d", n))
		r, err := stack.Recurse(ctx, stack.RecurseConfig{Depth: n})
		if err != nil {
			return d, err
		}
		d.Go = append(d.Go, plotter.XY{X: float64(n), Y: float64(r.StackBytes)})
		d.Growths = append(d.Growths, plotter.XY{X: float64(n), Y: float64(r.Growths)})
		p.Done()
		p.Step(fmt.Sprintf("stack: fixed model, depth %d", n))
		f, err := stack.Recurse(ctx, stack.RecurseConfig{Depth: n, Model: stack.ModelFixed})
		if err == nil {
			d.Fixed = append(d.Fixed, plotter.XY{X: float64(n), Y: float64(f.StackBytes)})
		} else if !errors.Is(err, stack.ErrStackOverflow) {
			return d, err
		}
		p.Done()
	}
	m, err := stack.MaxDepth(ctx, stack.MaxDepthConfig{Model: stack.ModelFixed})
	if err != nil {
		return d, err
	}
	d.FixedMax, d.FixedBudget = float64(m.Depth), float64(m.Budget)
	d.Fixed = append(d.Fixed, plotter.XY{X: float64(m.Depth), Y: float64(m.StackBytes)})
	p.Done()
	if useNode {
		p.Step("stack: V8 (node/bench.js)")
		if nr := nodeBench(ctx, e, src, "^BenchmarkStackMaxDepth$/^model=v8$/^frame=small$"); nr != nil {
			depth, ok1 := nr.value("StackMaxDepth/model=v8/frame=small", "max-depth")
			per, ok2 := nr.value("StackMaxDepth/model=v8/frame=small", "stack-B/frame")
			if ok1 && ok2 {
				for _, n := range depths {
					if float64(n) < depth {
						d.V8 = append(d.V8, plotter.XY{X: float64(n), Y: float64(n) * per})
					}
				}
				d.V8 = append(d.V8, plotter.XY{X: depth, Y: depth * per})
			} else {
				src.without("node/bench.js printed no StackMaxDepth/model=v8/frame=small row")
			}
		}
	} else {
		src.without("-node=false")
	}
	p.Done()
	return d, nil
}

func (d stackData) plots() ([]*plot.Plot, error) {
	a := newPlot("Stack in use vs recursion depth (small frames)", "recursion depth (frames, log)", "stack in use (bytes, log)")
	a.X.Scale, a.Y.Scale = plot.LogScale{}, plot.LogScale{}
	a.X.Tick.Marker, a.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	if err := addLine(a, 0, "Go (grows by copying)", d.Go, false); err != nil {
		return nil, err
	}
	if err := addLine(a, 1, fmt.Sprintf("fixed %s model (overflows at %.0f)", kib(d.FixedBudget), d.FixedMax), d.Fixed, true); err != nil {
		return nil, err
	}
	if len(d.V8) > 0 {
		if err := addLine(a, 2, fmt.Sprintf("V8 (its B/frame x depth; RangeError at %.0f)", d.V8[len(d.V8)-1].X), d.V8, true); err != nil {
			return nil, err
		}
	}
	b := newPlot("Stack copies on the way down (Go)", "recursion depth (frames, log)", "stack copies (growths)")
	b.X.Scale, b.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	if err := addLine(b, 0, "Go: copies, each to a stack twice the size", d.Growths, false); err != nil {
		return nil, err
	}
	headroom(b, true, 1)
	return []*plot.Plot{a, b}, nil
}

// gcPoint is one heap shape run by one runtime.
type gcPoint struct {
	Runtime              string // "go" or "v8"
	Survival, PtrsPerKiB float64
	CPUPct, P99Pause     float64 // percent, seconds
}

type gcData struct{ Points []gcPoint }

func gatherGC(ctx context.Context, e *env, src *plotSource, live int64, useNode bool) (gcData, error) {
	var d gcData
	surv := []float64{0.05, 0.2, 0.5}
	p := e.startProgress(len(surv)*len(gc.Densities()) + 1)
	defer p.Finish()
	for _, s := range surv {
		for _, dn := range gc.Densities() {
			p.Step(fmt.Sprintf("gc: Go, survival %g, ptrs %s", s, dn))
			r, err := gc.Run(ctx, gc.RunConfig{Shape: gc.Shape{Live: live, Survival: s, PointerDensity: dn}})
			if err != nil {
				return d, err
			}
			d.Points = append(d.Points, gcPoint{"go", s, r.PtrsPerKiB, 100 * r.GCCPUShare, r.PauseP99.Seconds()})
			p.Done()
		}
	}
	v8 := false
	if useNode {
		p.Step("gc: V8 (node/bench.js)")
		if nr := nodeBench(ctx, e, src, "^BenchmarkGCShape$"); nr != nil {
			for _, s := range surv {
				for _, dn := range gc.Densities() {
					name := fmt.Sprintf("GCShape/survival=%g/ptrs=%s", s, dn)
					x, ok1 := nr.value(name, "ptrs/KiB")
					c, ok2 := nr.value(name, "gc-cpu-%")
					pz, ok3 := nr.value(name, "p99-pause-ns")
					if ok1 && ok2 && ok3 && nr.collected(name) {
						d.Points = append(d.Points, gcPoint{"v8", s, x, c, pz / 1e9})
						v8 = true
					}
				}
			}
			if !v8 {
				src.without("V8 ran no collection in any GCShape row of node/bench.js -short")
			}
		}
	} else {
		src.without("-node=false")
	}
	p.Done()
	return d, nil
}

func (d gcData) plots() ([]*plot.Plot, error) {
	a := newPlot("GC CPU share vs pointer density", "pointers per KiB of live heap (log)", "GC CPU share (%)")
	b := newPlot("p99 GC pause vs pointer density", "pointers per KiB of live heap (log)", "p99 pause (ms)")
	for _, p := range []*plot.Plot{a, b} {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	type key struct {
		rt string
		s  float64
	}
	var keys []key
	series := map[key][2]plotter.XYs{}
	for _, pt := range d.Points {
		k := key{pt.Runtime, pt.Survival}
		if _, ok := series[k]; !ok {
			keys = append(keys, k)
		}
		s := series[k]
		s[0] = append(s[0], plotter.XY{X: pt.PtrsPerKiB, Y: pt.CPUPct})
		s[1] = append(s[1], plotter.XY{X: pt.PtrsPerKiB, Y: pt.P99Pause * 1e3})
		series[k] = s
	}
	if len(keys) == 0 {
		return nil, errors.New("gc plot: no data")
	}
	for i, k := range keys {
		name := fmt.Sprintf("%s, survival %g", map[string]string{"go": "Go", "v8": "V8"}[k.rt], k.s)
		for j, p := range []*plot.Plot{a, b} {
			xy := series[k][j]
			sort.Slice(xy, func(x, y int) bool { return xy[x].X < xy[y].X })
			if err := addLine(p, i, name, xy, k.rt == "v8"); err != nil {
				return nil, err
			}
		}
	}
	headroom(a, true, len(keys))
	headroom(b, true, len(keys))
	return []*plot.Plot{a, b}, nil
}

// lifecycleSample is one point of a trace.
type lifecycleSample struct {
	Phase   string
	Seconds float64
	RSS     float64
}

type lifecycleData struct {
	Conns   int
	Servers []string
	Traces  map[string][]lifecycleSample
}

func gatherLifecycle(ctx context.Context, e *env, src *plotSource, servers []string, conns int) (lifecycleData, error) {
	d := lifecycleData{Conns: conns, Traces: map[string][]lifecycleSample{}}
	p := e.startProgress(len(servers))
	defer p.Finish()
	for _, srv := range servers {
		p.Step(fmt.Sprintf("lifecycle: %s server, %d connections", srv, conns))
		r, err := lifecycle(ctx, srv, false, load.LifecycleConfig{Config: load.Config{Conns: conns}})
		if err != nil {
			return d, err
		}
		for _, s := range r.Samples {
			d.Traces[srv] = append(d.Traces[srv], lifecycleSample{s.Phase, s.Elapsed.Seconds(), float64(s.RSS)})
		}
		d.Servers = append(d.Servers, srv)
		p.Done()
	}
	src.nodeServer(servers)
	return d, nil
}

// lifecycleMachine is the file beside the traces that rtlab run
// ws-lifecycle -csv writes: the caption of the machine that recorded them.
const lifecycleMachine = "lifecycle-machine.txt"

// readLifecycleDir reads lifecycle-<server>-<conns>.csv traces, and notes
// in src the machine that recorded them (lifecycleMachine).
func readLifecycleDir(dir string, src *plotSource) (lifecycleData, error) {
	d := lifecycleData{Traces: map[string][]lifecycleSample{}}
	files, err := filepath.Glob(filepath.Join(dir, "lifecycle-*-*.csv"))
	if err != nil {
		return d, err
	}
	if len(files) == 0 {
		return d, fmt.Errorf("-csv %s: no lifecycle-<server>-<conns>.csv files (rtlab run ws-lifecycle -csv %s writes them)", dir, dir)
	}
	slices.Sort(files)
	src.trace = fmt.Sprintf("traces from %s, recorded on a machine they do not name (no %s: go test -wsload.csv writes none); drawn on %s", dir, lifecycleMachine, machineLine())
	if b, err := os.ReadFile(filepath.Join(dir, lifecycleMachine)); err == nil {
		src.trace = fmt.Sprintf("traces from %s, recorded on %s", dir, strings.TrimSpace(string(b)))
	}
	for _, f := range files {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".csv"), "-")
		name := strings.Join(parts[1:len(parts)-1], "-")
		conns, _ := strconv.Atoi(parts[len(parts)-1])
		d.Conns = conns
		tr, err := readLifecycleCSV(f)
		if err != nil {
			return d, err
		}
		d.Servers = append(d.Servers, name)
		d.Traces[name] = tr
	}
	return d, nil
}

func readLifecycleCSV(path string) ([]lifecycleSample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s: no samples", path)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, need := range []string{"phase", "elapsed_s", "rss_bytes"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s: no %s column (want the header of load.CSVHeader: %s)", path, need, strings.Join(load.CSVHeader, ","))
		}
	}
	var out []lifecycleSample
	for i, r := range recs[1:] {
		t, err1 := strconv.ParseFloat(r[col["elapsed_s"]], 64)
		rss, err2 := strconv.ParseFloat(r[col["rss_bytes"]], 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+2, err)
		}
		out = append(out, lifecycleSample{r[col["phase"]], t, rss})
	}
	return out, nil
}

func (d lifecycleData) plots() ([]*plot.Plot, error) {
	p := newPlot(fmt.Sprintf("Server RSS through a connection lifecycle (%d connections)", d.Conns), "time (s)", "server RSS (MiB)")
	if len(d.Servers) == 0 {
		return nil, errors.New("lifecycle plot: no traces")
	}
	for i, s := range d.Servers {
		var xy plotter.XYs
		var labels plotter.XYLabels
		prev := ""
		for _, pt := range d.Traces[s] {
			xy = append(xy, plotter.XY{X: pt.Seconds, Y: pt.RSS / (1 << 20)})
			if pt.Phase != prev {
				labels.XYs = append(labels.XYs, plotter.XY{X: pt.Seconds, Y: pt.RSS / (1 << 20)})
				labels.Labels = append(labels.Labels, pt.Phase)
				prev = pt.Phase
			}
		}
		if err := addLine(p, i, s, xy, false); err != nil {
			return nil, err
		}
		if i == 0 && len(labels.XYs) > 0 {
			l, err := plotter.NewLabels(labels)
			if err != nil {
				return nil, err
			}
			for j := range l.TextStyle {
				l.TextStyle[j].Font.Size = vg.Points(8)
			}
			p.Add(l)
		}
	}
	headroom(p, true, len(d.Servers))
	return []*plot.Plot{p}, nil
}

type idlePoint struct {
	Server   string
	Conns    int
	BPerConn float64
}

type idleData struct{ Points []idlePoint }

func gatherIdle(ctx context.Context, e *env, src *plotSource, servers []string, conns []int) (idleData, error) {
	var d idleData
	p := e.startProgress(len(conns) * len(servers))
	defer p.Finish()
	for _, srv := range servers {
		for _, n := range conns {
			p.Step(fmt.Sprintf("idleconns: %s server, %d connections", srv, n))
			r, err := measureIdle(ctx, srv, false, n)
			if err != nil {
				return d, err
			}
			d.Points = append(d.Points, idlePoint{srv, n, r.RSS})
			p.Done()
		}
	}
	src.nodeServer(servers)
	return d, nil
}

func (d idleData) plots() ([]*plot.Plot, error) {
	p := newPlot("Server RSS per idle WebSocket connection", "connections", "RSS per connection (KiB)")
	var servers []string
	for _, pt := range d.Points {
		if !contains(servers, pt.Server) {
			servers = append(servers, pt.Server)
		}
	}
	if len(servers) == 0 {
		return nil, errors.New("idleconns plot: no data")
	}
	for i, s := range servers {
		var xy plotter.XYs
		for _, pt := range d.Points {
			if pt.Server == s {
				xy = append(xy, plotter.XY{X: float64(pt.Conns), Y: pt.BPerConn / 1024})
			}
		}
		if err := addLine(p, i, s, xy, false); err != nil {
			return nil, err
		}
	}
	headroom(p, true, len(servers))
	return []*plot.Plot{p}, nil
}

type pingBar struct {
	Name    string
	Seconds float64
}

type pingData struct{ Bars []pingBar }

func gatherPingPong(ctx context.Context, e *env, src *plotSource, useNode bool) (pingData, error) {
	var d pingData
	p := e.startProgress(len(channels.PingPongImpls()) + 1)
	defer p.Finish()
	for _, im := range channels.PingPongImpls() {
		p.Step("pingpong: Go " + im.String())
		r, err := channels.PingPong(ctx, channels.PingPongConfig{Impl: im, Rounds: 1 << 14})
		if err != nil {
			return d, err
		}
		d.Bars = append(d.Bars, pingBar{"Go " + im.String(), r.PerRound().Seconds()})
		p.Done()
	}
	if useNode {
		p.Step("pingpong: Node (node/bench.js)")
		if nr := nodeBench(ctx, e, src, "^BenchmarkChanPingPong$"); nr != nil {
			n := len(d.Bars)
			for _, im := range []string{"atomics", "postmessage"} {
				if v, ok := nr.value("ChanPingPong/impl="+im, "sec/op"); ok {
					d.Bars = append(d.Bars, pingBar{"Node " + im, v})
				}
			}
			if len(d.Bars) == n {
				src.without("node/bench.js printed no ChanPingPong row")
			}
		}
	} else {
		src.without("-node=false")
	}
	p.Done()
	return d, nil
}

func (d pingData) plots() ([]*plot.Plot, error) {
	if len(d.Bars) == 0 {
		return nil, errors.New("pingpong plot: no data")
	}
	p := newPlot("Ping-pong round trip by mechanism", "", "round trip (µs, log)")
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	// Points, not bars: a bar starts at 0, which a log axis cannot show,
	// and the mechanisms differ by orders of magnitude.
	var xy plotter.XYs
	var labels []string
	var names []string
	for i, b := range d.Bars {
		if b.Seconds <= 0 {
			return nil, fmt.Errorf("pingpong plot: %s has no positive round trip", b.Name)
		}
		xy = append(xy, plotter.XY{X: float64(i), Y: b.Seconds * 1e6})
		labels = append(labels, "  "+secs(b.Seconds))
		names = append(names, b.Name)
	}
	sc, err := plotter.NewScatter(xy)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle.Color = plotutil.Color(0)
	sc.GlyphStyle.Radius = vg.Points(5)
	sc.GlyphStyle.Shape = draw.CircleGlyph{}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: labels})
	if err != nil {
		return nil, err
	}
	p.Add(sc, lb)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 0.5
	p.X.Tick.Label.XAlign = draw.XRight
	return []*plot.Plot{p}, nil
}
