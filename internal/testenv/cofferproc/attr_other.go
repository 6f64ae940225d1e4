//go:build !linux

package cofferproc

import "syscall"

// ChildAttr sets nothing: only Linux has a parent-death signal.
func ChildAttr() *syscall.SysProcAttr { return nil }
