package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newVaultCommand() *cobra.Command {
	return newGroup("vault", cmdHelp{short: "Manage vaults and their access policies (as az keyvault)"},
		newVaultCreateCommand(), newVaultShowCommand(), newVaultListCommand(), newVaultUpdateCommand(),
		newVaultDeleteCommand(), newVaultListDeletedCommand(), newVaultShowDeletedCommand(), newVaultRecoverCommand(),
		newVaultPurgeCommand(), newVaultSetPolicyCommand(), newVaultDeletePolicyCommand(),
		newVaultExportCommand(), newVaultImportCommand(), newVaultCopyCommand())
}

// vaultSpec is a command of the management plane (coffer vault VERB), for
// newVaultOpCommand: a client command that calls armkeyvault in ref's subscription.
type vaultSpec struct {
	verb    string
	help    cmdHelp
	ref     *vaultRef // the vault the command names (-n, -g), or only its --subscription
	args    cobra.PositionalArgs
	flags   func(fs *pflag.FlagSet) // every flag but the client's: each command words ref's own
	require func(args []string) error
	check   func(cmd *cobra.Command) error
	run     func(r *vaultRun) error
}

// vaultRun is a management-plane command at work: vc is armkeyvault's client of the
// subscription.
type vaultRun struct {
	cmd    *cobra.Command
	ctx    context.Context
	c      *client
	vc     *armkeyvault.VaultsClient
	output string
}

func newVaultOpCommand(s vaultSpec) *cobra.Command {
	opts := &clientOptions{}
	return newClientCommand(cmdSpec{
		use: s.verb, help: s.help, args: s.args, opts: opts, flags: s.flags, require: s.require, check: s.check,
		run: func(cmd *cobra.Command, c *client) error {
			vc, err := s.ref.vaultsClient(c)
			if err != nil {
				return err
			}
			return s.run(&vaultRun{cmd: cmd, ctx: cmd.Context(), c: c, vc: vc, output: opts.Output})
		},
	})
}

// print prints an armkeyvault model (a vault, a deleted vault) as az does.
func (r *vaultRun) print(v any, cols columns) error {
	m, err := armJSON(v)
	if err != nil {
		return err
	}
	return printObject(r.cmd, r.output, m, cols)
}

// printPages prints what every page of an armkeyvault pager lists, as az does.
func printPages[P, T any](r *vaultRun, pager *runtime.Pager[P], items func(P) []*T, cols columns) error {
	var all []*T
	for pager.More() {
		page, err := pager.NextPage(r.ctx)
		if err != nil {
			return err
		}
		all = append(all, items(page)...)
	}
	out, err := armList(all)
	if err != nil {
		return err
	}
	return printList(r.cmd, r.output, out, cols)
}

// printWhenDone waits for a vault's creation (or recovery) and prints the vault.
func (r *vaultRun) printWhenDone(poller *runtime.Poller[armkeyvault.VaultsClientCreateOrUpdateResponse]) error {
	res, err := poller.PollUntilDone(r.ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second})
	if err != nil {
		return err
	}
	return r.print(res.Vault, vaultColumns)
}

// vaultRef names a vault on the management plane: -n, -g, --subscription.
type vaultRef struct {
	Name         string
	Group        string
	Subscription string
}

func (o *vaultRef) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Name, "name", "n", "", "vault name (required)")
	fs.StringVarP(&o.Group, "resource-group", "g", "", "resource group of the vault (default: found by listing the subscription's vaults)")
	fs.StringVar(&o.Subscription, "subscription", defaultSubscription, "subscription id of the vault")
}

// vaultsClient returns the armkeyvault client of the reference's subscription.
func (o *vaultRef) vaultsClient(c *client) (*armkeyvault.VaultsClient, error) {
	return armkeyvault.NewVaultsClient(o.Subscription, c.cred, c.armOptions())
}

// group returns -g, or the resource group of the vault named -n, found by listing the
// subscription's vaults (az needs -g; Coffer's vault names are unique per server).
func (o *vaultRef) group(ctx context.Context, vc *armkeyvault.VaultsClient) (string, error) {
	if o.Group != "" {
		return o.Group, nil
	}
	pager := vc.NewListBySubscriptionPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, v := range page.Value {
			if v == nil || v.Name == nil || v.ID == nil || !strings.EqualFold(*v.Name, o.Name) {
				continue
			}
			id, err := arm.ParseResourceID(*v.ID)
			if err != nil {
				return "", fmt.Errorf("vault %s has the id %q: %w", *v.Name, *v.ID, err)
			}
			return id.ResourceGroupName, nil
		}
	}
	if d, err := findDeletedVault(ctx, vc, o.Name); err == nil && d != nil {
		return "", &hintError{code: exitNotFound, err: fmt.Errorf("vault %q is deleted", o.Name), hints: deletedVaultObject(d, o.Name).hints()}
	}
	return "", &hintError{code: exitNotFound, err: fmt.Errorf("no vault %q in subscription %s", o.Name, o.Subscription),
		hints: []string{"check the name (coffer vault list), or give its resource group with -g and its subscription with --subscription"}}
}

