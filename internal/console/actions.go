package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/coffer/coffer/internal/vault"
)

// vaultActions serves the forms of a vault's pages:
//
//	POST /console/vaults/{vault}/secrets                    create a secret (or a new version)
//	POST /console/vaults/{vault}/secrets/{name}/reveal      show a version's value (an audited read)
//	POST /console/vaults/{vault}/secrets/{name}/version     a new version
//	POST /console/vaults/{vault}/{kind}/{name}/enabled      enable or disable a version
//	POST /console/vaults/{vault}/{kind}/{name}/delete       soft-delete
func (c *Console) vaultActions(w http.ResponseWriter, r *http.Request, req *call) error {
	parts := strings.Split(req.arg, "/")
	switch {
	case len(parts) == 2 && parts[1] == "secrets":
		return c.setSecret(w, r, req, parts[0], r.PostForm.Get("name"))
	case len(parts) == 4 && ops[parts[1]] != nil && parts[2] != "":
		v, coll, name := parts[0], parts[1], parts[2]
		switch parts[3] {
		case "reveal":
			if coll == "secrets" {
				return c.reveal(w, r, req, v, name)
			}
		case "version":
			if coll == "secrets" {
				return c.setSecret(w, r, req, v, name)
			}
		case "enabled":
			return c.setEnabled(w, r, req, v, coll, name)
		case "delete":
			return c.deleteObject(w, r, req, v, coll, name)
		}
	}
	c.errorPage(w, r, req, http.StatusNotFound, "Page not found", "The console has no action at this address.")
	return nil
}

// setSecret creates a secret, or a new version of one. The value comes in the form's
// body and goes nowhere else: not into the URL, the log or the audit record.
func (c *Console) setSecret(w http.ResponseWriter, r *http.Request, req *call, vname, name string) error {
	ctx := r.Context()
	o := ops["secrets"]["set"]
	req.Event.Operation, req.Event.Vault, req.Event.ObjectID = o.name, vname, "secrets/"+name
	if name == "" {
		return formError("Give the secret a name: letters, digits and dashes.")
	}
	vr := c.opts.Vaults.As(req.actor(), req.decider(o, name, "set secret "+name+" in vault "+vname))
	if _, err := vr.GetVault(ctx, vname); err != nil {
		return err
	}
	if err := req.BeforeChange(ctx); err != nil {
		return err
	}
	s, err := vr.SetSecret(ctx, vname, name, vault.SecretParams{Value: r.PostForm.Get("value"), ContentType: r.PostForm.Get("content_type")})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/console/vaults/"+url.PathEscape(s.Vault.Name)+"/secrets/"+url.PathEscape(s.Object.Name), http.StatusSeeOther)
	return nil
}

// reveal reads one version's value, decided and audited as the data plane's GetSecret,
// and shows it on the object's page.
func (c *Console) reveal(w http.ResponseWriter, r *http.Request, req *call, vname, name string) error {
	ctx := r.Context()
	o := ops["secrets"]["get"]
	req.Event.Operation, req.Event.Vault, req.Event.ObjectID = o.name, vname, "secrets/"+name
	vr := c.opts.Vaults.As(req.actor(), req.decider(o, name, "read the value of secret "+name+" in vault "+vname))
	s, err := vr.GetSecret(ctx, vname, name, r.PostForm.Get("version"))
	if err != nil {
		return err
	}
	return c.objectPage(w, r, req, vname, "secrets", name, &revealed{Version: s.ID, Value: s.Value, ContentType: s.ContentType})
}

// setEnabled enables or disables one version of a secret, key or certificate.
func (c *Console) setEnabled(w http.ResponseWriter, r *http.Request, req *call, vname, coll, name string) error {
	ctx := r.Context()
	o := ops[coll]["update"]
	req.Event.Operation, req.Event.Vault, req.Event.ObjectID = o.name, vname, coll+"/"+name
	enabled := r.PostForm.Get("enabled") == "true"
	version := r.PostForm.Get("version")
	vr := c.opts.Vaults.As(req.actor(), req.decider(o, name, "change "+strings.TrimSuffix(coll, "s")+" "+name+" in vault "+vname))
	if _, err := vr.GetVault(ctx, vname); err != nil {
		return err
	}
	if err := req.BeforeChange(ctx); err != nil {
		return err
	}
	var err error
	switch coll {
	case "secrets":
		_, err = vr.UpdateSecret(ctx, vname, name, version, vault.SecretUpdate{Enabled: &enabled})
	case "keys":
		_, err = vr.UpdateKey(ctx, vname, name, version, vault.KeyUpdate{Enabled: &enabled})
	case "certificates":
		// As the data plane's UpdateCertificate: the version's key and secret follow it,
		// in the same transaction.
		_, err = vr.UpdateCertificate(ctx, vname, name, version, vault.CertParams{Enabled: &enabled}, nil)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/console/vaults/"+url.PathEscape(vname)+"/"+coll+"/"+url.PathEscape(name), http.StatusSeeOther)
	return nil
}

// deleteObject soft-deletes an object and says how long it stays recoverable.
func (c *Console) deleteObject(w http.ResponseWriter, r *http.Request, req *call, vname, coll, name string) error {
	ctx := r.Context()
	o := ops[coll]["delete"]
	kind := strings.TrimSuffix(coll, "s")
	req.Event.Operation, req.Event.Vault, req.Event.ObjectID = o.name, vname, coll+"/"+name
	vr := c.opts.Vaults.As(req.actor(), req.decider(o, name, "delete "+kind+" "+name+" in vault "+vname))
	v, err := vr.GetVault(ctx, vname)
	if err != nil {
		return err
	}
	if err := req.BeforeChange(ctx); err != nil {
		return err
	}
	obj, err := objects[coll].del(ctx, vr, vname, name)
	if err != nil {
		return err
	}
	c.render(w, req, http.StatusOK, "done", page{Title: "Deleted", Nav: "vaults", Data: doneData{
		Message: strings.ToUpper(kind[:1]) + kind[1:] + " " + obj.Name + " is deleted.",
		Hint: "Vault " + v.Name + " keeps deleted objects for " + itoa(v.RetentionDays) + " days: you can recover it from the recycle bin until " +
			obj.ScheduledPurgeDate.UTC().Format("2006-01-02 15:04 UTC") + ", when it is purged for good.",
		Links: []doneLink{{"/console/recycle-bin?" + url.Values{"vault": {v.Name}}.Encode(), "Recover it from the recycle bin"},
			{"/console/vaults/" + url.PathEscape(v.Name), "Back to vault " + v.Name}}}})
	return nil
}
