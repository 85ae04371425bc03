package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// claimsMD is ../shared/CLAIMS.md, the article's claims with their IDs,
// copied into the project as the data the ledger reads.
//
//go:embed claims.md
var claimsMD string

// A claim is one row of claims.md.
type claim struct {
	ID, Section, Says, Decides string
}

// parseClaims reads the table of claims.md: every line "| Cnn | ... |".
func parseClaims(md string) ([]claim, error) {
	var out []claim
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| C") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 4 {
			return nil, fmt.Errorf("claims.md:%d: want 4 cells (id, section, says, decides), got %d", i+1, len(cells))
		}
		out = append(out, claim{ID: cells[0], Section: cells[1], Says: cells[2], Decides: cells[3]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("claims.md: no claims")
	}
	return out, nil
}

// Verdict kinds. A verdict is computed from a measurement of this run;
// "skip" says why the row could not be measured here.
const (
	verdictHolds   = "holds"
	verdictNot     = "does not hold"
	verdictDepends = "depends"
	verdictSkip    = "skip"
)

// A finding is what a claim's rule measured and concluded.
type finding struct {
	Measured string // figures with units and conditions
	Verdict  string // one of the verdict kinds
	On       string // depends: on what; does not hold: why; skip: the reason
}

func holds(measured string) finding { return finding{Measured: measured, Verdict: verdictHolds} }
func notHold(measured, why string) finding {
	return finding{Measured: measured, Verdict: verdictNot, On: why}
}
func depends(measured, on string) finding {
	return finding{Measured: measured, Verdict: verdictDepends, On: on}
}
func skip(measured, why string) finding {
	return finding{Measured: measured, Verdict: verdictSkip, On: why}
}

// A rule measures one claim and computes its verdict.
type rule struct {
	deeper string // the command that digs deeper
	check  func(ctx context.Context, l *lab) (finding, error)
}

// ledgerRow is one line of the ledger, as --json prints it.
type ledgerRow struct {
	ID       string  `json:"id"`
	Section  string  `json:"section"`
	Says     string  `json:"says"`
	Measured string  `json:"measured"`
	Verdict  string  `json:"verdict"`
	On       string  `json:"on,omitempty"`
	Deeper   string  `json:"deeper"`
	Seconds  float64 `json:"seconds"`
}

// String is the verdict as the table prints it: "depends: on what".
func (r ledgerRow) verdictText() string {
	if r.On == "" {
		return r.Verdict
	}
	return r.Verdict + ": " + r.On
}

func cmdClaims(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "claims", "[--quick] [--json] [ID...]",
		"claims measures every claim of the article (or the IDs given) on this machine and prints\nwhat it says, what was measured, the verdict and the command that digs deeper.")
	quick := fs.Bool("quick", false, "small sizes: the whole ledger in about a minute and a half on 2 cores")
	asJSON := fs.Bool("json", false, "print the ledger as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	all, err := parseClaims(claimsMD)
	if err != nil {
		return err
	}
	want := all
	if fs.NArg() > 0 {
		want = nil
		for _, id := range fs.Args() {
			id = strings.ToUpper(id)
			found := false
			for _, c := range all {
				if c.ID == id {
					want = append(want, c)
					found = true
				}
			}
			if !found {
				return usagef("unknown claim %q: want C01 to C%02d", id, len(all))
			}
		}
	}
	l := newLab(*quick)
	defer l.close()
	p := e.startProgress(len(want))
	var rows []ledgerRow
	for _, c := range want {
		p.Step(c.ID + " " + c.Decides)
		rows = append(rows, l.measure(ctx, c))
		p.Done()
		if ctx.Err() != nil {
			break
		}
	}
	p.Finish()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Quick  bool        `json:"quick"`
			Config []string    `json:"config"`
			Claims []ledgerRow `json:"claims"`
		}{*quick, configStrings(), rows})
	}
	return writeLedger(e.stdout, *quick, rows)
}

// measure runs the rule of claim c; a failed measurement is a skip that
// says what failed.
func (l *lab) measure(ctx context.Context, c claim) ledgerRow {
	row := ledgerRow{ID: c.ID, Section: c.Section, Says: c.Says}
	r, ok := rules[c.ID]
	if !ok {
		row.Verdict, row.On = verdictSkip, "rtlab has no rule for this claim"
		return row
	}
	row.Deeper = r.deeper
	t0 := time.Now()
	f, err := r.check(ctx, l)
	row.Seconds = time.Since(t0).Seconds()
	if err != nil {
		f = skip(f.Measured, "measurement failed: "+oneLine(err.Error()))
	}
	row.Measured, row.Verdict, row.On = f.Measured, f.Verdict, f.On
	return row
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	return s
}

// configStrings are the configuration lines as the ledger shows them
// (go test's cpu name may end in spaces, which benchfmt files keep and the
// ledger does not).
func configStrings() []string {
	var s []string
	for _, l := range configLines() {
		s = append(s, strings.TrimSpace(l.String()))
	}
	return s
}

// writeLedger prints the ledger: one block per claim.
func writeLedger(w io.Writer, quick bool, rows []ledgerRow) error {
	mode := "full"
	if quick {
		mode = "--quick (small sizes; run without --quick for stable figures)"
	}
	host, _ := os.Hostname()
	fmt.Fprintf(w, "rtlab claims ledger, %s, on %s\n", mode, host)
	fmt.Fprintln(w, strings.Join(configStrings(), "  "))
	fmt.Fprintln(w)
	count := map[string]int{}
	for _, r := range rows {
		count[r.Verdict]++
		fmt.Fprintf(w, "%s  %s  [%s]\n", r.ID, r.Says, r.Section)
		if r.Measured != "" {
			fmt.Fprintf(w, "     measured: %s\n", r.Measured)
		}
		fmt.Fprintf(w, "     verdict:  %s\n", r.verdictText())
		if r.Deeper != "" {
			fmt.Fprintf(w, "     deeper:   %s\n", r.Deeper)
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "%d claims: %d hold, %d do not hold, %d depend, %d skipped\n",
		len(rows), count[verdictHolds], count[verdictNot], count[verdictDepends], count[verdictSkip])
	return err
}
