package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newRoleAssignmentCreateCommand() *cobra.Command {
	opts, sc := &clientOptions{}, &roleScope{}
	var assignee, role, name, description string
	return newClientCommand(cmdSpec{
		use: "create", opts: opts,
		help: cmdHelp{
			short: "Assign a role to a principal at a scope (as az role assignment create)",
			long: `Create a role assignment through armauthorization, as az role assignment create does.
--assignee is the principal's object id, its client id, or (for the administrator) its name;
--role a role's name, its id or its GUID; --scope where the role holds (it holds below too).
The assignment's name is a new GUID unless --name gives one. Creating the same assignment
again prints it again.`,
			example: `  coffer role assignment create --assignee OBJECT-ID --role "Key Vault Secrets User" \
    --scope /subscriptions/c0ffe000-0000-4000-8000-000000000000/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/myvault
  coffer role assignment create --assignee ci --role "Key Vault Contributor" -g team`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&assignee, "assignee", "", "the principal: object id, client id or name (required)")
			fs.StringVar(&role, "role", "", "the role: its name, id or GUID (required)")
			sc.AddFlags(fs, "where the role holds")
			fs.StringVar(&name, "name", "", "the assignment's name, a GUID (default: a new one)")
			fs.StringVar(&description, "description", "", "a description of the assignment")
		},
		require: func([]string) error {
			if assignee == "" || role == "" {
				return usageError(errors.New("--assignee and --role are required"), `coffer role assignment create --assignee OBJECT-ID --role "Key Vault Secrets User" --scope SCOPE`)
			}
			if name != "" && !guidForm.MatchString(name) {
				return usageError(fmt.Errorf("--name %q is not a GUID", name), "leave --name out for a new GUID")
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			ctx := cmd.Context()
			scope, err := sc.resolve()
			if err != nil {
				return err
			}
			roleID, err := c.roleID(ctx, role, scope, sc.Subscription)
			if err != nil {
				return err
			}
			oid, err := c.assigneeID(ctx, assignee)
			if err != nil {
				return err
			}
			if name == "" {
				name = uuid.NewString()
			}
			ra, err := armauthorization.NewRoleAssignmentsClient(subscriptionOf(scope, sc.Subscription), c.cred, c.armOptions())
			if err != nil {
				return err
			}
			props := &armauthorization.RoleAssignmentProperties{RoleDefinitionID: &roleID, PrincipalID: &oid,
				PrincipalType: ptr(armauthorization.PrincipalTypeServicePrincipal)}
			if description != "" {
				props.Description = &description
			}
			got, err := ra.Create(ctx, scope, name, armauthorization.RoleAssignmentCreateParameters{Properties: props}, nil)
			if err != nil {
				return err
			}
			m, err := roleJSON(got.RoleAssignment)
			if err != nil {
				return err
			}
			return printObject(cmd, opts.Output, m, assignmentColumns)
		},
	})
}

// roleFilter is what list and delete select assignments by.
type roleFilter struct {
	roleScope
	Assignee, Role   string
	IncludeInherited bool
	All              bool
}

func (o *roleFilter) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Assignee, "assignee", "", "only the assignments of this principal: object id, client id or name")
	fs.StringVar(&o.Role, "role", "", "only the assignments of this role: its name, id or GUID")
	o.roleScope.AddFlags(fs, "the assignments at this scope")
	fs.BoolVar(&o.IncludeInherited, "include-inherited", false, "also the assignments above the scope, which hold at it")
	fs.BoolVar(&o.All, "all", false, "the assignments at every scope of the subscription, and below")
}

