package cofferproc

import "syscall"

// ChildAttr makes a server subprocess die with the program that started it, even when
// that program is killed (a benchmark interrupted, a test binary past its -timeout):
// an orphaned server would hold its port and data dir and load the machine.
func ChildAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
