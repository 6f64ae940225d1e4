package rbac

import (
	"errors"
	"strconv"
	"strings"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// Layout in storage:
//
//	rbac/assignment/<name>          a role assignment in force
//	rbac/held/<vault>/<name>        an assignment at a deleted vault or in it, kept with the vault
//	rbac/definition/<id>            a custom role definition
//	rbac/generation                 a counter every change moves (servers follow it, service.go)
//	rbac/bootstrap                  present once the administrator's Owner assignment was made
//
// Names, ids and vault names are lower case in keys.
const (
	assignmentPrefix = "rbac/assignment/"
	heldPrefix       = "rbac/held/"
	definitionPrefix = "rbac/definition/"
	generationKey    = "rbac/generation"
	bootstrapKey     = "rbac/bootstrap"
)

func assignmentKey(name string) string { return assignmentPrefix + strings.ToLower(name) }

func heldKey(vault, name string) string {
	return heldPrefix + strings.ToLower(vault) + "/" + strings.ToLower(name)
}

func definitionKey(id string) string { return definitionPrefix + strings.ToLower(id) }

// generation reads the change counter (0 before the first change).
func generation(tx storage.Tx) (uint64, error) {
	b, err := tx.Get(generationKey)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(string(b), 10, 64)
}

// bump moves the change counter, so that every server's view is rebuilt.
func bump(tx storage.Tx) error {
	g, err := generation(tx)
	if err != nil {
		return err
	}
	return tx.Put(generationKey, []byte(strconv.FormatUint(g+1, 10)))
}

// assignments reads every assignment in force.
func assignments(tx storage.Tx) ([]Assignment, error) {
	es, err := tx.Scan(assignmentPrefix, "", 0)
	if err != nil {
		return nil, err
	}
	return kvjson.DecodeAll[Assignment](es)
}

// customDefinitions reads every custom role definition.
func customDefinitions(tx storage.Tx) ([]Definition, error) {
	es, err := tx.Scan(definitionPrefix, "", 0)
	if err != nil {
		return nil, err
	}
	return kvjson.DecodeAll[Definition](es)
}

// HoldVault sets aside the assignments at vault or in it, in tx: the vault was deleted,
// and they come back with it ([ReleaseVault]) or go with its purge ([PurgeVault]).
// Vault names are unique across a deployment, so the name says which assignments.
func HoldVault(tx storage.Tx, vault string) error {
	as, err := assignments(tx)
	if err != nil {
		return err
	}
	moved := false
	for _, a := range as {
		if vaultOf(a.Scope) != strings.ToLower(vault) {
			continue
		}
		if err := kvjson.Put(tx, heldKey(vault, a.Name), a); err != nil {
			return err
		}
		if err := tx.Delete(assignmentKey(a.Name)); err != nil {
			return err
		}
		moved = true
	}
	if !moved {
		return nil
	}
	return bump(tx)
}

// ReleaseVault puts the assignments [HoldVault] set aside back in force, in tx: the vault
// was recovered.
func ReleaseVault(tx storage.Tx, vault string) error {
	es, err := tx.Scan(heldPrefix+strings.ToLower(vault)+"/", "", 0)
	if err != nil || len(es) == 0 {
		return err
	}
	held, err := kvjson.DecodeAll[Assignment](es)
	if err != nil {
		return err
	}
	for i, a := range held {
		if err := kvjson.Put(tx, assignmentKey(a.Name), a); err != nil {
			return err
		}
		if err := tx.Delete(es[i].Key); err != nil {
			return err
		}
	}
	return bump(tx)
}

// PurgeVault removes, in tx, every assignment at vault or in it, held or (made while
// the vault was being deleted) in force: the vault is gone for good, and a new vault of
// the same name starts with none.
func PurgeVault(tx storage.Tx, vault string) error {
	es, err := tx.Scan(heldPrefix+strings.ToLower(vault)+"/", "", 0)
	if err != nil {
		return err
	}
	changed := len(es) > 0
	for _, e := range es {
		if err := tx.Delete(e.Key); err != nil {
			return err
		}
	}
	as, err := assignments(tx)
	if err != nil {
		return err
	}
	for _, a := range as {
		if vaultOf(a.Scope) == strings.ToLower(vault) {
			if err := tx.Delete(assignmentKey(a.Name)); err != nil {
				return err
			}
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return bump(tx)
}

// heldAssignments reads every held assignment (a role definition still in use by one
// cannot be deleted).
func heldAssignments(tx storage.Tx) ([]Assignment, error) {
	es, err := tx.Scan(heldPrefix, "", 0)
	if err != nil {
		return nil, err
	}
	return kvjson.DecodeAll[Assignment](es)
}