// find lists the assignments the filter selects, as az's search does: at the scope
// (and, with --include-inherited, above it), or with --all everywhere in the
// subscription; narrowed to --assignee and --role. Each comes with its role's name.
func (o *roleFilter) find(ctx context.Context, c *client) ([]map[string]any, error) {
	if o.All && (o.Scope != "" || o.Group != "") {
		return nil, usageError(errors.New("--all lists every scope: it takes no --scope or -g"))
	}
	scope, err := o.resolve()
	if err != nil {
		return nil, err
	}
	sub := subscriptionOf(scope, o.Subscription)
	ra, err := armauthorization.NewRoleAssignmentsClient(sub, c.cred, c.armOptions())
	if err != nil {
		return nil, err
	}
	principal := ""
	if o.Assignee != "" {
		if principal, err = c.assigneeID(ctx, o.Assignee); err != nil {
			return nil, err
		}
	}
	roleID := ""
	if o.Role != "" {
		if roleID, err = c.roleID(ctx, o.Role, scope, o.Subscription); err != nil {
			return nil, err
		}
	}
	var found []*armauthorization.RoleAssignment
	if o.All {
		var opts *armauthorization.RoleAssignmentsClientListForSubscriptionOptions
		if principal != "" {
			opts = &armauthorization.RoleAssignmentsClientListForSubscriptionOptions{Filter: ptr("principalId eq '" + principal + "'")}
		}
		pager := ra.NewListForSubscriptionPager(opts)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			found = append(found, page.Value...)
		}
	} else {
		pager := ra.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: ptr("atScope()")})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, a := range page.Value {
				if a != nil && a.Properties != nil && a.Properties.Scope != nil && (o.IncludeInherited || strings.EqualFold(*a.Properties.Scope, scope)) {
					found = append(found, a)
				}
			}
		}
	}
	names, err := roleNames(ctx, c, scope)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, a := range found {
		if a == nil || a.Properties == nil {
			continue
		}
		p := a.Properties
		if principal != "" && (p.PrincipalID == nil || !strings.EqualFold(*p.PrincipalID, principal)) {
			continue
		}
		if roleID != "" && (p.RoleDefinitionID == nil || !strings.EqualFold(*p.RoleDefinitionID, roleID)) {
			continue
		}
		m, err := roleJSON(a)
		if err != nil {
			return nil, err
		}
		m["roleDefinitionName"] = nil
		if p.RoleDefinitionID != nil {
			if n, ok := names[strings.ToLower(*p.RoleDefinitionID)]; ok {
				m["roleDefinitionName"] = n
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// roleNames maps the role definition ids seen at scope to their names.
func roleNames(ctx context.Context, c *client, scope string) (map[string]string, error) {
	rd, err := armauthorization.NewRoleDefinitionsClient(c.cred, c.armOptions())
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	pager := rd.NewListPager(scope, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range page.Value {
			if d != nil && d.ID != nil && d.Properties != nil && d.Properties.RoleName != nil {
				out[strings.ToLower(*d.ID)] = *d.Properties.RoleName
			}
		}
	}
	return out, nil
}

func newRoleAssignmentListCommand() *cobra.Command {
	opts, f := &clientOptions{}, &roleFilter{}
	return newClientCommand(cmdSpec{
		use: "list", opts: opts,
		help: cmdHelp{
			short: "List role assignments (as az role assignment list)",
			long: `List the role assignments at a scope (default: the subscription), as az role assignment
list does: with --include-inherited also those above it, with --all those everywhere in the
subscription; --assignee and --role narrow the list. Each shows its role's name.`,
			example: `  coffer role assignment list --scope /subscriptions/c0ffe000-0000-4000-8000-000000000000/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/myvault
  coffer role assignment list --all --assignee OBJECT-ID -o table`,
		},
		flags: f.AddFlags,
		run: func(cmd *cobra.Command, c *client) error {
			items, err := f.find(cmd.Context(), c)
			if err != nil {
				return err
			}
			return printList(cmd, opts.Output, items, assignmentColumns)
		},
	})
}

func newRoleAssignmentDeleteCommand() *cobra.Command {
	opts, f := &clientOptions{}, &roleFilter{}
	var ids []string
	return newClientCommand(cmdSpec{
		use: "delete", opts: opts,
		help: cmdHelp{
			short: "Delete role assignments (as az role assignment delete)",
			long: `Delete role assignments, as az role assignment delete does: those --ids names, or those at
a scope that --assignee and --role select. The principal loses the role at once. Nothing is
printed; exit code 3 when nothing matched.`,
			example: `  coffer role assignment delete --assignee OBJECT-ID --role "Key Vault Secrets User" --scope SCOPE
  coffer role assignment delete --ids /subscriptions/…/providers/Microsoft.Authorization/roleAssignments/GUID`,
		},
		flags: func(fs *pflag.FlagSet) {
			f.AddFlags(fs)
			fs.StringSliceVar(&ids, "ids", nil, "the assignments' ids (…/providers/Microsoft.Authorization/roleAssignments/GUID)")
		},
		require: func([]string) error {
			if len(ids) > 0 && (f.Assignee != "" || f.Role != "" || f.Scope != "" || f.Group != "" || f.All) {
				return usageError(errors.New("--ids names the assignments: it takes no other selection"))
			}
			if len(ids) == 0 && f.Assignee == "" && f.Role == "" && f.Scope == "" && f.Group == "" {
				return usageError(errors.New("say which assignments to delete"), "give --ids, or --assignee, --role and --scope")
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			ctx := cmd.Context()
			if len(ids) == 0 {
				items, err := f.find(ctx, c)
				if err != nil {
					return err
				}
				for _, it := range items {
					if id, ok := it["id"].(string); ok {
						ids = append(ids, id)
					}
				}
				if len(ids) == 0 {
					return notFoundError(errors.New("no role assignment matched; nothing was deleted"), "coffer role assignment list shows them")
				}
			}
			for _, id := range ids {
				ra, err := armauthorization.NewRoleAssignmentsClient(subscriptionOf(id, f.Subscription), c.cred, c.armOptions())
				if err != nil {
					return err
				}
				if _, err := ra.DeleteByID(ctx, id, nil); err != nil {
					return err
				}
			}
			return nil
		},
	})
}
