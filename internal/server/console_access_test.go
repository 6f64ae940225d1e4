package server_test

import (
	"testing"

	"github.com/coffer/coffer/internal/azapi"
	"github.com/coffer/coffer/internal/console"
)

// TestConsoleDecidesAsTheDataPlane: the browser console decides each of its actions by
// the data plane's own permission and RBAC data action (azapi.Access, which the server
// hands it), so a principal may do in the console exactly what it may do through the
// API; every operation it carries out is one the data plane has, and a console that
// names one the data plane does not know is refused at start.
func TestConsoleDecidesAsTheDataPlane(t *testing.T) {
	ops := console.Operations()
	if len(ops) < 15 {
		t.Fatalf("only %d console operations", len(ops))
	}
	for _, op := range ops {
		if _, _, ok := azapi.Access(op); !ok {
			t.Errorf("%s: the data plane has no such operation", op)
		}
	}
	missing := func(op string) (string, string, bool) {
		if op == "PurgeDeletedKey" {
			return "", "", false
		}
		return azapi.Access(op)
	}
	if _, err := console.New(console.Options{Access: missing}); err == nil {
		t.Fatal("a console whose operation the data plane does not know was built")
	}
	if _, err := console.New(console.Options{}); err == nil {
		t.Fatal("a console without the data plane's access rules was built")
	}
}
