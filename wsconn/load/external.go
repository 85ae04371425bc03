package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/rtlab/rtlab/internal/testcert"
)

// CommandServerChild is a ServerChild that runs an external program, in
// any language, instead of this binary: argv[0] (found on PATH if it has
// no slash) with the arguments argv[1:], in the directory dir (empty: this
// process's). ServerProc drives it exactly as it drives a Go server child,
// so the program must speak the same line protocol on its stdin and stdout
// (internal/child's Serve): first a line {"data":"host:port"} once it
// listens on 127.0.0.1 at a free port (or {"err":"..."}), then one JSON
// answer per command line, {"data":...} or {"err":"..."}. Started
// WithTLS, it finds its certificate and key (PEM) in the environment
// variables RTLAB_TLS_CERT and RTLAB_TLS_KEY and must serve wss://, TLS
// 1.3, with them (and keep them out of any file or output):
//
//	stats          ProcStats's runtime fields (RSS and VSS are read from /proc by the parent)
//	gc             a full collection, then stats
//	free           return free memory to the OS if the runtime can, then stats
//	sample D       start sampling every D (a Go duration); answer stats
//	phase NAME     mark the start of a lifecycle phase; answer stats
//	samples        stop sampling; answer {"Series":...,"Phases":[{"Name","Time"}]}
//	memclasses     a map of the runtime's memory classes to bytes
//	heapprofile F  write a heap profile to file F, or answer an error
//	quit           stop serving, answer, and exit 0
//
// The program gets RTLAB_CHILD_PPID, the parent's pid, and must exit when
// its stdin ends or its parent is gone. node/wsserver.js, the Node ws
// server of the root benchmarks, is one.
func CommandServerChild(name, dir string, argv ...string) (ServerChild, error) {
	if name == "" {
		return ServerChild{}, errors.New("wsconn/load: CommandServerChild: name is empty")
	}
	if len(argv) == 0 || argv[0] == "" {
		return ServerChild{}, errors.New("wsconn/load: CommandServerChild: no program given")
	}
	return ServerChild{name: name, cmd: &child.Command{Name: "wsconn.server." + name, Path: argv[0], Args: argv[1:], Dir: dir}}, nil
}

func (s ServerChild) zero() bool { return s.f.Name() == "" && s.cmd == nil }

// start starts the server's process, a re-executed binary or a command,
// and decodes its ready answer into ready.
//
// The child runs with this process's GOMAXPROCS (which go test -cpu sets),
// so that a benchmark measures its server at the -cpu it names; a Node
// child is given the same variable, which it ignores.
func (s ServerChild) start(ctx context.Context, ready *serverReady) (*child.Ctl, error) {
	env := []string{fmt.Sprintf("GOMAXPROCS=%d", runtime.GOMAXPROCS(0))}
	if s.cmd == nil {
		arg, err := json.Marshal(serverArg{TLS: s.tls})
		if err != nil {
			return nil, err
		}
		return startCtl(ctx, s.f, string(arg), env, ready)
	}
	var caPEM string
	if s.tls {
		a, err := testcert.New()
		if err != nil {
			return nil, err
		}
		cert, key, err := a.LeafPEM()
		if err != nil {
			return nil, err
		}
		env = append(env, "RTLAB_TLS_CERT="+string(cert), "RTLAB_TLS_KEY="+string(key))
		caPEM = string(a.CAPEM())
	}
	timeout := time.Hour
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	ctl, err := s.cmd.StartCtl(ctx, child.Options{Env: env, Timeout: timeout}, ready)
	if err == nil && s.tls {
		ready.CAPEM = caPEM
	}
	return ctl, err
}
