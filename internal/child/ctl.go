package child

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// A child that stays up and takes commands speaks a line protocol with its
// parent: the parent writes one command per line on the child's stdin
// ("flood 10", "gc"), and the child answers each with one JSON line,
// {"data":...} or {"err":"..."}. The child's first line, before any
// command, says whether it is ready. Serve is the child's side, Ctl the
// parent's.

type ctlReply struct {
	Data json.RawMessage `json:"data,omitempty"`
	Err  string          `json:"err,omitempty"`
}

// Serve runs in the child: it writes ready (or readyErr) as its first
// answer, then reads one command per line from in ("cmd arg...", split at
// the first space) and writes handle's answer to out, until in ends or
// handle reports stop. With a readyErr it returns after the first answer.
func Serve(in io.Reader, out io.Writer, ready any, readyErr error, handle func(cmd, arg string) (v any, stop bool, err error)) {
	enc := json.NewEncoder(out)
	reply := func(v any, err error) {
		var r ctlReply
		if err != nil {
			r.Err = err.Error()
		} else if r.Data, err = json.Marshal(v); err != nil {
			r.Err = err.Error()
		}
		_ = enc.Encode(r)
	}
	reply(ready, readyErr)
	if readyErr != nil {
		return
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		v, stop, err := handle(cmd, arg)
		reply(v, err)
		if stop {
			return
		}
	}
}

// Ctl is the parent's side of a child that runs Serve.
type Ctl struct {
	p    *Proc
	mu   sync.Mutex
	resp *bufio.Scanner
}

// StartCtl starts f like Start and waits for the child's first answer,
// decoded into ready (which may be nil). If the child is not ready, it is
// killed and reaped, and its error returned.
func (f Func) StartCtl(ctx context.Context, opts Options, ready any) (*Ctl, error) {
	p, err := f.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	return newCtl(p, ready)
}

// newCtl waits for p's first answer, decoded into ready; if p is not
// ready, it is killed and reaped.
func newCtl(p *Proc, ready any) (*Ctl, error) {
	c := &Ctl{p: p, resp: bufio.NewScanner(p.Stdout)}
	c.resp.Buffer(nil, 64<<20)
	if err := c.read(ready); err != nil {
		c.Kill()
		return nil, err
	}
	return c, nil
}

// Pid is the child's process ID.
func (c *Ctl) Pid() int { return c.p.Pid() }

func (c *Ctl) read(v any) error {
	if !c.resp.Scan() {
		c.p.Kill()
		res, err := c.p.Wait()
		if err == nil {
			err = fmt.Errorf("exited: %w", res.Err())
		}
		return fmt.Errorf("child: %s (pid %d) gave no answer: %w", c.p.name, c.p.Pid(), err)
	}
	var r ctlReply
	if err := json.Unmarshal(c.resp.Bytes(), &r); err != nil {
		return fmt.Errorf("child: %s (pid %d): bad answer %.200q: %w", c.p.name, c.p.Pid(), c.resp.Bytes(), err)
	}
	if r.Err != "" {
		return errors.New(r.Err)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(r.Data, v)
}

// Call sends one command line and decodes the child's answer into v (which
// may be nil). An error the child answers with is returned as is. Calls
// are serialised: one command is in flight at a time.
func (c *Ctl) Call(cmd string, v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.p.Stdin, cmd+"\n"); err != nil {
		return fmt.Errorf("child: %s (pid %d): %s: %w", c.p.name, c.p.Pid(), cmd, err)
	}
	return c.read(v)
}

// End closes the child's stdin, which ends Serve, and waits for the child
// to exit; a non-zero exit is an error.
func (c *Ctl) End() error {
	_ = c.p.Stdin.Close()
	res, err := c.p.Wait()
	if err != nil {
		return err
	}
	return res.Err()
}

// Kill ends the child at once and reaps it. After End it does nothing.
func (c *Ctl) Kill() {
	c.p.Kill()
	_, _ = c.p.Wait()
}
