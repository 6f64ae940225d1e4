package bbolt

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockRetry is how long lockFile waits between attempts, as bbolt itself does.
const lockRetry = 50 * time.Millisecond

// lockShared takes a shared lock on f (bbolt's writer takes an exclusive one on its own
// descriptor of the file), trying for about timeout; the lock goes with f's Close.
func lockShared(f *os.File, timeout time.Duration) error {
	attempts := max(1, int(timeout/lockRetry)+1)
	for i := range attempts {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("bbolt: lock %s: %w", f.Name(), err)
		}
		if i+1 < attempts {
			time.Sleep(lockRetry)
		}
	}
	return fmt.Errorf("%w: %s is locked by another process", ErrInUse, f.Name())
}
