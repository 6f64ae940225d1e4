package bbolt

import "syscall"

// lowerThreadPriority sets the calling OS thread's nice value: on Linux, PRIO_PROCESS
// with a thread id applies to that thread alone. An error (a sandbox that forbids it)
// leaves the thread as it was.
func lowerThreadPriority(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
