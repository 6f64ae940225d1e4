package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
	"github.com/coffer/coffer/internal/vaultfile"
	"github.com/google/uuid"
)

// This file reads a whole-vault export back into a new vault (coffer vault import).
//
// All or nothing, at any size: the records are staged in batches of importBatch
// records, each its own storage transaction (so a vault of 100,000 secrets never makes
// one transaction of 200,000 writes, which bbolt would hold in memory and PostgreSQL
// might retry whole), under the new vault's own keys, v/<name>/…, while no vault record
// vaults/<name> exists: nothing reads those keys without it, so the staged objects are
// invisible. A marker, importing/<name>, holds the name meanwhile (a vault create of
// that name is refused) and says which import owns the staging. Only when the stream's
// trailer has checked out does one last transaction write the vault record, the
// scheduler's entries (purges of the deleted objects, rotations and renewals), the role
// assignments and the ledger entry, and remove the marker: the vault appears whole, at
// once. A failure, a cut stream or a damaged one removes what was staged; a server that
// died mid-import leaves a marker that stops being renewed: after importLease, a server
// starting (clearDeadImports) or the next import or create of that name clears it.

// importBatch is how many records one staging transaction writes.
var importBatch = 2000

// importLease is how long an import's marker holds the name without a batch being
// written: past it, the import is taken for dead and its staging is cleared.
const importLease = 5 * time.Minute

func importingKey(v string) string { return "importing/" + lower(v) }

