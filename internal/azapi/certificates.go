package azapi

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/coffer/coffer/internal/certs"
	"github.com/coffer/coffer/internal/vault"
)

const maxCertBody = 4 << 20 // PFX imports and merges with chains

// mergePolicy applies the sections of w onto p (absent sections keep their values).
func mergePolicy(p *certs.Policy, w *wireCertPolicy) {
	if w == nil {
		return
	}
	if k := w.KeyProps; k != nil {
		if k.Exportable != nil {
			p.Exportable = k.Exportable
		}
		if k.Kty != "" {
			p.KeyType = k.Kty
		}
		if k.KeySize != nil {
			p.KeySize = *k.KeySize
		}
		if k.ReuseKey != nil {
			p.ReuseKey = *k.ReuseKey
		}
		if k.Crv != "" {
			p.Curve = k.Crv
		}
	}
	if s := w.SecretProps; s != nil && s.ContentType != "" {
		p.ContentType = s.ContentType
	}
	if x := w.X509Props; x != nil {
		if x.Subject != "" {
			p.Subject = x.Subject
		}
		if x.SANs != nil {
			p.DNSNames, p.Emails, p.UPNs = x.SANs.DNSNames, x.SANs.Emails, x.SANs.UPNs
		}
		if x.EKUs != nil {
			p.EKUs = x.EKUs
		}
		if x.KeyUsage != nil {
			p.KeyUsage = x.KeyUsage
		}
		if x.ValidityMonths != nil {
			p.ValidityMonths = *x.ValidityMonths
		}
		if x.BasicConstraints != nil {
			p.CA = x.BasicConstraints.CA
		}
	}
	if w.LifetimeActions != nil {
		p.LifetimeActions = nil
		for _, la := range w.LifetimeActions {
			var a certs.LifetimeAction
			if la.Trigger != nil {
				if la.Trigger.LifetimePercentage != nil {
					a.LifetimePercentage = *la.Trigger.LifetimePercentage
				}
				if la.Trigger.DaysBeforeExpiry != nil {
					a.DaysBeforeExpiry = *la.Trigger.DaysBeforeExpiry
				}
			}
			if la.Action != nil {
				a.Action = la.Action.ActionType
			}
			p.LifetimeActions = append(p.LifetimeActions, a)
		}
	}
	if is := w.Issuer; is != nil {
		if is.Name != "" {
			p.IssuerName = is.Name
		}
		if is.CertificateType != "" {
			p.CertificateType = is.CertificateType
		}
		if is.CertTransparency != nil {
			p.CertTransparency = is.CertTransparency
		}
	}
	if w.Attributes != nil && w.Attributes.Enabled != nil {
		p.Enabled = w.Attributes.Enabled
	}
}

func (a *API) renderCertPolicy(r *request, name string, cp vault.CertPolicy) *wireCertPolicy {
	p := cp.Policy
	size := p.KeySize
	exportable, reuse := p.Exportable == nil || *p.Exportable, p.ReuseKey
	months := p.ValidityMonths
	enabled := p.Enabled == nil || *p.Enabled
	out := &wireCertPolicy{
		ID:          r.url("/certificates/" + name + "/policy"),
		KeyProps:    &wireCertKeyProps{Exportable: &exportable, Kty: p.KeyType, ReuseKey: &reuse, Crv: p.Curve},
		SecretProps: &wireCertSecretProps{ContentType: p.ContentType},
		X509Props: &wireX509Props{Subject: p.Subject, SANs: &wireCertSANs{DNSNames: p.DNSNames, Emails: p.Emails, UPNs: p.UPNs},
			EKUs: p.EKUs, KeyUsage: p.KeyUsage, ValidityMonths: &months},
		Issuer:     &wireCertIssuerRef{Name: p.IssuerName, CertificateType: p.CertificateType, CertTransparency: p.CertTransparency},
		Attributes: &wireAttributes{Enabled: &enabled, Created: unix(cp.Created), Updated: unix(cp.Updated)},
	}
	if size > 0 {
		out.KeyProps.KeySize = &size
	}
	out.X509Props.BasicConstraints = &struct {
		CA bool `json:"ca"`
	}{p.CA}
	for _, la := range p.LifetimeActions {
		var w wireCertLifetimeAction
		w.Trigger = &struct {
			LifetimePercentage *int `json:"lifetime_percentage,omitempty"`
			DaysBeforeExpiry   *int `json:"days_before_expiry,omitempty"`
		}{}
		if la.LifetimePercentage > 0 {
			v := la.LifetimePercentage
			w.Trigger.LifetimePercentage = &v
		}
		if la.DaysBeforeExpiry > 0 {
			v := la.DaysBeforeExpiry
			w.Trigger.DaysBeforeExpiry = &v
		}
		w.Action = &struct {
			ActionType string `json:"action_type"`
		}{la.Action}
		out.LifetimeActions = append(out.LifetimeActions, w)
	}
	return out
}

