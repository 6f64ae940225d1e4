package rbac

import (
	"errors"
	"regexp"
	"strings"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// This file carries a vault's role assignments through a whole-vault export and import
// (coffer vault export / import): read those in force at the vault or inside it, and put
// them back under another vault name.

// VaultAssignments returns, in tx, the assignments in force at vault or inside it.
func VaultAssignments(tx storage.Tx, vault string) ([]Assignment, error) {
	as, err := assignments(tx)
	if err != nil {
		return nil, err
	}
	var out []Assignment
	for _, a := range as {
		if vaultOf(a.Scope) == strings.ToLower(vault) {
			out = append(out, a)
		}
	}
	return out, nil
}

// vaultSegment is the vault name in an assignment scope.
var vaultSegment = regexp.MustCompile(`(?i)(/providers/Microsoft\.KeyVault/vaults/)([^/]+)`)

// PutImported puts a, exported from another vault, in force in tx at the vault called
// vault (its scope's vault name replaced): a is kept as it was — name, role, principal,
// dates — unless its name is taken, when it gets newName. A role it names must exist
// here (a custom role of another deployment may not): ok is false when it does not,
// and nothing is written.
func PutImported(tx storage.Tx, a Assignment, vault string, newName func() string) (ok bool, err error) {
	a.Scope = vaultSegment.ReplaceAllString(a.Scope, "${1}"+vault)
	if vaultOf(a.Scope) != strings.ToLower(vault) {
		return false, nil
	}
	if !roleExists(tx, a.RoleDefinitionID) {
		return false, nil
	}
	if err := kvjson.Get(tx, assignmentKey(a.Name), &Assignment{}); err == nil {
		a.Name = newName()
	} else if !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	if err := kvjson.Put(tx, assignmentKey(a.Name), a); err != nil {
		return false, err
	}
	return true, bump(tx)
}

// roleExists reports whether id is a built-in role or a custom one stored in tx.
func roleExists(tx storage.Tx, id string) bool {
	for _, d := range BuiltIns() {
		if strings.EqualFold(d.ID, id) {
			return true
		}
	}
	return kvjson.Get(tx, definitionKey(id), &Definition{}) == nil
}
