package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The role commands, as az role: role assignments and role definitions of Azure
// role-based access control, through armauthorization (Microsoft.Authorization).

func newRoleCommand() *cobra.Command {
	return newGroup("role", cmdHelp{
		short: "Manage role assignments and role definitions (as az role)",
		long: `Manage Azure role-based access control through the management plane
(Microsoft.Authorization): who holds which role at which scope. A role assignment at a
subscription, a resource group, a vault or a single secret, key or certificate
(…/vaults/V/secrets/S) applies there and below. Role assignments decide the data plane of
vaults created with --enable-rbac-authorization true, and the management plane for every
principal but the administrator.`,
	}, newGroup("assignment", cmdHelp{short: "Manage role assignments (as az role assignment)"},
		newRoleAssignmentCreateCommand(), newRoleAssignmentListCommand(), newRoleAssignmentDeleteCommand()),
		newGroup("definition", cmdHelp{short: "List role definitions (as az role definition)"},
			newRoleDefinitionListCommand()))
}

// roleScope is where a role command acts: --scope, or the --subscription with -g.
type roleScope struct {
	Scope, Group, Subscription string
}

func (o *roleScope) AddFlags(fs *pflag.FlagSet, what string) {
	fs.StringVar(&o.Scope, "scope", "", what+": a resource id, e.g. /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/V[/secrets/NAME] (default: the subscription)")
	fs.StringVarP(&o.Group, "resource-group", "g", "", "a resource group of the subscription, instead of --scope")
	fs.StringVar(&o.Subscription, "subscription", defaultSubscription, "subscription id")
}

// resolve returns the scope the flags name.
func (o *roleScope) resolve() (string, error) {
	switch {
	case o.Scope != "" && o.Group != "":
		return "", usageError(fmt.Errorf("resource group %q is redundant because --scope is given", o.Group), "give --scope or -g, not both")
	case o.Scope != "":
		if !strings.HasPrefix(o.Scope, "/") {
			return "", usageError(fmt.Errorf("--scope %q is not a resource id", o.Scope), "a scope starts with /subscriptions/…")
		}
		return strings.TrimSuffix(o.Scope, "/"), nil
	case o.Group != "":
		return "/subscriptions/" + o.Subscription + "/resourceGroups/" + o.Group, nil
	}
	return "/subscriptions/" + o.Subscription, nil
}

// subscriptionOf is the subscription a scope names, or the fallback.
func subscriptionOf(scope, fallback string) string {
	p := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	if len(p) >= 2 && strings.EqualFold(p[0], "subscriptions") {
		return p[1]
	}
	return fallback
}

var (
	guidForm    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	roleIDForm  = regexp.MustCompile(`(?i)/providers/Microsoft\.Authorization/roleDefinitions/[0-9a-f-]{36}$`)
	errNoSuchSP = errors.New("no such service principal")
)

// roleID resolves --role (a role's name, its GUID or its whole id) to the role
// definition id, as az does: a name is looked up at the scope.
func (c *client) roleID(ctx context.Context, role, scope, subscription string) (string, error) {
	switch {
	case roleIDForm.MatchString(role):
		return role, nil
	case guidForm.MatchString(role):
		return "/subscriptions/" + subscriptionOf(scope, subscription) + "/providers/Microsoft.Authorization/roleDefinitions/" + strings.ToLower(role), nil
	}
	rd, err := armauthorization.NewRoleDefinitionsClient(c.cred, c.armOptions())
	if err != nil {
		return "", err
	}
	pager := rd.NewListPager(scope, &armauthorization.RoleDefinitionsClientListOptions{Filter: ptr("roleName eq '" + strings.ReplaceAll(role, "'", "''") + "'")})
	var ids []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, d := range page.Value {
			if d != nil && d.ID != nil {
				ids = append(ids, *d.ID)
			}
		}
	}
	switch len(ids) {
	case 0:
		return "", notFoundError(fmt.Errorf("role %q does not exist", role), "coffer role definition list -o table shows the roles")
	case 1:
		return ids[0], nil
	}
	return "", usageError(fmt.Errorf("more than one role is named %q: %s", role, strings.Join(ids, ", ")), "give the role's id with --role")
}

// assigneeID resolves --assignee (an object id, a client id, or a principal's name) to
// an object id, as az does: a client id through the server's stand-in for Microsoft
// Graph (the administrator finds anyone, a principal itself), a name through the
// principal list (the administrator's); a GUID that is neither is taken as an object id.
func (c *client) assigneeID(ctx context.Context, assignee string) (string, error) {
	if guidForm.MatchString(assignee) {
		oid, err := c.servicePrincipal(ctx, "appId eq '"+assignee+"'")
		if err == nil {
			return oid, nil
		}
		if !errors.Is(err, errNoSuchSP) {
			return "", err
		}
		return strings.ToLower(assignee), nil
	}
	ps, err := adminList[principalJSON](ctx, c, "/admin/principals")
	if err != nil {
		return "", fmt.Errorf("find the principal named %q (only the administrator may list principals; give its object id instead): %w", assignee, err)
	}
	var found []string
	for _, p := range ps {
		if p.Name == assignee {
			found = append(found, p.ObjectID)
		}
	}
	switch len(found) {
	case 0:
		return "", notFoundError(fmt.Errorf("no principal is named %q", assignee), "coffer principal list shows the principals; --assignee takes an object id, a client id or a name")
	case 1:
		return found[0], nil
	}
	return "", usageError(fmt.Errorf("%d principals are named %q", len(found), assignee), "give the object id with --assignee")
}

// servicePrincipal asks the server's stand-in for Microsoft Graph for the service
// principal filter selects, as az does, and returns its object id.
func (c *client) servicePrincipal(ctx context.Context, filter string) (string, error) {
	opts := c.clientOptions()
	pl := runtime.NewPipeline(moduleName, moduleVersion, runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(c.cred, []string{c.server.String() + "//.default"}, nil)},
	}, &opts)
	req, err := runtime.NewRequest(ctx, http.MethodGet, c.server.String()+"/v1.0/servicePrincipals?$filter="+url.QueryEscape(filter))
	if err != nil {
		return "", err
	}
	resp, err := pl.Do(req)
	if err != nil {
		return "", err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return "", runtime.NewResponseError(resp)
	}
	var out struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := runtime.UnmarshalAsJSON(resp, &out); err != nil {
		return "", err
	}
	if len(out.Value) == 0 || out.Value[0].ID == "" {
		return "", errNoSuchSP
	}
	return out.Value[0].ID, nil
}

// roleJSON is a role assignment or definition as az prints it: the properties beside
// id, name and type (a definition's own type as roleType), dates in az's form.
func roleJSON(v any) (map[string]any, error) {
	m, err := armJSON(v)
	if err != nil {
		return nil, err
	}
	props, _ := m["properties"].(map[string]any)
	delete(m, "properties")
	for k, x := range props {
		if k == "type" {
			k = "roleType"
		}
		m[k] = x
	}
	for _, k := range []string{"createdOn", "updatedOn"} {
		if s, ok := m[k].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				m[k] = azDate(&t)
			}
		}
	}
	return m, nil
}

var (
	assignmentColumns = columns{{"Principal", "principalId"}, {"Role", "roleDefinitionName"}, {"Scope", "scope"}}
	definitionColumns = columns{{"Name", "roleName"}, {"Type", "roleType"}, {"Description", "description"}}
)
