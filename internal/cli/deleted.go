package cli

// The help a person needs when something is deleted. A data-plane command that fails
// because its object (or its vault) is soft-deleted says so, with the dates and the exact
// commands that recover or purge it; a purge refused by purge protection says when
// Coffer purges the object by itself.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
)

// azError is what an Azure SDK error says: the status, error.code and innererror.code.
type azError struct {
	status      int
	code, inner string
	message     string
}

func azErrorOf(err error) (azError, bool) {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return azError{}, false
	}
	e := azError{status: re.StatusCode, code: re.ErrorCode}
	if re.RawResponse != nil {
		if b, rerr := runtime.Payload(re.RawResponse); rerr == nil {
			var body struct {
				Error struct {
					Code       string `json:"code"`
					Message    string `json:"message"`
					InnerError struct {
						Code string `json:"code"`
					} `json:"innererror"`
				} `json:"error"`
			}
			if json.Unmarshal(b, &body) == nil {
				if body.Error.Code != "" {
					e.code = body.Error.Code
				}
				e.inner, e.message = body.Error.InnerError.Code, body.Error.Message
			}
		}
	}
	return e, true
}

func isStatus(err error, status int) bool {
	e, ok := azErrorOf(err)
	return ok && e.status == status
}

// deletedObject is a soft-deleted secret, key or certificate, or a deleted vault (kind
// "vault", vault == name).
type deletedObject struct {
	kind, vault, name  string
	deleted, purgeDate *time.Time
	recoveryLevel      string // "" when unknown
	purgeProtected     bool
	json               map[string]any // a secret, key or certificate as az prints it
}

// deletedForm is a deleted secret, key or certificate as the SDK answered it, m its JSON;
// the caller names it (kind, vault, name).
func deletedForm(m map[string]any, deleted, purge *time.Time) *deletedObject {
	level, _ := lookup(m, "attributes.recoveryLevel").(string)
	return &deletedObject{json: m, deleted: deleted, purgeDate: purge, recoveryLevel: level}
}

// deletedListColumns are the -o table columns of deleted secrets, keys and certificates.
var deletedListColumns = columns{{"Name", "name"}, {"DeletedDate", "deletedDate"}, {"ScheduledPurgeDate", "scheduledPurgeDate"},
	{"RecoveryLevel", "attributes.recoveryLevel"}, {"Id", "recoveryId"}}

// noteDeleted tells, on w (stderr), until when the object just deleted can be recovered
// and how.
func (d *deletedObject) noteDeleted(w io.Writer) {
	fmt.Fprintf(w, "coffer: hint: %s %s is deleted; it can be recovered until %s: %s\n", d.kind, d.name, humanDate(d.purgeDate), d.command("recover"))
}

// purgeable reports whether the vault lets a person purge the object before its date.
func (d *deletedObject) purgeable() bool {
	if d.kind == "vault" || d.recoveryLevel == "" {
		return !d.purgeProtected
	}
	return strings.Contains(d.recoveryLevel, "Purgeable")
}

func (d *deletedObject) command(verb string) string {
	if d.kind == "vault" {
		return fmt.Sprintf("coffer vault %s --name %s", verb, d.name)
	}
	return fmt.Sprintf("coffer %s %s --vault-name %s --name %s", d.kind, verb, d.vault, d.name)
}

func humanDate(t *time.Time) string {
	if t == nil {
		return "(unknown)"
	}
	return t.UTC().Format(time.RFC3339)
}

// hints are the lines that tell what can be done with the deleted object.
func (d *deletedObject) hints() []string {
	what := "it"
	if d.kind == "vault" {
		what = "the vault and everything in it"
	}
	h := []string{fmt.Sprintf("it was deleted at %s; %s can be recovered until its scheduledPurgeDate %s, when Coffer purges it for good",
		humanDate(d.deleted), what, humanDate(d.purgeDate))}
	h = append(h, "recover it: "+d.command("recover"))
	if d.purgeable() {
		h = append(h, "or purge it now, which cannot be undone and frees the name: "+d.command("purge"))
	} else {
		h = append(h, "the vault has purge protection: it cannot be purged before "+humanDate(d.purgeDate))
	}
	return h
}

