package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/keyops"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/webhook"
)

// checkStore is the tests' consistency check of a whole store, in the spirit of bbolt's
// Tx.Check: it reads every key and reports, one line per problem, whatever breaks the
// domain's rules. sealed is the barrier over raw; raw is read only for its list of keys
// (so that a value the barrier cannot open is named, not skipped).
//
// The rules, from layout.go, objects.go, sweeper.go and their neighbours:
//   - every value opens under the barrier and decodes as what its key says it is;
//   - every key is one the layout knows;
//   - every object lives in a stored vault, and every version has its head (live or
//     deleted), whose Versions and Latest agree with the versions stored;
//   - a live head has no deletion dates; a deleted one has both, retention apart, the
//     first not after now, and the sweeper's purge entry at its scheduledPurgeDate
//     (likewise a deleted vault); one past that date is tolerated (reads treat it as
//     purged until the sweeper or a new object of that name reclaims it);
//   - a key or secret that backs a certificate shares the certificate's state and dates;
//   - a purge entry of the index names a deleted head (or vault) at that very date
//     (transitions remove the entries they make stale, a vault's purge those of the
//     objects inside); rotation, renewal and warning entries are recomputed when due and
//     may be stale;
//   - a certificate operation, contacts and issuers belong to a certificate or vault;
//   - the deletion ledger's hash chain verifies, and the webhook records decode.
func checkStore(ctx context.Context, sealed, raw storage.Backend, now time.Time) ([]string, error) {
	var keys []string
	if err := raw.View(ctx, func(tx storage.Tx) error {
		es, err := tx.Scan("", "", 0)
		for _, e := range es {
			if !strings.HasPrefix(e.Key, "barrier/") { // the barrier's own keyring
				keys = append(keys, e.Key)
			}
		}
		return err
	}); err != nil {
		return nil, err
	}
	c := &checker{
		now:    now,
		vaults: map[string]Vault{}, heads: map[string]checkedHead{}, versions: map[string][]string{},
		due: map[string]dueEntry{}, certItems: map[string]string{},
	}
	err := sealed.View(ctx, func(tx storage.Tx) error {
		for _, k := range keys {
			v, err := tx.Get(k)
			if err != nil {
				c.fail("%s: does not open under the barrier: %v", k, err)
				continue
			}
			c.read(k, v)
		}
		if _, err := ledger.Verify(tx); err != nil {
			c.fail("ledger: %v", err)
		}
		if _, err := webhook.List(tx); err != nil {
			c.fail("webhooks: %v", err)
		}
		if _, err := webhook.Pending(tx, 0, 0); err != nil {
			c.fail("outbox: %v", err)
		}
		if _, err := webhook.LastSeq(tx); err != nil {
			c.fail("outbox seq: %v", err)
		}
		for _, k := range c.subIndex {
			id := k[strings.LastIndex(k, "/")+1:]
			if _, err := webhook.Get(tx, id); err != nil {
				c.fail("%s: indexes no subscription: %v", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.relate()
	return c.problems, nil
}

type checkedHead struct {
	key     string
	vault   string // lower-case, from the key
	deleted bool
	o       Object
}

type checker struct {
	now       time.Time
	problems  []string
	vaults    map[string]Vault       // by lower-case name
	heads     map[string]checkedHead // by headID; a name both live and deleted is reported
	versions  map[string][]string    // headID → version ids stored
	due       map[string]dueEntry    // by key
	certItems map[string]string      // key → vault/certificate it belongs to ("vault/" for contacts and issuers)
	subIndex  []string
}

func (c *checker) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func headID(v string, kind Kind, name string) string {
	return lower(v) + "/" + string(kind) + "/" + lower(name)
}

func (c *checker) decode(key string, b []byte, v any) bool {
	if err := json.Unmarshal(b, v); err != nil {
		c.fail("%s: does not decode as %T: %v", key, v, err)
		return false
	}
	return true
}

// read classifies one key and decodes its value.
func (c *checker) read(key string, val []byte) {
	switch {
	case strings.HasPrefix(key, vaultsPrefix):
		var v Vault
		if c.decode(key, val, &v) {
			if key != vaultKey(v.Name) {
				c.fail("%s: holds vault %q", key, v.Name)
			}
			c.vaults[strings.TrimPrefix(key, vaultsPrefix)] = v
		}
	case strings.HasPrefix(key, "v/"):
		c.readVaultItem(key, val)
	case strings.HasPrefix(key, duePrefix):
		e, ok := parseDueKey(key)
		if !ok {
			c.fail("%s: malformed scheduler entry", key)
			return
		}
		if len(val) != 0 {
			c.fail("%s: scheduler entry with a value", key)
		}
		c.due[key] = e
	case strings.HasPrefix(key, "ledger/"):
		// ledger.Verify reads these.
	case key == backupKeyKey:
		if len(val) != 32 {
			c.fail("%s: %d bytes, want 32", key, len(val))
		}
	case strings.HasPrefix(key, "sys/webhook-vaults/"):
		c.subIndex = append(c.subIndex, key)
	case strings.HasPrefix(key, "sys/webhooks/"), strings.HasPrefix(key, "sys/outbox/"), key == "sys/outbox-seq":
		// webhook.List, Pending and LastSeq read these.
	case strings.HasPrefix(key, "rbac/"):
		// package rbac's role definitions and assignments (its own tests check them).
	default:
		c.fail("%s: a key the layout does not know", key)
	}
}

// readVaultItem reads a key under v/<vault>/.
func (c *checker) readVaultItem(key string, val []byte) {
	p := strings.Split(key, "/")
	if len(p) < 4 {
		c.fail("%s: a key the layout does not know", key)
		return
	}
	v, kind, section := p[1], Kind(p[2]), p[3]
	known := kind == KindSecret || kind == KindKey || kind == KindCertificate
	switch {
	case known && len(p) == 5 && (section == "live" || section == "deleted"):
		var o Object
		if !c.decode(key, val, &o) {
			return
		}
		if o.Kind != kind || lower(o.Name) != p[4] {
			c.fail("%s: holds %s %q", key, o.Kind, o.Name)
		}
		id := headID(v, kind, p[4])
		if prev, ok := c.heads[id]; ok {
			c.fail("%s: %s %s is both live and deleted (%s)", key, kind, o.Name, prev.key)
		}
		c.heads[id] = checkedHead{key: key, vault: v, deleted: section == "deleted", o: o}
		c.readPolicy(key, o)
	case known && len(p) == 6 && section == "ver":
		id := headID(v, kind, p[4])
		c.versions[id] = append(c.versions[id], p[5])
		c.readVersion(key, kind, p[5], val)
	case kind == KindCertificate && len(p) == 5 && section == "op":
		var op CertOperation
		if c.decode(key, val, &op) {
			c.certItems[key] = headID(v, KindCertificate, p[4])
		}
	case kind == KindCertificate && len(p) == 4 && section == "contacts":
		var cs []Contact
		if c.decode(key, val, &cs) {
			c.certItems[key] = v + "/"
		}
	case kind == KindCertificate && len(p) == 5 && section == "issuer":
		var is Issuer
		if c.decode(key, val, &is) {
			c.certItems[key] = v + "/"
		}
	default:
		c.fail("%s: a key the layout does not know", key)
	}
}

func (c *checker) readPolicy(key string, o Object) {
	if len(o.Policy) == 0 {
		return
	}
	var err error
	switch o.Kind {
	case KindKey:
		_, err = rotationPolicy(&o)
	case KindCertificate:
		_, err = certPolicy(&o)
	default:
		err = fmt.Errorf("a %s has no policy", o.Kind)
	}
	if err != nil {
		c.fail("%s: policy: %v", key, err)
	}
}

func (c *checker) readVersion(key string, kind Kind, id string, val []byte) {
	var got string
	switch kind {
	case KindSecret:
		var ver SecretVersion
		if !c.decode(key, val, &ver) {
			return
		}
		got = ver.ID
	case KindKey:
		var ver KeyVersion
		if !c.decode(key, val, &ver) {
			return
		}
		if _, err := keyops.Import(ver.JWK); err != nil {
			c.fail("%s: key material does not import: %v", key, err)
		}
		got = ver.ID
	case KindCertificate:
		var ver CertificateVersion
		if !c.decode(key, val, &ver) {
			return
		}
		got = ver.ID
	}
	if lower(got) != id {
		c.fail("%s: holds version %q", key, got)
	}
}

// relate checks what the records say about each other.
func (c *checker) relate() {
	for key, v := range c.vaults {
		c.checkDates("vault "+v.Name, v.DeletedDate, v.ScheduledPurgeDate, v.Retention())
		if !v.DeletedDate.IsZero() {
			c.wantDue(dueKey(v.ScheduledPurgeDate, actionPurgeVault, v.Name, "vault", v.Name), "deleted vault "+key)
		}
	}
	for id, h := range c.heads {
		o := h.o
		vlt, ok := c.vaults[h.vault]
		if !ok {
			c.fail("%s: in no stored vault", h.key)
			continue
		}
		vers := c.versions[id]
		if o.Versions != len(vers) {
			c.fail("%s: counts %d versions, %d are stored", h.key, o.Versions, len(vers))
		}
		if o.Latest == "" {
			if o.Kind != KindCertificate || h.deleted || o.Versions != 0 {
				c.fail("%s: no latest version", h.key)
			}
		} else if !slices.Contains(vers, lower(o.Latest)) {
			c.fail("%s: latest version %s is not stored", h.key, o.Latest)
		}
		if !h.deleted {
			if !o.DeletedDate.IsZero() || !o.ScheduledPurgeDate.IsZero() {
				c.fail("%s: live with deletion dates", h.key)
			}
		} else {
			c.checkDates(h.key, o.DeletedDate, o.ScheduledPurgeDate, vlt.Retention())
			if o.DeletedDate.IsZero() {
				c.fail("%s: deleted without a deletedDate", h.key)
			}
			c.wantDue(purgeKey(o.ScheduledPurgeDate, h.vault, o.Kind, o.Name), h.key)
		}
		if o.Managed {
			cert, ok := c.heads[headID(h.vault, KindCertificate, o.Name)]
			switch {
			case o.Kind == KindCertificate:
				c.fail("%s: a certificate marked managed", h.key)
			case !ok:
				c.fail("%s: backs no certificate", h.key)
			case cert.deleted != h.deleted || !cert.o.DeletedDate.Equal(o.DeletedDate) || !cert.o.ScheduledPurgeDate.Equal(o.ScheduledPurgeDate):
				c.fail("%s: its certificate %s is in another state", h.key, cert.key)
			}
		}
	}
	for id, vers := range c.versions {
		if _, ok := c.heads[id]; !ok {
			c.fail("%s: %d orphaned versions (no head)", id, len(vers))
		}
	}
	for key, owner := range c.certItems {
		if v, ok := strings.CutSuffix(owner, "/"); ok {
			if _, ok := c.vaults[v]; !ok {
				c.fail("%s: in no stored vault", key)
			}
		} else if _, ok := c.heads[owner]; !ok {
			c.fail("%s: belongs to no certificate", key)
		}
	}
	for key, e := range c.due {
		c.checkDue(key, e)
	}
}

func (c *checker) checkDates(what string, deleted, purge time.Time, retention time.Duration) {
	if deleted.After(c.now) {
		c.fail("%s: deleted in the future (%v)", what, deleted)
	}
	if deleted.IsZero() != purge.IsZero() {
		c.fail("%s: one deletion date without the other", what)
	} else if !deleted.IsZero() && !purge.Equal(deleted.Add(retention)) {
		c.fail("%s: scheduledPurgeDate %v is not deletedDate %v plus the retention %v", what, purge, deleted, retention)
	}
}

func (c *checker) wantDue(key, what string) {
	if _, ok := c.due[key]; !ok {
		c.fail("%s: no scheduler entry %s", what, key)
	}
}

func (c *checker) checkDue(key string, e dueEntry) {
	kinds := map[string][]Kind{
		actionPurge: {KindSecret, KindKey, KindCertificate}, actionPurgeVault: {"vault"},
		actionRotateKey: {KindKey}, actionNotifyKey: {KindKey},
		actionRenewCert: {KindCertificate}, actionNotifyCert: {KindCertificate},
		actionWarn: {KindSecret, KindKey, KindCertificate, "vault"},
	}[e.action]
	if !slices.Contains(kinds, e.kind) {
		c.fail("%s: action %q for a %s", key, e.action, e.kind)
		return
	}
	vlt, vaultStored := c.vaults[e.vault]
	switch e.action {
	case actionPurge:
		h, ok := c.heads[headID(e.vault, e.kind, e.name)]
		if !ok || !h.deleted || h.o.ScheduledPurgeDate.Unix() != e.at {
			c.fail("%s: purges no deleted %s of that date", key, e.kind)
		}
	case actionPurgeVault:
		if !vaultStored || e.name != e.vault || vlt.DeletedDate.IsZero() || vlt.ScheduledPurgeDate.Unix() != e.at {
			c.fail("%s: purges no deleted vault of that date", key)
		}
	}
}
