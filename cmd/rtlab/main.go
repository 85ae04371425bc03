// Command rtlab runs rtlab's experiments in front of a class: a ledger of
// the article's claims with a verdict computed from a measurement made in
// that run, one experiment as a readable table or as benchfmt for
// benchstat, plots, and a WebSocket server and load generator as two
// commands for several terminals or machines.
//
// Usage:
//
//	rtlab claims [--quick] [--json] [ID...]
//	rtlab list
//	rtlab run <experiment> [flags]
//	rtlab plot <plot> -o file.svg|file.png
//	rtlab ws serve --design reactor|goroutine --addr :PORT
//	rtlab ws load --addr HOST:PORT --conns N --rate R --duration D
//
// Flags follow the standard flag package (-flag and --flag alike); a bad
// flag or value is named on stderr and the exit status is 2. Progress goes to
// stderr when it is a terminal, and nowhere otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// deadlockEnv, when set, makes the process deadlock on purpose before
// anything else runs, so claim C32 can watch the runtime detect it in a
// child process (see claimDeadlock).
const deadlockEnv = "RTLAB_DEADLOCK_DEMO"

func main() {
	deadlockIfAsked()
	os.Exit(runMain(os.Args[1:]))
}

// runMain runs Main with the process's stdout and stderr until it returns
// or Ctrl-C (or SIGTERM) cancels it: every child process of a measurement
// runs under that context and is killed with it.
func runMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Main(ctx, args, os.Stdout, os.Stderr)
}

// deadlockIfAsked blocks every goroutine of the process when deadlockEnv is
// set: the runtime then exits with "all goroutines are asleep - deadlock!".
func deadlockIfAsked() {
	if os.Getenv(deadlockEnv) == "" {
		return
	}
	var ch chan int
	<-ch
}

// usageError is bad usage: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errHelp is -h or help: usage printed, exit status 0.
var errHelp = flag.ErrHelp

const usage = `rtlab runs rtlab's runtime experiments and says whether the article is right.

Usage:

	rtlab <command> [arguments]

Commands:

	claims [--quick] [--json] [ID...]   the claims ledger: measure each claim, print the verdict
	list                                every experiment with a one-line description and its claims
	run <experiment> [flags]            one experiment as a table; -o file writes benchfmt for benchstat
	plot <plot> -o file.svg|.png        a picture of an experiment (rtlab plot -h lists them)
	ws serve [flags]                    a WebSocket echo server that prints its RSS every second
	ws load [flags]                     a load generator against it that prints benchfmt

Use "rtlab <command> -h" for a command's flags.
`

// Main runs rtlab with args and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "rtlab: %v\n", err)
		fmt.Fprintln(stderr, `run "rtlab -h" for usage`)
		return 2
	case errors.Is(err, errFlag):
		return 2 // the flag package has printed the error and the usage
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "rtlab: interrupted: %v\n", err)
		return 130
	default:
		fmt.Fprintf(stderr, "rtlab: %v\n", err)
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	e := newEnv(stdout, stderr)
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return errHelp
	case "claims":
		return cmdClaims(ctx, e, rest)
	case "list":
		return cmdList(e, rest)
	case "run":
		return cmdRun(ctx, e, rest)
	case "plot":
		return cmdPlot(ctx, e, rest)
	case "ws":
		return cmdWS(ctx, e, rest)
	default:
		return usagef("unknown command %q: want claims, list, run, plot or ws", cmd)
	}
}

// errFlag marks an error the flag package has already printed.
var errFlag = errors.New("bad flag")

// newFlagSet returns a FlagSet that prints its errors and usage to e.stderr.
func newFlagSet(e *env, name, args string, doc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rtlab %s %s\n\n%s\n", name, args, doc)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args with fs, mapping the flag package's errors.
func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return errHelp
	default:
		return errFlag
	}
}
