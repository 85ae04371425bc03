package child

import (
	"context"
	"errors"
	"path/filepath"
)

// Command is a program other than this binary, in any language, run as a
// child that speaks the control protocol of Serve on its stdin and stdout:
// its first line says whether it is ready, then it answers one JSON line
// per command line. Its environment is this process's plus Options.Env and
// RTLAB_CHILD_PPID, this process's pid, so that it can exit when its parent
// is gone as Register's children do (ending when its stdin ends covers a
// parent that died too). Options.Arg and Stdin are not used.
type Command struct {
	Name string   // for errors; the base name of Path if empty
	Path string   // the program, found on PATH if it has no separator
	Args []string // its arguments
	Dir  string   // its working directory; empty means this process's
}

// StartCtl starts the command and waits for its first answer, decoded into
// ready (which may be nil), as Func.StartCtl does. If it is not ready, it
// is killed and reaped, and the error carries its stderr.
func (c Command) StartCtl(ctx context.Context, opts Options, ready any) (*Ctl, error) {
	if c.Path == "" {
		return nil, errors.New("child: Command.Path is empty")
	}
	name := c.Name
	if name == "" {
		name = filepath.Base(c.Path)
	}
	cmd, ctx, cancel := commandContext(ctx, opts, c.Path, c.Args)
	cmd.Dir = c.Dir
	p, err := startProc(name, cmd, ctx, cancel)
	if err != nil {
		return nil, err
	}
	return newCtl(p, ready)
}
