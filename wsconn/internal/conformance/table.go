package conformance

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Summary counts the verdicts of one server's results.
type Summary struct {
	Pass, NonStrict, Fail int
}

// Summarize counts results by verdict.
func Summarize(results []Result) Summary {
	var s Summary
	for _, r := range results {
		switch r.Verdict {
		case Pass:
			s.Pass++
		case NonStrict:
			s.NonStrict++
		default:
			s.Fail++
		}
	}
	return s
}

// WriteTable writes a case-by-case table with one verdict column per
// server (results[i] belongs to servers[i]; all from the same cases), then
// the details of every verdict that is not a pass, then totals. rows
// chooses what goes in the table: all cases, or only those where some
// server did not pass.
func WriteTable(w io.Writer, servers []string, results [][]Result, all bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "case\t%s\tdescription\n", strings.Join(servers, "\t"))
	byCase := make([]map[string]Result, len(servers))
	for i, rs := range results {
		byCase[i] = make(map[string]Result, len(rs))
		for _, r := range rs {
			byCase[i][r.Case] = r
		}
	}
	if len(results) == 0 {
		return tw.Flush()
	}
	for _, r := range results[0] {
		row := make([]string, len(servers))
		clean := true
		for i := range servers {
			v, ok := byCase[i][r.Case]
			if !ok {
				row[i] = "-"
				continue
			}
			row[i] = v.Verdict.String()
			clean = clean && v.Verdict == Pass
		}
		if all || !clean {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Case, strings.Join(row, "\t"), r.Desc)
		}
	}
	row := make([]string, len(servers))
	for i, rs := range results {
		s := Summarize(rs)
		row[i] = fmt.Sprintf("%d/%d/%d", s.Pass, s.NonStrict, s.Fail)
	}
	fmt.Fprintf(tw, "total\t%s\tpass/non-strict/fail of %d cases\n", strings.Join(row, "\t"), len(results[0]))
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, rs := range results {
		for _, r := range rs {
			if r.Verdict != Pass {
				fmt.Fprintf(w, "%s %s %s: %s\n", servers[i], r.Case, r.Verdict, r.Detail)
			}
		}
	}
	return nil
}
