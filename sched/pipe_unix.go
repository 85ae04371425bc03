//go:build unix

package sched

import "syscall"

// pipe is a pipe with blocking descriptors used through raw system calls:
// os.Pipe would make them non-blocking and park readers in the network
// poller, which holds no thread, and this experiment is about readers that
// do hold one.
type pipe struct{ r, w int }

func newPipe() (pipe, error) {
	var fd [2]int
	// Hold ForkLock so that a child started meanwhile does not inherit the
	// descriptors before they are marked close-on-exec.
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := syscall.Pipe(fd[:]); err != nil {
		return pipe{}, err
	}
	syscall.CloseOnExec(fd[0])
	syscall.CloseOnExec(fd[1])
	return pipe{r: fd[0], w: fd[1]}, nil
}

// blockRead blocks in read(2) until a byte or end of file arrives.
func (p pipe) blockRead() {
	var b [1]byte
	for {
		if _, err := syscall.Read(p.r, b[:]); err != syscall.EINTR {
			return
		}
	}
}

func (p pipe) closeWrite() error { return syscall.Close(p.w) }
func (p pipe) closeRead() error  { return syscall.Close(p.r) }