// importMarker is the record at importingKey.
type importMarker struct {
	ID        string    `json:"id"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
}

// ImportOptions configure Import.
type ImportOptions struct {
	// DryRun reads and checks the whole stream and lists what would be imported, and
	// changes nothing.
	DryRun bool
}

// ImportItem is one object an import brings (or would bring) in.
type ImportItem struct {
	Kind               Kind      `json:"kind"`
	Name               string    `json:"name"`
	Versions           int       `json:"versions"`
	Deleted            bool      `json:"deleted,omitempty"`
	ScheduledPurgeDate time.Time `json:"scheduledPurgeDate,omitzero"`
}

// ImportSummary says what an import did (or, dry, would do).
type ImportSummary struct {
	Vault      string         `json:"vault"`
	Source     string         `json:"source"` // the vault's name where it was exported
	ExportedAt time.Time      `json:"exportedAt"`
	ExportedBy string         `json:"exportedBy,omitempty"`
	DryRun     bool           `json:"dryRun,omitempty"`
	Records    int64          `json:"records"`
	Counts     map[string]int `json:"counts"`
	// PurgedNotImported are the deleted objects whose scheduledPurgeDate had passed.
	PurgedNotImported []ImportItem `json:"purgedNotImported"`
	// RoleAssignmentsSkipped are role assignments whose role does not exist here.
	RoleAssignmentsSkipped []string `json:"roleAssignmentsSkipped,omitempty"`
	// Items lists the objects, for a dry run only.
	Items []ImportItem `json:"items,omitempty"`
}

// importBad is the error of a stream that cannot be imported as it is.
func importBad(name, format string, args ...any) error {
	return &Error{Kind: ErrBadParameter, ObjectKind: kindVault, Name: name, Detail: fmt.Sprintf(format, args...) + " Nothing was imported."}
}

// Import creates the vault name from the vaultfile stream r: the vault's settings and
// access policies, its role assignments, and every object with every version and its
// dates, deleted ones still deleted until their original scheduledPurgeDate (one whose
// date has passed is left out and listed). The name must be free, live or deleted.
func (s Request) Import(ctx context.Context, name string, r io.Reader, opts ImportOptions) (ImportSummary, error) {
	sum := ImportSummary{Vault: name, DryRun: opts.DryRun, Counts: map[string]int{}, PurgedNotImported: []ImportItem{}}
	if !ValidVaultName(name) {
		return sum, &Error{Kind: ErrVaultNameInvalid, ObjectKind: kindVault, Name: name,
			Detail: "The vault name should be string of 3 to 24 characters, start with a letter, end with a letter or digit, and contain only letters, digits and single hyphens."}
	}
	fr, err := vaultfile.NewReader(r)
	if err != nil {
		return sum, importBad(name, "The export cannot be read: %v.", err)
	}
	h := fr.Header()
	sum.Source, sum.ExportedAt, sum.ExportedBy = h.Vault, h.ExportedAt, h.ExportedBy
	first, err := fr.Next()
	if err != nil || first.Type != vaultfile.TypeVault {
		return sum, importBad(name, "The export cannot be read: %v.", cmpErr(err, "it does not start with the vault's record"))
	}
	var src Vault
	if err := json.Unmarshal(first.Data, &src); err != nil || src.RetentionDays < MinRetentionDays || src.RetentionDays > MaxRetentionDays {
		return sum, importBad(name, "The export's vault record is malformed.")
	}
	im := &importer{s: s, name: name, sum: &sum, dry: opts.DryRun, skip: map[string]bool{}}
	if !opts.DryRun {
		if err := im.begin(ctx); err != nil {
			return sum, err
		}
	} else if err := im.checkFree(ctx); err != nil {
		return sum, err
	}
	err = im.run(ctx, fr)
	if err == nil && !opts.DryRun {
		err = im.commit(ctx, src, h)
	}
	if err != nil {
		if !opts.DryRun {
			im.abort(context.WithoutCancel(ctx))
		}
		if errors.Is(err, vaultfile.ErrTruncated) || errors.Is(err, vaultfile.ErrDamaged) {
			return sum, importBad(name, "The export cannot be read: %v.", err)
		}
		return sum, err
	}
	sum.Records = fr.Trailer().Records
	return sum, nil
}

func cmpErr(err error, otherwise string) string {
	if err != nil && !errors.Is(err, io.EOF) {
		return err.Error()
	}
	return otherwise
}

// importer is one import at work.
type importer struct {
	s    Request
	name string
	sum  *ImportSummary
	dry  bool
	id   string // the marker's
	// skip holds the objects left out (kind/name, lower case), whose versions follow.
	skip  map[string]bool
	batch []storage.Entry
	size  int
	// After the stream: what the last transaction schedules and puts in force.
	purges     []ImportItem // deleted objects (and the key and secret behind a certificate)
	counted    []ImportItem // deleted objects the metrics count (stats.go): not the managed ones
	reschedule []ImportItem // live keys and certificates with a version
	roles      []rbac.Assignment
}

// taken is the error of a name that a vault, live or deleted, or another import holds.
func (im *importer) taken(why string) error {
	return &Error{Kind: ErrVaultNameTaken, ObjectKind: kindVault, Name: im.name,
		Detail: fmt.Sprintf("The vault name %s is %s: import under another name (--name). Nothing was imported.", im.name, why)}
}

// checkFreeTx refuses a name in use; a vault past its purge date that the sweeper has not
// reached yet is purged here, as a create would. stale is set when a dead import's
// marker or staging is in the way.
func (im *importer) checkFreeTx(tx storage.Tx, now time.Time, write bool) (stale bool, err error) {
	cur, err := getVaultRecord(tx, im.name)
	switch {
	case err == nil && cur.State(now) == Purged && write:
		if err := purgeVaultTx(tx, ledger.ActionAutoPurge, autoPurge(nameReuse), cur, now); err != nil {
			return false, err
		}
	case err == nil && cur.State(now) == Purged:
	case err == nil && cur.State(now) == Deleted:
		return false, im.taken("held by a soft-deleted vault until " + cur.ScheduledPurgeDate.Format(time.RFC3339))
	case err == nil:
		return false, im.taken("taken by an existing vault")
	case !errors.Is(err, ErrVaultNotFound):
		return false, err
	}
	var m importMarker
	err = kvjson.Get(tx, importingKey(im.name), &m)
	switch {
	case err == nil && m.ID == im.id:
	case err == nil && im.s.clk.Now().Sub(m.Heartbeat) < importLease:
		return false, im.taken("being imported by another import")
	case err == nil:
		return true, nil
	case !errors.Is(err, storage.ErrNotFound):
		return false, err
	}
	if im.id == "" {
		es, err := tx.Scan(vaultDataPrefix(im.name), "", 1)
		if err != nil {
			return false, err
		}
		return len(es) > 0, nil
	}
	return false, nil
}

// checkFree is checkFreeTx for a dry run.
func (im *importer) checkFree(ctx context.Context) error {
	return im.s.st.View(ctx, func(tx storage.Tx) error {
		_, err := im.checkFreeTx(tx, im.s.Now(), false)
		return err
	})
}

// begin takes the name with a marker, first clearing what a dead import left.
func (im *importer) begin(ctx context.Context) error {
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	for range 2 {
		var stale bool
		err := im.s.st.Update(ctx, func(tx storage.Tx) error {
			var err error
			if stale, err = im.checkFreeTx(tx, im.s.Now(), true); err != nil || stale {
				return err
			}
			now := im.s.clk.Now()
			return tx.Put(importingKey(im.name), mustJSON(importMarker{ID: id, Started: now, Heartbeat: now}))
		})
		if err != nil {
			return err
		}
		if !stale {
			im.id = id
			return nil
		}
		im.s.log.Warn("clearing the staging of an import that did not finish", "vault", im.name)
		if err := im.clear(ctx, ""); err != nil {
			return err
		}
	}
	return im.taken("being imported by another import")
}

// run reads the records, staging them.
func (im *importer) run(ctx context.Context, fr *vaultfile.Reader) error {
	now := im.s.Now()
	for {
		rec, err := fr.Next()
		if errors.Is(err, io.EOF) {
			return im.flush(ctx)
		}
		if err != nil {
			return err
		}
		switch rec.Type {
		case vaultfile.TypeRole:
			var a rbac.Assignment
			if err := json.Unmarshal(rec.Data, &a); err != nil {
				return fmt.Errorf("%w: a role assignment is malformed", vaultfile.ErrDamaged)
			}
			im.roles = append(im.roles, a)
			continue
		case vaultfile.TypeVault:
			return fmt.Errorf("%w: it holds a second vault record", vaultfile.ErrDamaged)
		}
		if err := im.object(rec, now); err != nil {
			return err
		}
		if len(im.batch) >= importBatch || im.size >= 8<<20 {
			if err := im.flush(ctx); err != nil {
				return err
			}
		}
	}
}

// object takes one record stored under the vault.
func (im *importer) object(rec vaultfile.Record, now time.Time) error {
	p, ok := parseRel(rec.Key)
	if !ok || !json.Valid(rec.Data) {
		return fmt.Errorf("%w: the record %q is not one a vault stores", vaultfile.ErrDamaged, rec.Key)
	}
	id := string(p.kind) + "/" + lower(p.name)
	switch p.what {
	case "live", "deleted":
		var o Object
		if err := json.Unmarshal(rec.Data, &o); err != nil || o.Kind != p.kind || !strings.EqualFold(o.Name, p.name) || (p.what == "deleted") == o.DeletedDate.IsZero() {
			return fmt.Errorf("%w: the object record %q is malformed", vaultfile.ErrDamaged, rec.Key)
		}
		item := ImportItem{Kind: o.Kind, Name: o.Name, Versions: o.Versions, Deleted: p.what == "deleted", ScheduledPurgeDate: o.ScheduledPurgeDate}
		if item.Deleted && o.State(now) == Purged {
			im.skip[id] = true
			if !o.Managed {
				im.sum.PurgedNotImported = append(im.sum.PurgedNotImported, item)
			}
			return nil
		}
		if !o.Managed {
			if item.Deleted {
				im.sum.Counts["deleted"+strings.ToUpper(string(o.Kind[:1]))+string(o.Kind[1:])+"s"]++
			} else {
				im.sum.Counts[string(o.Kind)+"s"]++
			}
			if im.dry {
				im.sum.Items = append(im.sum.Items, item)
			}
		}
		if item.Deleted {
			im.purges = append(im.purges, item)
			if !o.Managed {
				im.counted = append(im.counted, item)
			}
		} else if o.Latest != "" && (o.Kind == KindKey || o.Kind == KindCertificate) {
			im.reschedule = append(im.reschedule, item)
		}
	case "ver":
		if im.skip[id] {
			return nil
		}
		im.sum.Counts[string(p.kind)+"Versions"]++
	case "op":
		if im.skip[id] {
			return nil
		}
	case "issuer":
		im.sum.Counts["issuers"]++
	case "contacts":
		im.sum.Counts["contacts"]++
	}
	if im.dry {
		return nil
	}
	im.batch = append(im.batch, storage.Entry{Key: vaultDataPrefix(im.name) + rec.Key, Value: rec.Data})
	im.size += len(rec.Key) + len(rec.Data)
	return nil
}

// flush writes the staged batch, if this import still owns the name.
func (im *importer) flush(ctx context.Context) error {
	if im.dry || len(im.batch) == 0 {
		return nil
	}
	err := im.s.st.Update(ctx, func(tx storage.Tx) error {
		if err := im.owned(tx); err != nil {
			return err
		}
		for _, e := range im.batch {
			if err := tx.Put(e.Key, e.Value); err != nil {
				return err
			}
		}
		now := im.s.clk.Now()
		var m importMarker
		if err := kvjson.Get(tx, importingKey(im.name), &m); err != nil {
			return err
		}
		m.Heartbeat = now
		return tx.Put(importingKey(im.name), mustJSON(m))
	})
	im.batch, im.size = im.batch[:0], 0
	return err
}

// owned checks, in tx, that the marker is still this import's.
func (im *importer) owned(tx storage.Tx) error {
	var m importMarker
	err := kvjson.Get(tx, importingKey(im.name), &m)
	if errors.Is(err, storage.ErrNotFound) || err == nil && m.ID != im.id {
		return im.taken("no longer held by this import (it was taken for dead and cleared)")
	}
	return err
}

// commit makes the staged vault appear, whole, in one transaction.
func (im *importer) commit(ctx context.Context, src Vault, h vaultfile.Header) error {
	return im.s.st.Update(ctx, func(tx storage.Tx) error {
		im.sum.RoleAssignmentsSkipped = im.sum.RoleAssignmentsSkipped[:0]
		delete(im.sum.Counts, "roleAssignments")
		if err := im.owned(tx); err != nil {
			return err
		}
		now := im.s.Now()
		if _, err := im.checkFreeTx(tx, now, true); err != nil {
			return err
		}
		v := src
		v.Name = im.name
		v.TenantID = im.s.tenant
		v.AccessPolicies = append([]authz.Policy(nil), src.AccessPolicies...)
		for i := range v.AccessPolicies {
			if v.AccessPolicies[i].TenantID != "" {
				v.AccessPolicies[i].TenantID = im.s.tenant
			}
		}
		if !v.DeletedDate.IsZero() {
			return importBad(im.name, "The export holds a deleted vault.")
		}
		if err := tx.Put(vaultKey(im.name), mustJSON(v)); err != nil {
			return err
		}
		for _, it := range im.purges {
			if err := tx.Put(purgeKey(it.ScheduledPurgeDate, im.name, it.Kind, it.Name), nil); err != nil {
				return err
			}
		}
		for _, it := range im.counted {
			if err := addCount(tx, statsKey(im.name, it.Kind), 1); err != nil {
				return err
			}
		}
		for _, it := range im.reschedule {
			o, err := liveObject(tx, im.name, it.Kind, it.Name)
			if err != nil {
				return err
			}
			if err := rulesOf(it.Kind).reschedule(tx, v, o, now); err != nil {
				return err
			}
		}
		for _, a := range im.roles {
			ok, err := rbac.PutImported(tx, a, im.name, uuid.NewString)
			if err != nil {
				return err
			}
			if ok {
				im.sum.Counts["roleAssignments"]++
			} else {
				im.sum.RoleAssignmentsSkipped = append(im.sum.RoleAssignmentsSkipped, a.Name+" (role "+a.RoleDefinitionID+" does not exist here)")
			}
		}
		e := im.s.actor.entry()
		e.Time, e.Action, e.Kind, e.Vault, e.Name = now, ledger.ActionImport, string(kindVault), im.name, im.name
		e.Note = fmt.Sprintf("from vault %s exported %s", h.Vault, h.ExportedAt.UTC().Format(time.RFC3339))
		if h.Server != "" {
			e.Note += " from " + h.Server
		}
		if err := appendEntry(tx, e); err != nil {
			return err
		}
		return tx.Delete(importingKey(im.name))
	})
}

// abort removes what this import staged.
func (im *importer) abort(ctx context.Context) {
	if im.id == "" {
		return
	}
	if err := im.clear(ctx, im.id); err != nil {
		im.s.log.Error("could not clear the staging of a failed import; the next import or create of this name clears it", "vault", im.name, "err", err)
	}
}

// clear deletes the staged records and the marker, in batches; id, when set, must
// still own the marker (a vault record of the name means the import committed: nothing
// is cleared then).
func (im *importer) clear(ctx context.Context, id string) error {
	prefix := vaultDataPrefix(im.name)
	for {
		var n int
		err := im.s.st.Update(ctx, func(tx storage.Tx) error {
			n = 0
			if _, err := getVaultRecord(tx, im.name); err == nil {
				return nil
			} else if !errors.Is(err, ErrVaultNotFound) {
				return err
			}
			var m importMarker
			if err := kvjson.Get(tx, importingKey(im.name), &m); err == nil && id != "" && m.ID != id {
				return nil
			}
			es, err := tx.Scan(prefix, "", importBatch)
			if err != nil {
				return err
			}
			for _, e := range es {
				if err := tx.Delete(e.Key); err != nil {
					return err
				}
			}
			n = len(es)
			if n < importBatch {
				return tx.Delete(importingKey(im.name))
			}
			return nil
		})
		if err != nil || n < importBatch {
			return err
		}
	}
}

// importing reports, in tx, whether an import holds name (CreateOrUpdateVault refuses
// it then). A marker past its lease does not hold it, but its staging must go first.
func importing(tx storage.Tx, name string, now time.Time) (held, stale bool, err error) {
	var m importMarker
	err = kvjson.Get(tx, importingKey(name), &m)
	if errors.Is(err, storage.ErrNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if now.Sub(m.Heartbeat) < importLease {
		return true, false, nil
	}
	return false, true, nil
}

// checkNotImporting refuses, in tx, a new vault whose name an import holds, and clears
// the staging of a dead import that held it.
func checkNotImporting(tx storage.Tx, name string, now time.Time) error {
	held, stale, err := importing(tx, name, now)
	switch {
	case err != nil:
		return err
	case held:
		return &Error{Kind: ErrVaultNameTaken, ObjectKind: kindVault, Name: name,
			Detail: "The vault name " + name + " is being imported (coffer vault import): choose another name, or wait for the import to end."}
	case stale:
		es, err := tx.Scan(vaultDataPrefix(name), "", 0)
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := tx.Delete(e.Key); err != nil {
				return err
			}
		}
		return tx.Delete(importingKey(name))
	}
	return nil
}

// clearDeadImports removes, at start-up, the staging of imports whose marker has not been
// renewed for importLease: their server died, or lost its connection for that long.
func (s *Service) clearDeadImports(ctx context.Context) error {
	var dead []string
	err := s.st.View(ctx, func(tx storage.Tx) error {
		dead = dead[:0]
		es, err := tx.Scan("importing/", "", 0)
		if err != nil {
			return err
		}
		for _, e := range es {
			var m importMarker
			if json.Unmarshal(e.Value, &m) != nil || s.clk.Now().Sub(m.Heartbeat) >= importLease {
				dead = append(dead, strings.TrimPrefix(e.Key, "importing/"))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, name := range dead {
		s.log.Warn("clearing the staging of an import that did not finish", "vault", name)
		im := &importer{s: s.Internal(), name: name}
		if err := im.clear(ctx, ""); err != nil {
			return err
		}
	}
	return nil
}
