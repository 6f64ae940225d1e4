package storagetest_test

import (
	"fmt"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// TestMemory: the test double passes the suite it stands beside, rerunning Updates too.
func TestMemory(t *testing.T) {
	for _, rerun := range []bool{false, true} {
		t.Run(fmt.Sprintf("rerun=%v", rerun), func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) storage.Backend {
				m := storagetest.NewMemory()
				m.Rerun = rerun
				return m
			})
		})
	}
}