type certShape int

const (
	certBundle certShape = iota
	certDeleted
	certItem
	certVersionItem
	certDeletedItem
)

func (a *API) renderCert(r *request, c vault.Certificate, shape certShape) wireCert {
	name := c.Object.Name
	sum := sha1.Sum(c.CER)
	out := wireCert{
		ID:   r.url("/certificates/" + name + "/" + c.ID),
		X5T:  sum[:],
		Tags: c.Tags,
		Attributes: wireAttributes{Enabled: &c.Enabled, NotBefore: unix(c.NotBefore), Expires: unix(c.Expires),
			Created: unix(c.Created), Updated: unix(c.Updated)},
	}
	switch shape {
	case certItem, certDeletedItem:
		out.ID = r.url("/certificates/" + name)
	case certVersionItem:
	default:
		days := c.Vault.RetentionDays
		out.Attributes.RecoveryLevel, out.Attributes.RecoverableDays = c.Vault.RecoveryLevel(), &days
		out.Kid = r.url("/keys/" + name + "/" + c.ID)
		out.Sid = r.url("/secrets/" + name + "/" + c.ID)
		out.CER = c.CER
		out.Policy = a.renderCertPolicy(r, name, c.Policy())
	}
	if shape == certDeleted || shape == certDeletedItem {
		out.RecoveryID = r.url("/deletedcertificates/" + name)
		out.DeletedDate = unix(c.Object.DeletedDate)
		out.ScheduledPurgeDate = unix(c.Object.ScheduledPurgeDate)
	}
	return out
}

func (a *API) renderOp(r *request, op vault.CertOperation) wireCertOperation {
	out := wireCertOperation{
		ID: r.url("/certificates/" + op.Name + "/pending"), Issuer: &wireCertIssuerRef{Name: op.Issuer}, CSR: op.CSR,
		CancellationRequested: op.CancellationRequested, Status: op.Status, StatusDetails: op.StatusDetails, RequestID: op.RequestID,
	}
	if op.ErrorCode != "" {
		out.Error = &wireErrorBody{Code: op.ErrorCode, Message: op.ErrorMessage}
	}
	if op.Status == "completed" {
		out.Target = r.url("/certificates/" + op.Name)
	}
	return out
}

func enabledOf(at *wireCertAttributesIn) *bool {
	if at == nil {
		return nil
	}
	return at.Enabled
}

func (a *API) createCertificate(w http.ResponseWriter, r *request) (int, error) {
	var in wireCertCreate
	if err := decodeBody(r, maxCertBody, &in); err != nil {
		return 0, err
	}
	if in.Policy == nil {
		return 0, badParameter("The request body must have a 'policy' (at least x509_props.subject and issuer.name).")
	}
	var p certs.Policy
	mergePolicy(&p, in.Policy)
	op, err := r.vaults.CreateCertificate(ctx(r), r.vault, r.param("name"), p, vault.CertParams{Tags: in.Tags, Enabled: enabledOf(in.Attributes)})
	if err != nil {
		return 0, err
	}
	out := a.renderOp(r, op)
	h := w.Header()
	h.Set("Location", r.url("/certificates/"+op.Name+"/pending?api-version="+r.apiVersion+"&request_id="+op.RequestID))
	h.Set("Retry-After", "0")
	writeJSON(w, http.StatusAccepted, out)
	return http.StatusAccepted, nil
}

func (a *API) getCertificateOperation(w http.ResponseWriter, r *request) (int, error) {
	op, err := r.vaults.GetCertificateOperation(ctx(r), r.vault, r.param("name"))
	if err != nil {
		return 0, err
	}
	w.Header().Set("Retry-After", "0")
	return ok(w, a.renderOp(r, op))
}

func (a *API) updateCertificateOperation(w http.ResponseWriter, r *request) (int, error) {
	var in struct {
		CancellationRequested *bool `json:"cancellation_requested"`
	}
	if err := decodeBody(r, 4096, &in); err != nil {
		return 0, err
	}
	if in.CancellationRequested == nil || !*in.CancellationRequested {
		return 0, badParameter("The only change to a certificate operation is {\"cancellation_requested\": true}.")
	}
	op, err := r.vaults.CancelCertificateOperation(ctx(r), r.vault, r.param("name"))
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderOp(r, op))
}

func (a *API) deleteCertificateOperation(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.DeleteCertificateOperation, func(op vault.CertOperation) any { return a.renderOp(r, op) })
}

