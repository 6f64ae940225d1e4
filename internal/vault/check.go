package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/keyops"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/webhook"
)

// CheckStore is the domain's consistency check of a whole store, in the spirit of bbolt's
// Tx.Check: it reads every key the domain owns and reports each way the records break the
// domain's rules, with what it affects. `coffer check` runs it on a stopped server's
// storage, and every test harness of this package on its store when the test ends.
// sealed is the barrier over raw; raw is read only for its list of keys (so that a value
// the barrier cannot open is named, not skipped). The error is for a store that cannot be
// read at all.
//
// The rules, from layout.go, objects.go, sweeper.go and their neighbours:
//   - every value opens under the barrier and decodes as what its key says it is;
//   - every key is one the layout knows (or opts.Foreign says another owner keeps);
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
func CheckStore(ctx context.Context, sealed, raw storage.Backend, opts CheckOptions) ([]Problem, error) {
	var keys []string
	after := ""
	for {
		var page []storage.Entry
		if err := raw.View(ctx, func(tx storage.Tx) (err error) {
			page, err = tx.Scan("", after, checkPage)
			return err
		}); err != nil {
			return nil, err
		}
		for _, e := range page {
			if !strings.HasPrefix(e.Key, "barrier/") && (opts.Foreign == nil || !opts.Foreign(e.Key)) {
				keys = append(keys, e.Key)
			}
		}
		if len(page) < checkPage {
			break
		}
		after = page[len(page)-1].Key
	}
	c := &checker{
		now:    opts.Now,
		vaults: map[string]Vault{}, heads: map[string]checkedHead{}, versions: map[string][]string{},
		versionHome: map[string]string{}, due: map[string]dueEntry{}, certItems: map[string]string{},
	}
	err := sealed.View(ctx, func(tx storage.Tx) error {
		for _, k := range keys {
			v, err := tx.Get(k)
			if err != nil {
				c.fail(k, "does not open under the barrier: %v", err)
				continue
			}
			c.read(k, v)
		}
		if _, err := ledger.Verify(tx); err != nil {
			c.fail("ledger/", "%v", err)
		}
		if _, err := webhook.List(tx); err != nil {
			c.fail("sys/webhooks/", "%v", err)
		}
		if _, err := webhook.Pending(tx, 0, 0); err != nil {
			c.fail("sys/outbox/", "%v", err)
		}
		if _, err := webhook.LastSeq(tx); err != nil {
			c.fail("sys/outbox-seq", "%v", err)
		}
		for _, k := range c.subIndex {
			id := k[strings.LastIndex(k, "/")+1:]
			if _, err := webhook.Get(tx, id); err != nil {
				c.fail(k, "indexes no subscription: %v", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.relate()
	slices.SortFunc(c.problems, func(a, b Problem) int { return strings.Compare(a.Key, b.Key) })
	return c.problems, nil
}

// checkPage is how many keys CheckStore lists per read.
const checkPage = 1000

// CheckOptions configures [CheckStore].
type CheckOptions struct {
	// Now is the vault clock's time: deletion dates must not be after it.
	Now time.Time
	// Foreign reports the keys that other owners keep in the same store (the server's,
	// identity's); CheckStore leaves them to their owners. Nil: every key but the
	// barrier's must be the domain's.
	Foreign func(key string) bool
}

// Problem is one way the stored records break the domain's rules.
type Problem struct {
	// Key is the storage key at fault, or the first key of the records at fault.
	Key string
	// Vault, Kind and Name are what the problem affects, lower-cased as in keys: a vault
	// (Kind "vault"), an object in it, or (Vault "") the deployment's own records.
	Vault string
	Kind  Kind
	Name  string
	Text  string
}

func (p Problem) String() string { return p.Key + ": " + p.Text }

// Affects says what the problem affects, for a person.
func (p Problem) Affects() string {
	switch {
	case p.Vault != "" && p.Name != "":
		return fmt.Sprintf("vault %s, %s %s", p.Vault, p.Kind, p.Name)
	case p.Vault != "" && p.Kind != "" && p.Kind != kindVault:
		return fmt.Sprintf("vault %s, its %s settings", p.Vault, p.Kind)
	case p.Vault != "":
		return "vault " + p.Vault
	case strings.HasPrefix(p.Key, "ledger/"):
		return "the deletion ledger"
	case strings.HasPrefix(p.Key, "sys/webhook"), strings.HasPrefix(p.Key, "sys/outbox"):
		return "the webhook subscriptions and their events"
	case p.Key == backupKeyKey:
		return "backups: the key that seals them"
	}
	return "the record " + p.Key
}

// keySubject is what a storage key is about (see Problem).
func keySubject(key string) (vault string, kind Kind, name string) {
	switch p := strings.Split(key, "/"); {
	case strings.HasPrefix(key, vaultsPrefix) && len(p) == 2:
		return p[1], kindVault, ""
	case p[0] == "v" && len(p) >= 5 && p[3] != "contacts":
		return p[1], Kind(p[2]), p[4]
	case p[0] == "v" && len(p) >= 3:
		return p[1], Kind(p[2]), ""
	case p[0] == "v" && len(p) == 2:
		return p[1], kindVault, ""
	case strings.HasPrefix(key, duePrefix) && len(p) == 6:
		if p[4] == string(kindVault) {
			return p[3], kindVault, ""
		}
		return p[3], Kind(p[4]), p[5]
	}
	return "", "", ""
}

type checkedHead struct {
	key     string
	vault   string // lower-case, from the key
	deleted bool
	o       Object
}

type checker struct {
	now         time.Time
	problems    []Problem
	vaults      map[string]Vault       // by lower-case name
	heads       map[string]checkedHead // by headID; a name both live and deleted is reported
	versions    map[string][]string    // headID → version ids stored
	versionHome map[string]string      // headID → the key prefix of its versions
	due         map[string]dueEntry    // by key
	certItems   map[string]string      // key → vault/certificate it belongs to ("vault/" for contacts and issuers)
	subIndex    []string
	staging     map[string]bool  // vaults an import is staging (importing/<vault>): their records have no vault yet
	counts      map[string]int64 // kept deleted counts (stats.go), by "vault/kind"
	countsKept  bool             // stats/ready is present
}

// fail reports a problem with the record at key (or the records it begins).
func (c *checker) fail(key, format string, args ...any) {
	v, kind, name := keySubject(key)
	c.problems = append(c.problems, Problem{Key: key, Vault: v, Kind: kind, Name: name, Text: fmt.Sprintf(format, args...)})
}

func headID(v string, kind Kind, name string) string {
	return lower(v) + "/" + string(kind) + "/" + lower(name)
}

func (c *checker) decode(key string, b []byte, v any) bool {
	if err := json.Unmarshal(b, v); err != nil {
		c.fail(key, "does not decode as %T: %v", v, err)
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
				c.fail(key, "holds vault %q", v.Name)
			}
			c.vaults[strings.TrimPrefix(key, vaultsPrefix)] = v
		}
	case strings.HasPrefix(key, "v/"):
		c.readVaultItem(key, val)
	case strings.HasPrefix(key, duePrefix):
		e, ok := parseDueKey(key)
		if !ok {
			c.fail(key, "malformed scheduler entry")
			return
		}
		if len(val) != 0 {
			c.fail(key, "scheduler entry with a value")
		}
		c.due[key] = e
	case strings.HasPrefix(key, "ledger/"):
		// ledger.Verify reads these.
	case key == backupKeyKey:
		if len(val) != 32 {
			c.fail(key, "%d bytes, want 32", len(val))
		}
	case strings.HasPrefix(key, "sys/webhook-vaults/"):
		c.subIndex = append(c.subIndex, key)
	case strings.HasPrefix(key, "sys/webhooks/"), strings.HasPrefix(key, "sys/outbox/"), key == "sys/outbox-seq":
		// webhook.List, Pending and LastSeq read these.
	case strings.HasPrefix(key, "importing/"):
		// an import's marker (import.go): the records under its vault are staged, and
		// the next import or create of that name clears them if the import died.
		if c.staging == nil {
			c.staging = map[string]bool{}
		}
		c.staging[strings.TrimPrefix(key, "importing/")] = true
	case strings.HasPrefix(key, "rbac/"):
		// package rbac's role definitions and assignments (its own tests check them).
	case key == statsReady:
		c.countsKept = true
	case strings.HasPrefix(key, statsPrefix):
		p := strings.Split(strings.TrimPrefix(key, statsPrefix), "/")
		n, err := strconv.ParseInt(string(val), 10, 64)
		if len(p) != 3 || err != nil || n == 0 { // a record may be negative: only the sum counts
			c.fail(key, "a malformed count of deleted objects")
			return
		}
		if c.counts == nil {
			c.counts = map[string]int64{}
		}
		c.counts[p[0]+"/"+p[1]] += n
	default:
		c.fail(key, "a key the layout does not know")
	}
}

// readVaultItem reads a key under v/<vault>/.
func (c *checker) readVaultItem(key string, val []byte) {
	p := strings.Split(key, "/")
	if len(p) < 4 {
		c.fail(key, "a key the layout does not know")
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
			c.fail(key, "holds %s %q", o.Kind, o.Name)
		}
		id := headID(v, kind, p[4])
		if prev, ok := c.heads[id]; ok {
			c.fail(key, "%s %s is both live and deleted (%s)", kind, o.Name, prev.key)
		}
		c.heads[id] = checkedHead{key: key, vault: v, deleted: section == "deleted", o: o}
		c.readPolicy(key, o)
	case known && len(p) == 6 && section == "ver":
		id := headID(v, kind, p[4])
		c.versions[id] = append(c.versions[id], p[5])
		c.versionHome[id] = strings.TrimSuffix(versionPrefix(v, kind, p[4]), "/")
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
		c.fail(key, "a key the layout does not know")
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
		c.fail(key, "policy: %v", err)
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
			c.fail(key, "key material does not import: %v", err)
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
		c.fail(key, "holds version %q", got)
	}
}

// relate checks what the records say about each other.
func (c *checker) relate() {
	for key, v := range c.vaults {
		c.checkDates(vaultKey(key), v.DeletedDate, v.ScheduledPurgeDate, v.Retention())
		if !v.DeletedDate.IsZero() {
			c.wantDue(dueKey(v.ScheduledPurgeDate, actionPurgeVault, v.Name, "vault", v.Name), vaultKey(key))
		}
	}
	for id, h := range c.heads {
		o := h.o
		vlt, ok := c.vaults[h.vault]
		if !ok && c.staging[h.vault] {
			continue
		}
		if !ok {
			c.fail(h.key, "in no stored vault")
			continue
		}
		vers := c.versions[id]
		if o.Versions != len(vers) {
			c.fail(h.key, "counts %d versions, %d are stored", o.Versions, len(vers))
		}
		if o.Latest == "" {
			if o.Kind != KindCertificate || h.deleted || o.Versions != 0 {
				c.fail(h.key, "no latest version")
			}
		} else if !slices.Contains(vers, lower(o.Latest)) {
			c.fail(h.key, "latest version %s is not stored", o.Latest)
		}
		if !h.deleted {
			if !o.DeletedDate.IsZero() || !o.ScheduledPurgeDate.IsZero() {
				c.fail(h.key, "live with deletion dates")
			}
		} else {
			c.checkDates(h.key, o.DeletedDate, o.ScheduledPurgeDate, vlt.Retention())
			if o.DeletedDate.IsZero() {
				c.fail(h.key, "deleted without a deletedDate")
			}
			c.wantDue(purgeKey(o.ScheduledPurgeDate, h.vault, o.Kind, o.Name), h.key)
		}
		if o.Managed {
			cert, ok := c.heads[headID(h.vault, KindCertificate, o.Name)]
			switch {
			case o.Kind == KindCertificate:
				c.fail(h.key, "a certificate marked managed")
			case !ok:
				c.fail(h.key, "backs no certificate")
			case cert.deleted != h.deleted || !cert.o.DeletedDate.Equal(o.DeletedDate) || !cert.o.ScheduledPurgeDate.Equal(o.ScheduledPurgeDate):
				c.fail(h.key, "its certificate %s is in another state", cert.key)
			}
		}
	}
	for id, vers := range c.versions {
		if _, ok := c.heads[id]; !ok {
			c.fail(c.versionHome[id], "%d orphaned versions (no head)", len(vers))
		}
	}
	for key, owner := range c.certItems {
		if v, ok := strings.CutSuffix(owner, "/"); ok {
			if _, ok := c.vaults[v]; !ok && !c.staging[v] {
				c.fail(key, "in no stored vault")
			}
		} else if _, ok := c.heads[owner]; !ok {
			c.fail(key, "belongs to no certificate")
		}
	}
	for key, e := range c.due {
		c.checkDue(key, e)
	}
	c.relateCounts()
}

// relateCounts compares the kept counts of deleted objects (stats.go) with the deleted
// vaults and objects stored.
func (c *checker) relateCounts() {
	if !c.countsKept {
		if len(c.counts) > 0 {
			c.fail(statsReady, "missing, while counts of deleted objects are stored")
		}
		return
	}
	want := map[string]int64{}
	for key, v := range c.vaults {
		if !v.DeletedDate.IsZero() {
			want[key+"/"+string(kindVault)]++
		}
	}
	for _, h := range c.heads {
		if h.deleted && !h.o.backsCertificate() {
			want[h.vault+"/"+string(h.o.Kind)]++
		}
	}
	for k, n := range want {
		if c.counts[k] != n {
			c.fail(statsPrefix+k+"/", "count %d deleted, %d are stored", c.counts[k], n)
		}
	}
	for k, n := range c.counts {
		if _, ok := want[k]; !ok && n != 0 {
			c.fail(statsPrefix+k+"/", "count %d deleted, none are stored", n)
		}
	}
}

// checkDates checks the deletion dates of the record at key.
func (c *checker) checkDates(key string, deleted, purge time.Time, retention time.Duration) {
	if deleted.After(c.now) {
		c.fail(key, "deleted in the future (%v)", deleted)
	}
	if deleted.IsZero() != purge.IsZero() {
		c.fail(key, "one deletion date without the other")
	} else if !deleted.IsZero() && !purge.Equal(deleted.Add(retention)) {
		c.fail(key, "scheduledPurgeDate %v is not deletedDate %v plus the retention %v", purge, deleted, retention)
	}
}

// wantDue reports the record at key when the scheduler's entry due is missing.
func (c *checker) wantDue(due, key string) {
	if _, ok := c.due[due]; !ok {
		c.fail(key, "no scheduler entry %s", due)
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
		c.fail(key, "action %q for a %s", e.action, e.kind)
		return
	}
	vlt, vaultStored := c.vaults[e.vault]
	switch e.action {
	case actionPurge:
		h, ok := c.heads[headID(e.vault, e.kind, e.name)]
		if !ok || !h.deleted || h.o.ScheduledPurgeDate.Unix() != e.at {
			c.fail(key, "purges no deleted %s of that date", e.kind)
		}
	case actionPurgeVault:
		if !vaultStored || e.name != e.vault || vlt.DeletedDate.IsZero() || vlt.ScheduledPurgeDate.Unix() != e.at {
			c.fail(key, "purges no deleted vault of that date")
		}
	}
}