// kindTitle is "Secret" for "secret".
func kindTitle(kind string) string { return strings.ToUpper(kind[:1]) + kind[1:] }

// findDeleted returns the deleted object of that kind and name, or the SDK's error (a
// 404 when there is none).
func (c *client) findDeleted(ctx context.Context, kind, vault, name string) (*deletedObject, error) {
	calls, err := kinds[kind].open(c, ctx, vault)
	if err != nil {
		return nil, err
	}
	d, err := calls.getDeleted(ctx, name)
	if err != nil {
		return nil, err
	}
	d.kind, d.vault, d.name = kind, vault, name
	return d, nil
}

// liveExists reports whether a live object of that kind and name exists (and the caller
// may read it).
func (c *client) liveExists(ctx context.Context, kind, vault, name string) bool {
	calls, err := kinds[kind].open(c, ctx, vault)
	if err != nil {
		return false
	}
	_, err = calls.get(ctx, name, "")
	return err == nil
}

var conflictName = regexp.MustCompile(`^(?:Secret|Key|Certificate) (\S+) is currently in a deleted`)

// explainVaultError is the first step of explaining an error of the data plane: an error
// that is not the server's answer passes unchanged, and a vault that does not exist is
// explained (explainVaultMissing); both come back as explained. Else e is the server's
// answer, for the caller to explain.
func (c *client) explainVaultError(ctx context.Context, err error, vault string) (e azError, explained error) {
	e, ok := azErrorOf(err)
	switch {
	case !ok:
		return e, err
	case e.status == http.StatusNotFound && e.code == "VaultNotFound":
		return e, c.explainVaultMissing(ctx, vault, err)
	}
	return e, nil
}

// explainObject turns the errors of a command on a named object into the help a person
// needs: a 404 for an object that is soft-deleted, a 409 for a name a deleted object
// holds, a 404 for a deleted vault. Other errors pass unchanged. name may be "" (restore),
// then it is read from the server's message.
func (c *client) explainObject(ctx context.Context, err error, kind, vault, name string) error {
	e, explained := c.explainVaultError(ctx, err, vault)
	if explained != nil {
		return explained
	}
	switch {
	case e.status == http.StatusNotFound && e.code == kindTitle(kind)+"NotFound" && name != "":
		d, derr := c.findDeleted(ctx, kind, vault, name)
		if derr != nil {
			return err
		}
		return &hintError{code: exitNotFound, err: fmt.Errorf("%s %q in vault %q is deleted: only its deleted form exists (coffer %s show-deleted)", kind, name, vault, kind),
			hints: d.hints()}
	case e.status == http.StatusConflict && e.inner == "ObjectIsDeletedButRecoverable":
		if name == "" {
			if m := conflictName.FindStringSubmatch(e.message); m != nil {
				name = m[1]
			}
		}
		if name == "" {
			return err
		}
		d, derr := c.findDeleted(ctx, kind, vault, name)
		if derr != nil {
			d = &deletedObject{kind: kind, vault: vault, name: name}
		}
		return &hintError{code: exitConflict, err: fmt.Errorf("the name %q is held by a deleted %s in vault %q: it cannot be reused until that %s is recovered or purged", name, kind, vault, kind),
			hints: d.hints()}
	}
	return err
}

// explainDeletedOp explains the errors of show-deleted, recover and purge: an object that
// is not deleted, and a purge refused by purge protection.
func (c *client) explainDeletedOp(ctx context.Context, err error, kind, vault, name string) error {
	e, explained := c.explainVaultError(ctx, err, vault)
	if explained != nil {
		return explained
	}
	switch {
	case e.status == http.StatusNotFound:
		if c.liveExists(ctx, kind, vault, name) {
			return &hintError{code: exitNotFound, err: fmt.Errorf("%s %q in vault %q is not deleted", kind, name, vault),
				hints: []string{fmt.Sprintf("it is live: coffer %s show --vault-name %s --name %s", kind, vault, name)}}
		}
		return &hintError{code: exitNotFound, err: fmt.Errorf("no deleted %s %q in vault %q", kind, name, vault),
			hints: []string{fmt.Sprintf("the deleted %ss: coffer %s list-deleted --vault-name %s", kind, kind, vault),
				"an object purged by hand or at the end of its retention is gone for good; restore it from a backup if you have one"}}
	case e.status == http.StatusForbidden && e.inner == "ForbiddenByPolicy":
		d, derr := c.findDeleted(ctx, kind, vault, name)
		if derr != nil {
			return err
		}
		return d.purgeProtectedError()
	}
	return err
}

