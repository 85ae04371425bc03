package main

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// env is where a command writes: results to stdout, progress and errors to
// stderr, a progress bar only when stderr is a terminal.
type env struct {
	stdout, stderr io.Writer
	tty            bool // stderr is a terminal
}

func newEnv(stdout, stderr io.Writer) *env {
	e := &env{stdout: stdout, stderr: stderr}
	if f, ok := stderr.(*os.File); ok {
		e.tty = term.IsTerminal(int(f.Fd()))
	}
	return e
}

// progressDelay is how long a task runs before its bar appears: shorter
// tasks finish without one. RTLAB_PROGRESS_DELAY (a duration) overrides it,
// for the tests that watch the bar through a pseudo-terminal.
func progressDelay() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("RTLAB_PROGRESS_DELAY")); err == nil && d >= 0 {
		return d
	}
	return 1500 * time.Millisecond
}

// progress shows a task of a known number of steps: what runs, how far,
// time left. It draws nothing unless stderr is a terminal, and clears its
// line when done, so pipes, files and CI see no trace of it.
type progress struct {
	mu    sync.Mutex
	e     *env
	delay time.Duration
	total int
	done  int
	desc  string
	start time.Time
	bar   *progressbar.ProgressBar
	stop  chan struct{}
	wg    sync.WaitGroup
}

// startProgress starts a task of total steps.
func (e *env) startProgress(total int) *progress {
	p := &progress{e: e, total: total, start: time.Now(), stop: make(chan struct{}), delay: progressDelay()}
	if !e.tty || total <= 0 {
		return p
	}
	if p.delay == 0 {
		p.mu.Lock()
		p.show()
		p.mu.Unlock()
	}
	p.wg.Add(1)
	go p.tick()
	return p
}

// tick draws the bar once the task has run for progressDelay, and redraws
// it every 200 ms so the elapsed and remaining times move during a long step.
func (p *progress) tick() {
	defer p.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		if p.bar == nil && time.Since(p.start) >= p.delay {
			p.show()
		}
		if p.bar != nil {
			_ = p.bar.RenderBlank()
		}
		p.mu.Unlock()
	}
}

// show creates the bar; p.mu is held.
func (p *progress) show() {
	p.bar = progressbar.NewOptions(p.total,
		progressbar.OptionSetWriter(p.e.stderr),
		progressbar.OptionSetDescription(p.desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)
	_ = p.bar.Set(p.done)
}

// Step says which step runs now.
func (p *progress) Step(desc string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.desc = desc
	if p.bar != nil {
		p.bar.Describe(desc)
		_ = p.bar.RenderBlank()
	}
}

// Done counts one step done.
func (p *progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if p.bar != nil {
		_ = p.bar.Set(p.done)
	}
}

// Finish ends the task and clears the bar.
func (p *progress) Finish() {
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
		_ = p.bar.Exit()
	}
}
