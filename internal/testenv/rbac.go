package testenv

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/coffer/coffer/internal/identity"
)

// RoleAssignments returns armauthorization's role assignments client for subscription,
// signing in as the administrator.
func (s *Stack) RoleAssignments(t testing.TB, subscription string) *armauthorization.RoleAssignmentsClient {
	t.Helper()
	return s.RoleAssignmentsAs(t, subscription, s.Cred)
}

// RoleAssignmentsAs is RoleAssignments signing in with cred.
func (s *Stack) RoleAssignmentsAs(t testing.TB, subscription string, cred azcore.TokenCredential) *armauthorization.RoleAssignmentsClient {
	t.Helper()
	c, err := armauthorization.NewRoleAssignmentsClient(subscription, cred, &arm.ClientOptions{ClientOptions: s.options()})
	return must(t, c, err)
}

// RoleDefinitions returns armauthorization's role definitions client, signing in as the
// administrator.
func (s *Stack) RoleDefinitions(t testing.TB) *armauthorization.RoleDefinitionsClient {
	t.Helper()
	return s.RoleDefinitionsAs(t, s.Cred)
}

// RoleDefinitionsAs is RoleDefinitions signing in with cred.
func (s *Stack) RoleDefinitionsAs(t testing.TB, cred azcore.TokenCredential) *armauthorization.RoleDefinitionsClient {
	t.Helper()
	c, err := armauthorization.NewRoleDefinitionsClient(cred, &arm.ClientOptions{ClientOptions: s.options()})
	return must(t, c, err)
}

// VaultsAs is Vaults signing in as creds.
func (s *Stack) VaultsAs(t testing.TB, subscription string, creds identity.Credentials) *armkeyvault.VaultsClient {
	t.Helper()
	c, err := armkeyvault.NewVaultsClient(subscription, Credential(t, creds, s.HTTP), &arm.ClientOptions{ClientOptions: ClientOptions(creds, s.HTTP)})
	return must(t, c, err)
}