// purgeProtectedError is the refusal to purge under purge protection, with the date
// Coffer purges the object by itself.
func (d *deletedObject) purgeProtectedError() error {
	what := fmt.Sprintf("%s %q in vault %q cannot be purged: the vault has purge protection", d.kind, d.name, d.vault)
	if d.kind == "vault" {
		what = fmt.Sprintf("vault %q cannot be purged: it has purge protection", d.name)
	}
	return conflictError(errors.New(what),
		fmt.Sprintf("Coffer purges it by itself at its scheduledPurgeDate %s", humanDate(d.purgeDate)),
		"until then it can be recovered: "+d.command("recover"))
}

// confirmPurgeObject is the question a purge asks on a terminal: it looks the deleted
// object up first, so that a purge that cannot happen (no such deleted object, purge
// protection) says so before asking. extra follows the object's name in the question.
func (c *client) confirmPurgeObject(ctx context.Context, cmd *cobra.Command, pf *purgeFlags, kind, vault, name, extra string) error {
	d, err := c.findDeleted(ctx, kind, vault, name)
	if err != nil {
		return c.explainDeletedOp(ctx, err, kind, vault, name)
	}
	if !d.purgeable() {
		return d.purgeProtectedError()
	}
	return pf.confirm(cmd, fmt.Sprintf("%s %q in vault %q %s", kind, name, vault, extra), name)
}

// findDeletedVault looks the vault up among the subscription's deleted vaults: nil when
// it is not there.
func findDeletedVault(ctx context.Context, vc *armkeyvault.VaultsClient, name string) (*armkeyvault.DeletedVault, error) {
	pager := vc.NewListDeletedPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range page.Value {
			if v != nil && strings.EqualFold(deletedVaultName(v), name) {
				return v, nil
			}
		}
	}
	return nil, nil
}

// deletedVaultName is the last segment of properties.vaultId, as az matches it.
func deletedVaultName(v *armkeyvault.DeletedVault) string {
	if v.Properties != nil && v.Properties.VaultID != nil {
		id := strings.TrimRight(*v.Properties.VaultID, "/")
		return id[strings.LastIndexByte(id, '/')+1:]
	}
	return deref(v.Name)
}

func deletedVaultObject(v *armkeyvault.DeletedVault, name string) *deletedObject {
	d := &deletedObject{kind: "vault", vault: name, name: name}
	if p := v.Properties; p != nil {
		d.deleted, d.purgeDate = p.DeletionDate, p.ScheduledPurgeDate
		d.purgeProtected = p.PurgeProtectionEnabled != nil && *p.PurgeProtectionEnabled
	}
	return d
}

// explainVaultMissing says whether a vault the data plane does not find is deleted.
// Listing deleted vaults needs the administrator; others get the general hint.
func (c *client) explainVaultMissing(ctx context.Context, vault string, err error) error {
	generic := &hintError{code: exitNotFound, err: fmt.Errorf("vault %q does not exist or is deleted", vault),
		hints: []string{"the vaults: coffer vault list; the deleted vaults: coffer vault list-deleted (administrator)"}}
	vc, verr := armkeyvault.NewVaultsClient(defaultSubscription, c.cred, c.armOptions())
	if verr != nil {
		return generic
	}
	v, ferr := findDeletedVault(ctx, vc, vault)
	if ferr != nil {
		return generic
	}
	if v == nil {
		return &hintError{code: exitNotFound, err: fmt.Errorf("no vault %q", vault), hints: []string{"check the name: coffer vault list"}}
	}
	return &hintError{code: exitNotFound, err: fmt.Errorf("vault %q is deleted", vault), hints: deletedVaultObject(v, vault).hints()}
}
