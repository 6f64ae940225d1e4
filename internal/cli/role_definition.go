package cli

import (
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newRoleDefinitionListCommand() *cobra.Command {
	opts, sc := &clientOptions{}, &roleScope{}
	var name string
	var customOnly bool
	return newClientCommand(cmdSpec{
		use: "list", opts: opts,
		help: cmdHelp{
			short: "List role definitions (as az role definition list)",
			long: `List the role definitions usable at a scope (default: the subscription), as az role
definition list does: Azure's built-in roles, with their ids, actions, notActions,
dataActions and notDataActions, and the custom roles. --name keeps the role of that name (or
id); --custom-role-only the custom roles.`,
			example: `  coffer role definition list -o table
  coffer role definition list --name "Key Vault Secrets User"`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&name, "name", "n", "", "only the role of this name, or of this GUID")
			fs.BoolVar(&customOnly, "custom-role-only", false, "only custom roles")
			sc.AddFlags(fs, "the scope the roles are usable at")
		},
		run: func(cmd *cobra.Command, c *client) error {
			scope, err := sc.resolve()
			if err != nil {
				return err
			}
			rd, err := armauthorization.NewRoleDefinitionsClient(c.cred, c.armOptions())
			if err != nil {
				return err
			}
			var o *armauthorization.RoleDefinitionsClientListOptions
			if name != "" && !guidForm.MatchString(name) {
				o = &armauthorization.RoleDefinitionsClientListOptions{Filter: ptr("roleName eq '" + strings.ReplaceAll(name, "'", "''") + "'")}
			}
			pager := rd.NewListPager(scope, o)
			items := []map[string]any{}
			for pager.More() {
				page, err := pager.NextPage(cmd.Context())
				if err != nil {
					return err
				}
				for _, d := range page.Value {
					if d == nil || d.Properties == nil {
						continue
					}
					if name != "" && guidForm.MatchString(name) && (d.Name == nil || !strings.EqualFold(*d.Name, name)) {
						continue
					}
					if customOnly && (d.Properties.RoleType == nil || *d.Properties.RoleType != "CustomRole") {
						continue
					}
					m, err := roleJSON(d)
					if err != nil {
						return err
					}
					items = append(items, m)
				}
			}
			return printList(cmd, opts.Output, items, definitionColumns)
		},
	})
}
