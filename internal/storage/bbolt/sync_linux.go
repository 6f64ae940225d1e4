package bbolt

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data, and its size, to disk (not its times).
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
