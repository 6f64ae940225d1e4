package rbac

import (
	"fmt"
	"testing"
)

// BenchmarkViewDecide: a decision costs the same whatever the number of other
// principals' assignments, since the view is indexed by principal.
func BenchmarkViewDecide(b *testing.B) {
	const (
		alice = "11111111-1111-4111-8111-111111111111"
		vault = "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v"
	)
	for _, others := range []int{0, 100, 100000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			v := &View{byPrincipal: map[string][]Assignment{}, custom: map[string]Definition{}}
			for i := range others {
				p := fmt.Sprintf("cccccccc-0000-4000-8000-%012d", i)
				v.byPrincipal[p] = append(v.byPrincipal[p], Assignment{Scope: vault, RoleDefinitionID: KeyVaultSecretsUser, PrincipalID: p})
			}
			v.byPrincipal[alice] = []Assignment{{Scope: "/subscriptions/s", RoleDefinitionID: KeyVaultSecretsUser, PrincipalID: alice}}
			req := Request{Principal: alice, Scope: vault + "/secrets/x", Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Data: true}
			for b.Loop() {
				if !v.Decide(req).Allowed {
					b.Fatal("refused")
				}
			}
		})
	}
}
