package rbac

// The built-in role definitions Coffer serves, with Azure's own ids and permission sets.
// Each carries the public page it was taken from; the strings are Azure's, character for
// character, because templates and scripts name them (a role by its id, a custom role's
// actions by these names).

// Built-in role ids.
const (
	Owner                           = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	Contributor                     = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	Reader                          = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	UserAccessAdministrator         = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	KeyVaultAdministrator           = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
	KeyVaultReader                  = "21090545-7ca7-4776-b22c-e363652d74d2"
	KeyVaultContributor             = "f25e0fa2-a7c8-4377-a976-54943a77a395"
	KeyVaultDataAccessAdministrator = "8b54135c-b56d-4d72-a534-26097cfdc8d8"
	KeyVaultSecretsOfficer          = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	KeyVaultSecretsUser             = "4633458b-17de-408a-b874-0445c86b69e6"
	KeyVaultCryptoOfficer           = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
	KeyVaultCryptoUser              = "12338af0-0e69-4776-bea7-57ae8d297424"
	KeyVaultCryptoServiceEncryption = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
	KeyVaultCertificatesOfficer     = "a4417e6f-fecd-4de8-b567-7b0420556985"
	KeyVaultCertificateUser         = "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"
	KeyVaultPurgeOperator           = "a68e7c17-0ab2-4c09-9a58-125dae29748c"
)

// kvManagementReads are the management-plane actions every Key Vault data role carries
// (the same ten in each of them).
var kvManagementReads = []string{
	"Microsoft.Authorization/*/read",
	"Microsoft.Insights/alertRules/*",
	"Microsoft.Resources/deployments/*",
	"Microsoft.Resources/subscriptions/resourceGroups/read",
	"Microsoft.Support/*",
	"Microsoft.KeyVault/checkNameAvailability/read",
	"Microsoft.KeyVault/deletedVaults/read",
	"Microsoft.KeyVault/locations/*/read",
	"Microsoft.KeyVault/vaults/*/read",
	"Microsoft.KeyVault/operations/read",
}

// dataAccessAdminCondition is the condition Azure attaches to Key Vault Data Access
// Administrator: it may create and delete assignments of the eight Key Vault data roles
// only.
const dataAccessAdminCondition = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR " +
	"(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{" + dataRoleIDs + "})) AND " +
	"((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR " +
	"(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals{" + dataRoleIDs + "}))"

const dataRoleIDs = KeyVaultAdministrator + ", " + KeyVaultCertificatesOfficer + ", " + KeyVaultCryptoOfficer + ", " +
	KeyVaultCryptoServiceEncryption + ", " + KeyVaultCryptoUser + ", " + KeyVaultReader + ", " + KeyVaultSecretsOfficer + ", " +
	KeyVaultSecretsUser

func builtin(id, name, description string, p Permission) Definition {
	return Definition{ID: id, RoleName: name, Description: description, RoleType: BuiltInRole,
		Permissions: []Permission{p}, AssignableScopes: []string{"/"}}
}

