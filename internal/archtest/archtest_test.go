// Package archtest holds the test that keeps Coffer's dependencies pointing one way
// (docs/design.md): lower layers never import higher ones.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/coffer/coffer/internal/"

// forbidden lists, per package, what it must not depend on (directly or not), and why.
var forbidden = map[string][]struct{ dep, why string }{
	"storage": {
		{mod + "barrier", "storage knows no encryption"},
		{mod + "vault", "storage knows no domain"},
	},
	"clock": {{mod, "clock is a leaf"}},
	"vaultfile": {
		{mod, "vaultfile, the whole-vault export format, is a leaf: the server and the CLI both use it"},
		{"net/http", "vaultfile is a format, not a transport"},
	},
	"audit":    {{mod, "audit is a leaf"}},
	"wiretext": {{mod, "wiretext is a leaf: every plane uses it"}},
	"pki":      {{mod + "storage", "pki is pure certificate logic"}, {mod + "vault", "pki knows no vaults"}},
	"barrier": {
		{mod + "vault", "barrier knows no vaults"},
		{mod + "identity", "barrier knows no principals"},
		{mod + "azapi", "barrier is below the planes"},
	},
	"vault": {
		{"net/http", "the domain stays HTTP-free"},
		{mod + "azapi", "the domain knows no wire JSON"},
		{mod + "barrier", "vault never learns its storage is the barrier"},
		{mod + "storage/bbolt", "vault is storage-agnostic"},
		{mod + "identity", "vault knows no tokens"},
		{mod + "server", "lower never imports higher"},
		{mod + "audit", "who acts reaches the domain as a vault.Actor, not through the audit package"},
	},
	"identity": {
		{mod + "vault", "planes never import each other's domain"},
		{mod + "azapi", "planes never import each other"},
		{mod + "server", "lower never imports higher"},
	},
	"arm": {
		{mod + "identity", "planes never import each other: the server authenticates"},
		{mod + "azapi", "planes never import each other"},
		{mod + "server", "lower never imports higher"},
		{mod + "barrier", "arm is above the domain"},
		{mod + "storage/bbolt", "arm is above the domain"},
	},
	"certs": {
		{mod + "storage", "certs is pure certificate logic"},
		{mod + "vault", "certs knows no vaults"},
		{"net/http", "certs is pure certificate logic"},
	},
	"ledger": {
		{mod + "vault", "the ledger is a leaf over storage: vault calls it"},
		{mod + "barrier", "the ledger knows no encryption"},
		{"net/http", "the ledger is storage-level"},
	},
	"rbac": {
		{mod + "vault", "rbac is a leaf over storage: vault calls it"},
		{mod + "barrier", "rbac knows no encryption"},
		{mod + "identity", "rbac knows no tokens: a principal is an object id"},
		{mod + "plane", "rbac is below the planes"},
		{mod + "audit", "rbac is a leaf over storage"},
		{mod + "authz", "access policies and roles are decided apart"},
		{mod + "clock", "rbac is handed its clock as a function"},
		{"net/http", "rbac is storage-level: the planes answer"},
	},
	"webhook": {
		{mod + "vault", "the webhook outbox is a leaf over storage: vault calls it"},
		{mod + "barrier", "the webhook outbox knows no encryption"},
		{"net/http", "the outbox is storage-level: the server delivers"},
	},
	"keyops": {
		{mod + "storage", "keyops is pure key cryptography"},
		{"net/http", "keyops is pure key cryptography"},
	},
	"plane": {
		{mod + "identity", "the server hands each plane its token check"},
		{mod + "vault", "the adapter knows no vaults"},
		{mod + "azapi", "the adapter is below the planes"},
		{mod + "arm", "the adapter is below the planes"},
		{mod + "admin", "the adapter is below the planes"},
		{mod + "server", "lower never imports higher"},
	},
	"admin": {
		{mod + "azapi", "planes never import each other"},
		{mod + "console", "planes never import each other: the server hands admin the console's link maker"},
		{mod + "arm", "planes never import each other"},
		{mod + "server", "lower never imports higher"},
		{mod + "barrier", "admin is above the domain"},
		{mod + "storage/bbolt", "admin is above the domain"},
	},
	"console": {
		{mod + "azapi", "planes never import each other: the console decides as the data plane does, through authz and rbac"},
		{mod + "arm", "planes never import each other"},
		{mod + "admin", "planes never import each other"},
		{mod + "server", "lower never imports higher"},
		{mod + "barrier", "the console is above the domain"},
		{mod + "storage/bbolt", "the console is above the domain"},
	},
	"delivery": {
		{mod + "vault", "the worker reads the outbox, not the domain"},
		{mod + "server", "lower never imports higher"},
	},
	"azapi": {
		{mod + "identity", "planes never import each other: the server authenticates"},
		{mod + "server", "lower never imports higher"},
		{mod + "barrier", "azapi is above the domain"},
		{mod + "storage/bbolt", "azapi is above the domain"},
	},
	"storage/snapfile": {
		{mod, "the snapshot file format is a leaf: bytes only, no backend, no server"},
	},
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/coffer/coffer/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, ok := strings.CutPrefix(fields[0], mod)
		if !ok {
			continue
		}
		rules := forbidden[pkg]
		if rules != nil {
			seen++
		}
		for _, dep := range fields[1:] {
			for _, r := range rules {
				if dep == r.dep || (strings.HasSuffix(r.dep, "/") && strings.HasPrefix(dep, r.dep)) {
					t.Errorf("%s imports %s: %s", pkg, dep, r.why)
				}
			}
		}
	}
	if seen != len(forbidden) {
		t.Fatalf("checked %d of %d packages: a package moved? update the rules", seen, len(forbidden))
	}
}