func (a *API) mergeCertificate(w http.ResponseWriter, r *request) (int, error) {
	var in wireCertMerge
	if err := decodeBody(r, maxCertBody, &in); err != nil {
		return 0, err
	}
	if len(in.X5C) == 0 {
		return 0, badParameter("The request body must have 'x5c': the signed certificate (and its chain), standard base64 DER, leaf first.")
	}
	var chain [][]byte
	for _, s := range in.X5C {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return 0, badParameter("Each x5c entry must be standard base64 of a DER certificate.")
		}
		chain = append(chain, der)
	}
	c, err := r.vaults.MergeCertificate(ctx(r), r.vault, r.param("name"), chain, vault.CertParams{Tags: in.Tags, Enabled: enabledOf(in.Attributes)})
	if err != nil {
		return 0, err
	}
	writeJSON(w, http.StatusCreated, a.renderCert(r, c, certBundle))
	return http.StatusCreated, nil
}

func (a *API) importCertificate(w http.ResponseWriter, r *request) (int, error) {
	var in wireCertImport
	if err := decodeBody(r, maxCertBody, &in); err != nil {
		return 0, err
	}
	if in.Value == nil || *in.Value == "" {
		return 0, badParameter("The request body must have 'value': standard base64 of a PFX/PKCS#12, or PEM text with the private key and certificate.")
	}
	var pol *certs.Policy
	if in.Policy != nil {
		if in.Policy.SecretProps == nil || in.Policy.SecretProps.ContentType == "" {
			return 0, badParameter("Property policy has invalid value\r\nAn imported certificate's policy needs secret_props.contentType: application/x-pkcs12 for a PFX, application/x-pem-file for PEM.")
		}
		pol = &certs.Policy{}
		mergePolicy(pol, in.Policy)
	}
	release, err := a.importTurn(ctx(r))
	if err != nil {
		return 0, err
	}
	defer release()
	c, err := r.vaults.ImportCertificate(ctx(r), r.vault, r.param("name"), *in.Value, in.Password, pol, vault.CertParams{Tags: in.Tags, Enabled: enabledOf(in.Attributes)})
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderCert(r, c, certBundle))
}

func (a *API) getCertificate(w http.ResponseWriter, r *request) (int, error) {
	c, err := r.vaults.GetCertificate(ctx(r), r.vault, r.param("name"), r.param("version"))
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderCert(r, c, certBundle))
}

func (a *API) updateCertificate(w http.ResponseWriter, r *request) (int, error) {
	var in wireCertUpdate
	if err := decodeBody(r, maxCertBody, &in); err != nil {
		return 0, err
	}
	var policy func(*certs.Policy)
	if in.Policy != nil {
		policy = func(p *certs.Policy) { mergePolicy(p, in.Policy) }
	}
	c, err := r.vaults.UpdateCertificate(ctx(r), r.vault, r.param("name"), r.param("version"), vault.CertParams{Tags: in.Tags, Enabled: enabledOf(in.Attributes)}, policy)
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderCert(r, c, certBundle))
}

func (a *API) getCertificatePolicy(w http.ResponseWriter, r *request) (int, error) {
	p, err := r.vaults.GetCertificatePolicy(ctx(r), r.vault, r.param("name"))
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderCertPolicy(r, r.param("name"), p))
}

func (a *API) updateCertificatePolicy(w http.ResponseWriter, r *request) (int, error) {
	var in wireCertPolicy
	if err := decodeBody(r, maxCertBody, &in); err != nil {
		return 0, err
	}
	p, err := r.vaults.UpdateCertificatePolicy(ctx(r), r.vault, r.param("name"), func(p *certs.Policy) { mergePolicy(p, &in) })
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderCertPolicy(r, r.param("name"), p))
}

func (a *API) listCertificates(w http.ResponseWriter, r *request) (int, error) {
	return a.listCertPage(w, r, certItem, r.vaults.Certificates().List)
}

func (a *API) listDeletedCertificates(w http.ResponseWriter, r *request) (int, error) {
	return a.listCertPage(w, r, certDeletedItem, r.vaults.Certificates().ListDeleted)
}

func (a *API) listCertificateVersions(w http.ResponseWriter, r *request) (int, error) {
	name := r.param("name")
	return a.listCertPage(w, r, certVersionItem, func(c ctxT, v, after string, limit int) ([]vault.Certificate, string, error) {
		return r.vaults.Certificates().ListVersions(c, v, name, after, limit)
	})
}

func (a *API) listCertPage(w http.ResponseWriter, r *request, shape certShape, list func(c ctxT, v, after string, limit int) ([]vault.Certificate, string, error)) (int, error) {
	return listed(w, r, list,
		// A first issuance still pending has no version to show.
		func(c vault.Certificate) (wireCert, bool) { return a.renderCert(r, c, shape), c.ID != "" })
}

func (a *API) deleteCertificate(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.Certificates().Delete, func(c vault.Certificate) any { return a.renderCert(r, c, certDeleted) })
}