// get returns the vault's resource group and the vault; a vault that is deleted gets the
// hints of a deleted vault.
func (o *vaultRef) get(ctx context.Context, vc *armkeyvault.VaultsClient) (string, armkeyvault.Vault, error) {
	rg, err := o.group(ctx, vc)
	if err != nil {
		return "", armkeyvault.Vault{}, err
	}
	got, err := vc.Get(ctx, rg, o.Name, nil)
	if err != nil {
		if isStatus(err, http.StatusNotFound) {
			if d, derr := findDeletedVault(ctx, vc, o.Name); derr == nil && d != nil {
				return "", armkeyvault.Vault{}, &hintError{code: exitNotFound, err: fmt.Errorf("vault %q is deleted", o.Name), hints: deletedVaultObject(d, o.Name).hints()}
			}
		}
		return "", armkeyvault.Vault{}, err
	}
	return rg, got.Vault, nil
}

// nameRequired is the usage check of a vault command that needs -n.
func (o *vaultRef) nameRequired(verb string) func([]string) error {
	return func([]string) error {
		if o.Name == "" {
			return &hintError{code: exitUsage, err: errors.New("--name is required"), hints: []string{"coffer vault " + verb + " --name VAULT"}}
		}
		return nil
	}
}

// armDateKeys are the ARM properties that hold dates; az prints them as Python's
// isoformat.
var armDateKeys = map[string]bool{"deletionDate": true, "scheduledPurgeDate": true, "createdAt": true, "lastModifiedAt": true}

// armJSON is an armkeyvault model as az prints it: the wire JSON, dates in az's form, and
// for a resource in a group, az's added "resourceGroup".
func armJSON(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	fixDates(m)
	if id, ok := m["id"].(string); ok && strings.Contains(strings.ToLower(id), "/resourcegroups/") {
		if rid, err := arm.ParseResourceID(id); err == nil {
			m["resourceGroup"] = rid.ResourceGroupName
		}
	}
	return m, nil
}

func fixDates(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && armDateKeys[k] {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					x[k] = azDate(&t)
				}
				continue
			}
			fixDates(e)
		}
	case []any:
		for _, e := range x {
			fixDates(e)
		}
	}
}

func armList[T any](items []*T) ([]map[string]any, error) {
	out := []map[string]any{}
	for _, it := range items {
		if it == nil {
			continue
		}
		m, err := armJSON(it)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// The -o table columns of vaults and of deleted vaults.
var (
	vaultColumns = columns{{"Name", "name"}, {"ResourceGroup", "resourceGroup"}, {"Location", "location"},
		{"VaultUri", "properties.vaultUri"}, {"RetentionDays", "properties.softDeleteRetentionInDays"},
		{"PurgeProtection", "properties.enablePurgeProtection"}}
	deletedVaultColumns = columns{{"Name", "name"}, {"Location", "properties.location"}, {"DeletionDate", "properties.deletionDate"},
		{"ScheduledPurgeDate", "properties.scheduledPurgeDate"}, {"PurgeProtection", "properties.purgeProtectionEnabled"}}
)

// vaultTable shows a vault's access policies, one row per principal.
func vaultTable(v armkeyvault.Vault) func() table {
	return func() table {
		t := table{header: []string{"Vault", "ObjectId", "Keys", "Secrets", "Certificates", "Storage"}}
		if v.Properties == nil {
			return t
		}
		name := deref(v.Name)
		for _, p := range v.Properties.AccessPolicies {
			if p == nil {
				continue
			}
			row := []string{name, deref(p.ObjectID), "", "", "", ""}
			if perms := p.Permissions; perms != nil {
				row[2], row[3], row[4], row[5] = joinPerms(perms.Keys), joinPerms(perms.Secrets), joinPerms(perms.Certificates), joinPerms(perms.Storage)
			}
			t.rows = append(t.rows, row)
		}
		return t
	}
}

func joinPerms[T ~string](ps []*T) string {
	var s []string
	for _, p := range ps {
		if p != nil {
			s = append(s, string(*p))
		}
	}
	return strings.Join(s, ",")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
