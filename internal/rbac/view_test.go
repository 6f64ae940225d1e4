package rbac_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// counting is a storage.Backend that counts what a view reads.
type counting struct {
	storage.Backend
	views, gets, scans atomic.Int64
}

func (c *counting) View(ctx context.Context, fn func(storage.Tx) error) error {
	c.views.Add(1)
	return c.Backend.View(ctx, func(tx storage.Tx) error { return fn(countingTx{tx, c}) })
}

type countingTx struct {
	storage.Tx
	c *counting
}

func (t countingTx) Get(k string) ([]byte, error) { t.c.gets.Add(1); return t.Tx.Get(k) }
func (t countingTx) Scan(p, a string, l int) ([]storage.Entry, error) {
	t.c.scans.Add(1)
	return t.Tx.Scan(p, a, l)
}

// TestViewCost: decisions read nothing from storage while the view is less than a second
// old; then one read of the change counter, and a reload only when it moved.
func TestViewCost(t *testing.T) {
	st := &counting{Backend: storagetest.NewMemory()}
	clk := newClock()
	s := rbac.New(st, clk.now)
	mustCreate(t, s, rbac.Assignment{Name: a1, Scope: vault1, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice})
	allowed(t, s, alice, sec1, getSecret, true) // reads the view
	st.views.Store(0)
	for range 1000 {
		if !allowed(t, s, alice, sec1, getSecret, true) {
			t.Fatal("refused")
		}
	}
	if n := st.views.Load(); n != 0 {
		t.Fatalf("1000 decisions within a second read storage %d times", n)
	}
	clk.advance(time.Second)
	st.views.Store(0)
	st.gets.Store(0)
	st.scans.Store(0)
	allowed(t, s, alice, sec1, getSecret, true)
	if v, g, sc := st.views.Load(), st.gets.Load(), st.scans.Load(); v != 1 || g != 1 || sc != 0 {
		t.Fatalf("the re-check after a second: %d transactions, %d gets, %d scans; want 1, 1, 0", v, g, sc)
	}
	// A change through this server: the next decision reloads at once.
	mustCreate(t, s, rbac.Assignment{Name: a2, Scope: vault2, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice})
	st.scans.Store(0)
	if !allowed(t, s, alice, vault2+"/secrets/x", getSecret, true) || st.scans.Load() == 0 {
		t.Fatal("a change through this server did not reload the view at once")
	}
}
