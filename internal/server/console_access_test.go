package server_test

import (
	"testing"

	"github.com/coffer/coffer/internal/azapi"
	"github.com/coffer/coffer/internal/console"
)

// TestConsoleDecidesAsTheDataPlane: every operation the browser console carries out
// needs the same access-policy permission and RBAC data action as the data plane's
// operation of that name, so a principal may do in the console exactly what it may do
// through the API.
func TestConsoleDecidesAsTheDataPlane(t *testing.T) {
	ops := console.Operations()
	if len(ops) < 15 {
		t.Fatalf("only %d console operations", len(ops))
	}
	for op, want := range ops {
		perm, action, ok := azapi.Access(op)
		if !ok {
			t.Errorf("%s: the data plane has no such operation", op)
			continue
		}
		if perm != want[0] || action != want[1] {
			t.Errorf("%s: the console decides by %s / %s, the data plane by %s / %s", op, want[0], want[1], perm, action)
		}
	}
}
