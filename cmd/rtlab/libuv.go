package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rtlab/rtlab/internal/nodejs"
	"golang.org/x/sys/unix"
)

// libuvPoolJS is Node's side of C09: blocking calls on libuv's pool (see
// the file's comment).
//
//go:embed libuvpool.js
var libuvPoolJS string

// libuvPool is what libuvpool.js measured.
type libuvPool struct {
	PoolSize, Blocked, HoldMs                  int
	ThreadsBefore, ThreadsPool, ThreadsBlocked int
	StatIdleMs, StatBlockedMs, TimerLateMs     float64
	// StatBeforeRelease is whether the fs.stat queued behind the blocked
	// opens completed before they were released.
	StatBeforeRelease bool
}

// nodeBlockedPool runs libuvpool.js with blocked opens of a FIFO pending
// for hold, on the node on PATH (an error wrapping errNeedsNode without
// one). UV_THREADPOOL_SIZE in the environment reaches node.
func nodeBlockedPool(ctx context.Context, blocked int, hold time.Duration) (libuvPool, error) {
	var p libuvPool
	n, err := nodejs.Find()
	if err != nil {
		return p, fmt.Errorf("%w: %v", errNeedsNode, err)
	}
	dir, err := os.MkdirTemp("", "rtlab-libuv-")
	if err != nil {
		return p, err
	}
	defer os.RemoveAll(dir)
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return p, fmt.Errorf("mkfifo %s: %w", fifo, err)
	}
	ctx, cancel := context.WithTimeout(ctx, hold+30*time.Second)
	defer cancel()
	o, err := n.Run(ctx, dir, "-e", libuvPoolJS, fifo, strconv.Itoa(blocked), strconv.FormatInt(hold.Milliseconds(), 10))
	if err != nil {
		return p, fmt.Errorf("libuvpool.js: %w", err)
	}
	if o.ExitCode != 0 {
		return p, fmt.Errorf("libuvpool.js exited %d: %s", o.ExitCode, nodejs.Tail(o.Stderr, 5))
	}
	if err := json.Unmarshal(o.Stdout, &p); err != nil {
		return p, fmt.Errorf("libuvpool.js printed %q: %v", o.Stdout, err)
	}
	return p, nil
}
