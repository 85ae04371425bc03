package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// intList defines a flag holding a comma-separated list of positive ints.
func intList(fs *flag.FlagSet, name string, def []int, usage string) *[]int {
	return intListFrom(fs, name, def, 1, usage)
}

// intListFrom defines a flag holding a comma-separated list of ints of at
// least lo.
func intListFrom(fs *flag.FlagSet, name string, def []int, lo int, usage string) *[]int {
	v := append([]int(nil), def...)
	fs.Func(name, fmt.Sprintf("%s (comma-separated; default %s)", usage, joinInts(def)), func(s string) error {
		var out []int
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < lo {
				if lo == 1 {
					return fmt.Errorf("%q is not a positive integer", f)
				}
				return fmt.Errorf("%q is not an integer of at least %d", f, lo)
			}
			out = append(out, n)
		}
		v = out
		return nil
	})
	return &v
}

// floatList defines a flag holding a comma-separated list of numbers in
// [lo, hi].
func floatList(fs *flag.FlagSet, name string, def []float64, lo, hi float64, usage string) *[]float64 {
	v := append([]float64(nil), def...)
	var ds []string
	for _, d := range def {
		ds = append(ds, strconv.FormatFloat(d, 'g', -1, 64))
	}
	fs.Func(name, fmt.Sprintf("%s (comma-separated, %g to %g; default %s)", usage, lo, hi, strings.Join(ds, ",")), func(s string) error {
		var out []float64
		for _, f := range strings.Split(s, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || x < lo || x > hi {
				return fmt.Errorf("%q is not a number from %g to %g", f, lo, hi)
			}
			out = append(out, x)
		}
		v = out
		return nil
	})
	return &v
}

// durationList defines a flag holding a comma-separated list of positive
// durations.
func durationList(fs *flag.FlagSet, name string, def []time.Duration, usage string) *[]time.Duration {
	v := append([]time.Duration(nil), def...)
	var ds []string
	for _, d := range def {
		ds = append(ds, d.String())
	}
	fs.Func(name, fmt.Sprintf("%s (comma-separated; default %s)", usage, strings.Join(ds, ",")), func(s string) error {
		var out []time.Duration
		for _, f := range strings.Split(s, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil || d <= 0 {
				return fmt.Errorf("%q is not a positive duration (10ms, 1s)", f)
			}
			out = append(out, d)
		}
		v = out
		return nil
	})
	return &v
}

// enumList defines a flag holding a comma-separated subset of accepted
// ("all" means every one); an unknown value is an error listing them.
func enumList(fs *flag.FlagSet, name string, accepted []string, usage string) *[]string {
	v := append([]string(nil), accepted...)
	fs.Func(name, fmt.Sprintf("%s: all or a comma-separated list of %s (default all)", usage, strings.Join(accepted, ", ")), func(s string) error {
		if s == "all" {
			v = append([]string(nil), accepted...)
			return nil
		}
		var out []string
		for _, f := range strings.Split(s, ",") {
			f = strings.TrimSpace(f)
			if !contains(accepted, f) {
				return fmt.Errorf("%q is not one of all, %s", f, strings.Join(accepted, ", "))
			}
			out = append(out, f)
		}
		v = out
		return nil
	})
	return &v
}

func joinInts(v []int) string {
	var s []string
	for _, n := range v {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ",")
}

// names converts a list of Stringers to their names.
func names[T fmt.Stringer](v []T) []string {
	var s []string
	for _, x := range v {
		s = append(s, x.String())
	}
	return s
}

// lookup returns the element of v named s.
func lookup[T fmt.Stringer](v []T, s string) T {
	for _, x := range v {
		if x.String() == s {
			return x
		}
	}
	panic("rtlab: no " + s) // flags accept only names from v
}
