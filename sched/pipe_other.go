//go:build !unix

package sched

import (
	"errors"
	"runtime"
)

type pipe struct{}

func newPipe() (pipe, error) {
	return pipe{}, errors.New("sched: blocking pipes are implemented for unix only, not " + runtime.GOOS)
}

func (pipe) blockRead()        {}
func (pipe) closeWrite() error { return nil }
func (pipe) closeRead() error  { return nil }
