package vault

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vaultfile"
)

// This file writes a whole-vault export (coffer vault export): the vault's record, its
// role assignments and every record stored under it — objects live and deleted with
// their dates, every version, policies, issuers, contacts, issuance operations — as a
// vaultfile stream, read in one storage snapshot a page at a time, so the export is one
// consistent point in time and never held whole in memory. The records go out as the
// vault domain stores them (after the barrier has opened them): import.go writes them back
// as they were, which is what keeps ids, versions and dates exactly.

// exportPage is how many records one storage read takes.
const exportPage = 1000

// vaultDataPrefix is where everything stored under a vault lives.
func vaultDataPrefix(v string) string { return "v/" + lower(v) + "/" }

// Export writes the live vault name as a vaultfile stream to w (it buffers and flushes;
// server names the deployment in the header). The export is recorded in the deletion
// ledger before its first byte is written: a copy of the keys is about to leave.
func (s Request) Export(ctx context.Context, name, server string, w io.Writer) (vaultfile.Trailer, error) {
	var vlt Vault
	err := s.inVault(ctx, true, name, func(tx storage.Tx, v Vault, now time.Time) error {
		vlt = v
		e := s.actor.entry()
		e.Time, e.Action, e.Kind, e.Vault, e.Name = now, ledger.ActionExport, string(kindVault), v.Name, v.Name
		return appendEntry(tx, e)
	})
	if err != nil {
		return vaultfile.Trailer{}, err
	}
	var trailer vaultfile.Trailer
	err = s.st.View(ctx, func(tx storage.Tx) error {
		v, err := s.vault(tx, vlt.Name)
		if err != nil {
			return err
		}
		fw, err := vaultfile.NewWriter(w, vaultfile.Header{Vault: v.Name, ExportedAt: s.Now(), ExportedBy: s.actor.Principal, Server: server})
		if err != nil {
			return err
		}
		if err := fw.Write(vaultfile.Record{Type: vaultfile.TypeVault, Data: mustJSON(v)}, "vault"); err != nil {
			return err
		}
		roles, err := rbac.VaultAssignments(tx, v.Name)
		if err != nil {
			return err
		}
		for _, a := range roles {
			if err := fw.Write(vaultfile.Record{Type: vaultfile.TypeRole, Data: mustJSON(a)}, "roleAssignments"); err != nil {
				return err
			}
		}
		prefix := vaultDataPrefix(v.Name)
		after := ""
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			es, err := tx.Scan(prefix, after, exportPage)
			if err != nil {
				return err
			}
			for _, e := range es {
				rel := strings.TrimPrefix(e.Key, prefix)
				if err := fw.Write(vaultfile.Record{Type: vaultfile.TypeObject, Key: rel, Data: json.RawMessage(e.Value)}, countOf(rel, e.Value)); err != nil {
					return err
				}
			}
			if len(es) < exportPage {
				break
			}
			after = es[len(es)-1].Key
			if err := fw.Flush(); err != nil {
				return err
			}
		}
		if err := fw.Close(); err != nil {
			return err
		}
		trailer = fw.Trailer()
		return nil
	})
	return trailer, err
}

// countOf names what the trailer counts a record as: secrets, deletedKeys,
// secretVersions, … ("" for the vault's other records, counted only in the total).
func countOf(rel string, value []byte) string {
	p, ok := parseRel(rel)
	if !ok || p.kind == "" {
		return ""
	}
	switch {
	case p.what == "live":
		var o Object
		if json.Unmarshal(value, &o) == nil && o.Managed {
			return ""
		}
		return string(p.kind) + "s"
	case p.what == "deleted":
		var o Object
		if json.Unmarshal(value, &o) == nil && o.Managed {
			return ""
		}
		return "deleted" + strings.ToUpper(string(p.kind[:1])) + string(p.kind[1:]) + "s"
	case p.what == "ver":
		return string(p.kind) + "Versions"
	}
	return ""
}

// relPath is a record's path below its vault, parsed.
type relPath struct {
	kind    Kind   // secret, key or certificate
	what    string // live, deleted, ver, issuer, contacts, op
	name    string // the object's (or issuer's) name
	version string // for ver
}

// parseRel parses the path of a record below a vault; ok is false for a path no vault
// stores.
func parseRel(rel string) (p relPath, ok bool) {
	parts := strings.Split(rel, "/")
	if len(parts) < 2 {
		return p, false
	}
	p.kind, p.what = Kind(parts[0]), parts[1]
	if p.kind != KindSecret && p.kind != KindKey && p.kind != KindCertificate {
		return p, false
	}
	switch {
	case (p.what == "live" || p.what == "deleted") && len(parts) == 3:
		p.name = parts[2]
		return p, ValidName(p.name)
	case p.what == "ver" && len(parts) == 4:
		p.name, p.version = parts[2], parts[3]
		return p, ValidName(p.name) && ValidVersion(p.version)
	case p.kind == KindCertificate && p.what == "contacts" && len(parts) == 2:
		return p, true
	case p.kind == KindCertificate && (p.what == "issuer" || p.what == "op") && len(parts) == 3:
		p.name = parts[2]
		return p, p.name != "" && !strings.ContainsAny(p.name, "/")
	}
	return p, false
}
