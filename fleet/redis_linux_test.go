package fleet_test

import "syscall"

// dieWithParent makes redis-server die with the test binary (strictly:
// with the thread that started it, which the Go runtime keeps while the
// binary runs, since no test locks and ends an OS thread).
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
