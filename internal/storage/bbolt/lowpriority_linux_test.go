package bbolt

import (
	"syscall"
	"testing"
)

// perThreadPriority: Linux gives each thread a nice value of its own.
const perThreadPriority = true

// threadNice is the calling thread's nice value (the system call answers 20 - nice).
func threadNice(t *testing.T) int {
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		t.Fatalf("getpriority: %v", err)
	}
	return 20 - p
}