// builtins are the built-in roles, in the order they are listed.
var builtins = []Definition{
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/privileged#owner
	builtin(Owner, "Owner", "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Permission{Actions: []string{"*"}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/privileged#contributor
	builtin(Contributor, "Contributor", "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		Permission{Actions: []string{"*"}, NotActions: []string{
			"Microsoft.Authorization/*/Delete",
			"Microsoft.Authorization/*/Write",
			"Microsoft.Authorization/elevateAccess/Action",
			"Microsoft.Blueprint/blueprintAssignments/write",
			"Microsoft.Blueprint/blueprintAssignments/delete",
			"Microsoft.Compute/galleries/share/action",
			"Microsoft.Purview/consents/write",
			"Microsoft.Purview/consents/delete",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
			"Microsoft.Subscription/cancel/action",
			"Microsoft.Subscription/enable/action",
		}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/general#reader
	builtin(Reader, "Reader", "View all resources, but does not allow you to make any changes.",
		Permission{Actions: []string{"*/read"}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/privileged#user-access-administrator
	builtin(UserAccessAdministrator, "User Access Administrator", "Lets you manage user access to Azure resources.",
		Permission{Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-administrator
	builtin(KeyVaultAdministrator, "Key Vault Administrator", "Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permission{Actions: kvManagementReads, DataActions: []string{"Microsoft.KeyVault/vaults/*"}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-certificate-user
	builtin(KeyVaultCertificateUser, "Key Vault Certificate User", "Read certificate contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permission{DataActions: []string{
			"Microsoft.KeyVault/vaults/certificates/read",
			"Microsoft.KeyVault/vaults/secrets/getSecret/action",
			"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
			"Microsoft.KeyVault/vaults/keys/read",
		}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-certificates-officer
	builtin(KeyVaultCertificatesOfficer, "Key Vault Certificates Officer", "Perform any action on the certificates of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permission{Actions: kvManagementReads, DataActions: []string{
			"Microsoft.KeyVault/vaults/certificatecas/*",
			"Microsoft.KeyVault/vaults/certificates/*",
			"Microsoft.KeyVault/vaults/certificatecontacts/write",
		}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-contributor
	builtin(KeyVaultContributor, "Key Vault Contributor", "Lets you manage key vaults, but not access to them.",
		Permission{Actions: []string{
			"Microsoft.Authorization/*/read",
			"Microsoft.Insights/alertRules/*",
			"Microsoft.KeyVault/*",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Support/*",
		}, NotActions: []string{
			"Microsoft.KeyVault/locations/deletedVaults/purge/action",
			"Microsoft.KeyVault/hsmPools/*",
			"Microsoft.KeyVault/managedHsms/*",
		}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-crypto-officer
	builtin(KeyVaultCryptoOfficer, "Key Vault Crypto Officer", "Perform any action on the keys of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permission{Actions: kvManagementReads, DataActions: []string{
			"Microsoft.KeyVault/vaults/keys/*",
			"Microsoft.KeyVault/vaults/keyrotationpolicies/*",
		}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-crypto-service-encryption-user
	builtin(KeyVaultCryptoServiceEncryption, "Key Vault Crypto Service Encryption User", "Read metadata of keys and perform wrap/unwrap operations. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permission{Actions: []string{
			"Microsoft.EventGrid/eventSubscriptions/write",
			"Microsoft.EventGrid/eventSubscriptions/read",
			"Microsoft.EventGrid/eventSubscriptions/delete",
		}, DataActions: []string{
			"Microsoft.KeyVault/vaults/keys/read",
			"Microsoft.KeyVault/vaults/keys/wrap/action",
			"Microsoft.KeyVault/vaults/keys/unwrap/action",
		}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-crypto-user
	builtin(KeyVaultCryptoUser, "Key Vault Crypto User", "Perform cryptographic operations using keys. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permission{DataActions: []string{
			"Microsoft.KeyVault/vaults/keys/read",
			"Microsoft.KeyVault/vaults/keys/update/action",
			"Microsoft.KeyVault/vaults/keys/backup/action",
			"Microsoft.KeyVault/vaults/keys/encrypt/action",
			"Microsoft.KeyVault/vaults/keys/decrypt/action",
			"Microsoft.KeyVault/vaults/keys/wrap/action",
			"Microsoft.KeyVault/vaults/keys/unwrap/action",
			"Microsoft.KeyVault/vaults/keys/sign/action",
			"Microsoft.KeyVault/vaults/keys/verify/action",
		}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-data-access-administrator
	builtin(KeyVaultDataAccessAdministrator, "Key Vault Data Access Administrator", "Manage access to Azure Key Vault by adding or removing role assignments for the Key Vault Administrator, Key Vault Certificates Officer, Key Vault Crypto Officer, Key Vault Crypto Service Encryption User, Key Vault Crypto User, Key Vault Reader, Key Vault Secrets Officer, or Key Vault Secrets User roles. Includes an ABAC condition to constrain role assignments.",
		Permission{Actions: []string{
			"Microsoft.Authorization/roleAssignments/write",
			"Microsoft.Authorization/roleAssignments/delete",
			"Microsoft.Authorization/*/read",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Resources/subscriptions/read",
			"Microsoft.Management/managementGroups/read",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Support/*",
			"Microsoft.KeyVault/vaults/*/read",
		}, Condition: dataAccessAdminCondition, ConditionVersion: "2.0"}),
	// https://azure-rbac-catalog.org/roles/a68e7c17-0ab2-4c09-9a58-125dae29748c/key-vault-purge-operator
	builtin(KeyVaultPurgeOperator, "Key Vault Purge Operator", "Allows permanent deletion of soft-deleted vaults.",
		Permission{Actions: []string{
			"Microsoft.Authorization/*/read",
			"Microsoft.Insights/alertRules/*",
			"Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.KeyVault/deletedVaults/read",
			"Microsoft.KeyVault/locations/deletedVaults/read",
			"Microsoft.KeyVault/locations/deletedVaults/purge/action",
			"Microsoft.KeyVault/locations/operationResults/read",
		}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-reader
	builtin(KeyVaultReader, "Key Vault Reader", "Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as secret contents or key material. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permission{Actions: kvManagementReads, DataActions: []string{
			"Microsoft.KeyVault/vaults/*/read",
			"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
		}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-secrets-officer
	builtin(KeyVaultSecretsOfficer, "Key Vault Secrets Officer", "Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permission{Actions: kvManagementReads, DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}}),
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-secrets-user
	builtin(KeyVaultSecretsUser, "Key Vault Secrets User", "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		Permission{DataActions: []string{
			"Microsoft.KeyVault/vaults/secrets/getSecret/action",
			"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
		}}),
}

// BuiltIns returns the built-in role definitions (copies: callers may not change Coffer's).
func BuiltIns() []Definition {
	out := make([]Definition, len(builtins))
	for i, d := range builtins {
		out[i] = d.clone()
	}
	return out
}

var builtinByID = func() map[string]*Definition {
	m := make(map[string]*Definition, len(builtins))
	for i := range builtins {
		m[builtins[i].ID] = &builtins[i]
	}
	return m
}()
