package fleet_test

import (
	"os"
	"syscall"
)

// dieWithParent makes redis-server die with the test binary (strictly:
// with the thread that started it, which the Go runtime keeps while the
// binary runs, since no test locks and ends an OS thread).
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

func pauseProcess(p *os.Process) error  { return p.Signal(syscall.SIGSTOP) }
func resumeProcess(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
