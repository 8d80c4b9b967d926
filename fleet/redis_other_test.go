//go:build !linux

package fleet_test

import (
	"errors"
	"os"
	"syscall"
)

// dieWithParent is Linux's only: elsewhere the server is stopped by its PID
// when the tests end.
func dieWithParent() *syscall.SysProcAttr { return nil }

var errNoPause = errors.New("pausing a process is implemented for Linux only")

func pauseProcess(*os.Process) error  { return errNoPause }
func resumeProcess(*os.Process) error { return errNoPause }
