//go:build !linux

package fleet_test

import "syscall"

// dieWithParent is Linux's only: elsewhere the server is stopped by its PID
// when the tests end.
func dieWithParent() *syscall.SysProcAttr { return nil }
