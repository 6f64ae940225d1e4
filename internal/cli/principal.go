package cli

import (
	"strconv"

	"github.com/spf13/cobra"
)

// principalJSON is a principal as GET /admin/principals lists it: never a secret.
type principalJSON struct {
	ObjectID string `json:"objectId"`
	ClientID string `json:"clientId"`
	Name     string `json:"name"`
	Admin    bool   `json:"admin"`
}

func newPrincipalCommand() *cobra.Command {
	return newGroup("principal", cmdHelp{
		short: "Manage service principals (administrator only)",
		long: `Manage the server's service principals through Coffer's admin routes
(/admin/principals). These commands need the administrator's credentials. A new principal
has no rights: grant them with coffer vault set-policy --object-id OBJECT-ID.`,
	}, newPrincipalCreateCommand(), newPrincipalListCommand(), newPrincipalDeleteCommand())
}

func principalTable(ps []principalJSON) func() table {
	return func() table {
		t := table{header: []string{"Name", "ObjectId", "ClientId", "Admin"}}
		for _, p := range ps {
			t.rows = append(t.rows, []string{p.Name, p.ObjectID, p.ClientID, strconv.FormatBool(p.Admin)})
		}
		return t
	}
}