func (a *API) getDeletedCertificate(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.Certificates().GetDeleted, func(c vault.Certificate) any { return a.renderCert(r, c, certDeleted) })
}

func (a *API) recoverCertificate(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.Certificates().Recover, func(c vault.Certificate) any { return a.renderCert(r, c, certBundle) })
}

func (a *API) purgeCertificate(w http.ResponseWriter, r *request) (int, error) {
	return purged(w, r, r.vaults.Certificates().Purge)
}

func (a *API) backupCertificate(w http.ResponseWriter, r *request) (int, error) {
	return backedUp(w, r, r.vaults.Certificates().Backup)
}

func (a *API) restoreCertificate(w http.ResponseWriter, r *request) (int, error) {
	return restored(w, r, r.vaults.Certificates().Restore, func(c vault.Certificate) any { return a.renderCert(r, c, certBundle) })
}

func (a *API) renderContacts(r *request, cs []vault.Contact) wireContacts {
	out := wireContacts{ID: r.url("/certificates/contacts"), Contacts: []wireContact{}}
	for _, c := range cs {
		out.Contacts = append(out.Contacts, wireContact(c))
	}
	return out
}

func (a *API) getContacts(w http.ResponseWriter, r *request) (int, error) {
	cs, err := r.vaults.GetContacts(ctx(r), r.vault)
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderContacts(r, cs))
}

func (a *API) setContacts(w http.ResponseWriter, r *request) (int, error) {
	var in wireContacts
	if err := decodeBody(r, 64<<10, &in); err != nil {
		return 0, err
	}
	var cs []vault.Contact
	for _, c := range in.Contacts {
		cs = append(cs, vault.Contact(c))
	}
	cs, err := r.vaults.SetContacts(ctx(r), r.vault, cs)
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderContacts(r, cs))
}

func (a *API) deleteContacts(w http.ResponseWriter, r *request) (int, error) {
	cs, err := r.vaults.DeleteContacts(ctx(r), r.vault)
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderContacts(r, cs))
}

func (a *API) renderIssuer(r *request, is vault.Issuer, full bool) wireIssuer {
	out := wireIssuer{ID: r.url("/certificates/issuers/" + is.Name), Provider: is.Provider}
	if !full {
		return out
	}
	if len(is.Credentials) > 0 {
		var c struct {
			AccountID string `json:"account_id"`
		}
		json.Unmarshal(is.Credentials, &c)
		out.Credentials = &struct {
			AccountID string `json:"account_id,omitempty"`
			Password  string `json:"pwd,omitempty"`
		}{AccountID: c.AccountID} // the password is never returned
	}
	if len(is.OrgDetails) > 0 {
		out.OrgDetails = json.RawMessage(is.OrgDetails)
	}
	out.Attributes = &wireAttributes{Enabled: &is.Enabled, Created: unix(is.Created), Updated: unix(is.Updated)}
	return out
}

func setIssuer(merge bool) func(a *API, w http.ResponseWriter, r *request) (int, error) {
	return func(a *API, w http.ResponseWriter, r *request) (int, error) {
		var in struct {
			Provider    string          `json:"provider"`
			Credentials json.RawMessage `json:"credentials"`
			OrgDetails  json.RawMessage `json:"org_details"`
			Attributes  *struct {
				Enabled *bool `json:"enabled"`
			} `json:"attributes"`
		}
		if err := decodeBody(r, 64<<10, &in); err != nil {
			return 0, err
		}
		is := vault.IssuerParams{Name: r.param("issuer"), Provider: in.Provider, Credentials: in.Credentials, OrgDetails: in.OrgDetails}
		if in.Attributes != nil {
			is.Enabled = in.Attributes.Enabled
		}
		out, err := r.vaults.SetIssuer(ctx(r), r.vault, is, merge)
		if err != nil {
			return 0, err
		}
		return ok(w, a.renderIssuer(r, out, true))
	}
}

func (a *API) getIssuer(w http.ResponseWriter, r *request) (int, error) {
	is, err := r.vaults.GetIssuer(ctx(r), r.vault, r.param("issuer"))
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderIssuer(r, is, true))
}

func (a *API) deleteIssuer(w http.ResponseWriter, r *request) (int, error) {
	is, err := r.vaults.DeleteIssuer(ctx(r), r.vault, r.param("issuer"))
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderIssuer(r, is, true))
}

func (a *API) listIssuers(w http.ResponseWriter, r *request) (int, error) {
	list, err := r.vaults.ListIssuers(ctx(r), r.vault)
	if err != nil {
		return 0, err
	}
	out := wireIssuerList{Value: []wireIssuer{}}
	for _, is := range list {
		out.Value = append(out.Value, a.renderIssuer(r, is, false))
	}
	return ok(w, out)
}
