// Package benchcheck checks benchmark output the way benchstat will read it.
//
// benchstat accepts almost anything and silently makes little of it: a
// sub-benchmark named "size64" cannot be projected with -col /size, a line
// that is not quite a result is skipped, and a missing custom unit just
// leaves a column out. The suite's smoke run is checked with this package in
// CI so those mistakes fail loudly, naming the line.
package benchcheck

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"golang.org/x/perf/benchfmt"
)

// Required maps a top-level benchmark name ("BenchmarkStackRecurse") to the
// units every one of its results must report ("ns/op", "stack-B").
type Required map[string][]string

// Problem is one thing wrong with the output, at a line (0 when the problem
// is the absence of something).
type Problem struct {
	File string
	Line int
	Msg  string
}

// String is "file:line: message", or "file: message" when Line is 0.
func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
}

// Report is the result of a check.
type Report struct {
	Results  int       // benchmark results read
	Problems []Problem // in input order, then missing benchmarks by name
}

// Err is nil when there are no problems, and otherwise lists them all.
func (r Report) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "benchcheck: %d problem(s):", len(r.Problems))
	for _, p := range r.Problems {
		b.WriteString("\n\t" + p.String())
	}
	return fmt.Errorf("%s", b.String())
}

// Check reads benchmark output from r (named file in problems) and reports:
// lines benchfmt cannot parse; sub-benchmark levels that are not key=value
// or that hold ';', ',' or '#'; results of a benchmark in req that lack one
// of its units; and benchmarks in req that never appear. Read errors of r
// are returned as the error.
func Check(r io.Reader, file string, req Required) (Report, error) {
	var rep Report
	seen := map[string]bool{}
	br := benchfmt.NewReader(r, file)
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			rep.add(file, rec.Line, "syntax error: "+rec.Msg)
		case *benchfmt.Result:
			rep.Results++
			_, line := rec.Pos()
			// benchfmt drops the "Benchmark" prefix; the table keeps it.
			base, parts := rec.Name.Parts()
			name := "Benchmark" + string(base)
			full := "Benchmark" + string(rec.Name.Full())
			seen[name] = true
			for _, p := range parts {
				if msg := badPart(p); msg != "" {
					rep.add(file, line, fmt.Sprintf("%s: level %q %s", full, p, msg))
				}
			}
			for _, u := range req[name] {
				if !hasUnit(rec, u) {
					rep.add(file, line, fmt.Sprintf("%s: missing unit %q", full, u))
				}
			}
		}
	}
	if err := br.Err(); err != nil {
		return rep, fmt.Errorf("benchcheck: reading %s: %w", file, err)
	}
	var missing []string
	for name := range req {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		rep.add(file, 0, name+": required by the suite table but absent from the output")
	}
	return rep, nil
}

func (r *Report) add(file string, line int, msg string) {
	r.Problems = append(r.Problems, Problem{File: file, Line: line, Msg: msg})
}

// badPart explains why a name part is not a key=value level benchstat can
// project, or returns "".
func badPart(p []byte) string {
	if p[0] == '-' {
		return "" // the -GOMAXPROCS suffix
	}
	kv := p[1:]
	key, val, ok := bytes.Cut(kv, []byte("="))
	switch {
	case !ok:
		return "is not key=value"
	case len(key) == 0:
		return "has an empty key"
	case bytes.ContainsAny(kv, ";,#"):
		// "#01" is what go test appends to a duplicated sub-benchmark name.
		return "holds ';', ',' or '#' (duplicate names get #NN)"
	case len(val) == 0:
		return "has an empty value"
	}
	return ""
}

func hasUnit(res *benchfmt.Result, unit string) bool {
	return slices.ContainsFunc(res.Values, func(v benchfmt.Value) bool {
		return v.Unit == unit || v.OrigUnit == unit
	})
}

// LastLevel is the key=value level every result of a benchmark must end
// with (before the -GOMAXPROCS suffix), and the values it must show: the
// level benchstat pivots on with -col /Key.
type LastLevel struct {
	Key    string
	Values []string
}

// CheckLastLevel reads benchmark output from r (named file in problems)
// and reports, for each benchmark in req: results whose last level is not
// Key with one of Values, and values that no result shows. A benchmark of
// req absent from the output is not reported here (Check does that).
// Read errors of r are returned as the error.
func CheckLastLevel(r io.Reader, file string, req map[string]LastLevel) (Report, error) {
	var rep Report
	seen := map[string]map[string]bool{}
	br := benchfmt.NewReader(r, file)
	for br.Scan() {
		rec, ok := br.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		rep.Results++
		base, parts := rec.Name.Parts()
		name := "Benchmark" + string(base)
		want, ok := req[name]
		if !ok {
			continue
		}
		_, line := rec.Pos()
		full := "Benchmark" + string(rec.Name.Full())
		var last []byte
		for _, p := range parts {
			if p[0] == '/' {
				last = p[1:]
			}
		}
		key, val, _ := bytes.Cut(last, []byte("="))
		if string(key) != want.Key || !slices.Contains(want.Values, string(val)) {
			rep.add(file, line, fmt.Sprintf("%s: last level %q, want %s=%s", full, last, want.Key, strings.Join(want.Values, "|")))
			continue
		}
		if seen[name] == nil {
			seen[name] = map[string]bool{}
		}
		seen[name][string(val)] = true
	}
	if err := br.Err(); err != nil {
		return rep, fmt.Errorf("benchcheck: reading %s: %w", file, err)
	}
	names := make([]string, 0, len(req))
	for name := range req {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if seen[name] == nil {
			continue
		}
		for _, v := range req[name].Values {
			if !seen[name][v] {
				rep.add(file, 0, fmt.Sprintf("%s: no result with %s=%s", name, req[name].Key, v))
			}
		}
	}
	return rep, nil
}
