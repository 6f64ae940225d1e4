package console

import "testing"

// TestEveryCollectionHasItsOperations: each collection the routes accept (ops) has its
// objectOps, so that a page never calls a missing one.
func TestEveryCollectionHasItsOperations(t *testing.T) {
	for coll := range ops {
		o := objects[coll]
		if o.list == nil || o.versions == nil || o.del == nil || o.recover == nil || o.purge == nil {
			t.Errorf("collection %q has no objectOps", coll)
		}
	}
}
