package main

import "syscall"

// childAttr makes a server subprocess die with this program, even if it is killed.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
