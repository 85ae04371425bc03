package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/rtlab/rtlab/internal/runinfo"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchunit"
)

// Metric is one measured figure and its unit, as a benchmark reports it.
type Metric struct {
	Value float64
	Unit  string
}

// Row is one result: a benchmark name without its "Benchmark" prefix and
// -procs suffix ("StackRecurse/frame=small/depth=1000") and its figures.
type Row struct {
	Name    string
	Metrics []Metric
}

// suitePkg is the pkg configuration line of the root suite, so that a file
// written by run -o and one written by go test -bench . pair in benchstat.
const suitePkg = "github.com/rtlab/rtlab"

// configLines are the lines a results file opens with: the root suite's
// (internal/runinfo.Lines) and what go test adds (goos, goarch, pkg, cpu).
func configLines() []runinfo.Line {
	lines := runinfo.Lines()
	lines = append(lines,
		runinfo.Line{Key: "goos", Value: runtime.GOOS},
		runinfo.Line{Key: "goarch", Value: runtime.GOARCH},
		runinfo.Line{Key: "pkg", Value: suitePkg})
	if cpu := cpuName(); cpu != "" {
		lines = append(lines, runinfo.Line{Key: "cpu", Value: cpu})
	}
	return lines
}

// procsSuffix is the -N go test appends to every name: GOMAXPROCS, none
// when it is 1.
func procsSuffix(procs int) string {
	if procs == 1 {
		return ""
	}
	return fmt.Sprintf("-%d", procs)
}

// writeBenchfmt writes rows as Go benchmark format after config, one
// iteration each, names with the -procs suffix.
func writeBenchfmt(w io.Writer, config []runinfo.Line, rows []Row, procs int) error {
	bw := benchfmt.NewWriter(w)
	var cfg []benchfmt.Config
	for _, l := range config {
		cfg = append(cfg, benchfmt.Config{Key: l.Key, Value: []byte(l.Value), File: true})
	}
	for _, r := range rows {
		res := &benchfmt.Result{Config: cfg, Name: benchfmt.Name(r.Name + procsSuffix(procs)), Iters: 1}
		for _, m := range r.Metrics {
			res.Values = append(res.Values, benchfmt.Value{Value: m.Value, Unit: m.Unit})
		}
		if err := bw.Write(res); err != nil {
			return err
		}
	}
	return nil
}

// writeTable lays rows out as one aligned table: a column per name key
// (frame, depth), then a column per unit, each figure scaled as benchstat
// scales it (511.0µ, 47.14Ki). Rows with the same
// name (from -count) are averaged, with their spread as ±%.
func writeTable(w io.Writer, title string, config []runinfo.Line, rows []Row) error {
	if title != "" {
		fmt.Fprintln(w, title)
	}
	for _, l := range config {
		fmt.Fprintln(w, l)
	}
	if len(config) > 0 || title != "" {
		fmt.Fprintln(w)
	}
	type agg struct {
		name string
		keys map[string]string
		vals map[string][]float64
	}
	var order []*agg
	byName := map[string]*agg{}
	var keys, units []string
	for _, r := range rows {
		a := byName[r.Name]
		if a == nil {
			a = &agg{name: r.Name, keys: map[string]string{}, vals: map[string][]float64{}}
			byName[r.Name] = a
			order = append(order, a)
			for _, part := range strings.Split(r.Name, "/")[1:] {
				k, v, ok := strings.Cut(part, "=")
				if !ok {
					k, v = "name", part
				}
				a.keys[k] = v
				if !contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
		for _, m := range r.Metrics {
			v, u := benchunit.Tidy(m.Value, m.Unit)
			a.vals[u] = append(a.vals[u], v)
			if !contains(units, u) {
				units = append(units, u)
			}
		}
	}
	// A unit all of whose rows are 0 with the ns/op of go test's "means
	// nothing" convention is left out.
	var shown []string
	for _, u := range units {
		zero := true
		for _, a := range order {
			for _, v := range a.vals[u] {
				zero = zero && v == 0
			}
		}
		if !(zero && u == "sec/op") {
			shown = append(shown, u)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var head []string
	head = append(head, keys...)
	head = append(head, shown...)
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, a := range order {
		var cells []string
		for _, k := range keys {
			cells = append(cells, a.keys[k])
		}
		for _, u := range shown {
			vs := a.vals[u]
			if len(vs) == 0 {
				cells = append(cells, "")
				continue
			}
			c := benchunit.Scale(mean(vs), benchunit.ClassOf(u))
			if len(vs) > 1 {
				c += fmt.Sprintf(" ±%.0f%%", spread(vs))
			}
			cells = append(cells, c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	return tw.Flush()
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func mean(vs []float64) float64 {
	var s float64
	for _, v := range vs {
		s += v
	}
	return s / float64(len(vs))
}

// spread is the largest deviation from the mean, in percent of it.
func spread(vs []float64) float64 {
	m := mean(vs)
	if m == 0 {
		return 0
	}
	var d float64
	for _, v := range vs {
		d = math.Max(d, math.Abs(v-m))
	}
	return 100 * d / math.Abs(m)
}
