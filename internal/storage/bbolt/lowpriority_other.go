//go:build !linux

package bbolt

// lowerThreadPriority does nothing where a thread's priority cannot be set apart from
// its process's: background batches run at the usual priority.
func lowerThreadPriority(int) {}
