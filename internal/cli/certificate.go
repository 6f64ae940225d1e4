package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newCertificateCommand() *cobra.Command {
	pending := newGroup("pending", cmdHelp{short: "Show or complete a certificate's pending creation (as az keyvault certificate pending)"},
		newCertificatePendingShowCommand(), newCertificatePendingMergeCommand())
	return certificateKind.group(cmdHelp{
		short: "Manage certificates (as az keyvault certificate)",
		long: `Manage the certificates of a vault, as az keyvault certificate does, through Microsoft's
azcertificates SDK. -o json prints what az prints. A certificate's key and secret are
deleted, recovered and purged with it. A deleted certificate stays recoverable until its
scheduledPurgeDate: coffer certificate list-deleted, recover, purge.`,
	}, newCertificateCreateCommand(), newCertificateImportCommand(), newCertificateDownloadCommand(),
		newCertificateGetDefaultPolicyCommand(), pending)
}

// The JSON az prints for certificates: list items are
// {attributes, id, name, subject, tags, x509Thumbprint, x509ThumbprintHex}; a certificate
// drops subject and adds cer, contentType, kid, pending, policy and sid; the deleted forms
// add deletedDate, recoveryId and scheduledPurgeDate. The thumbprint and cer are standard
// base64.

func certAttrsJSON(a *azcertificates.CertificateAttributes) map[string]any {
	if a == nil {
		a = &azcertificates.CertificateAttributes{}
	}
	return map[string]any{
		"created":       azDate(a.Created),
		"enabled":       orNil(a.Enabled),
		"expires":       azDate(a.Expires),
		"notBefore":     azDate(a.NotBefore),
		"recoveryLevel": orNil(a.RecoveryLevel),
		"updated":       azDate(a.Updated),
	}
}

func certPropsJSON(a *azcertificates.CertificateAttributes, id *azcertificates.ID, tags map[string]*string, thumb []byte) map[string]any {
	m := map[string]any{
		"attributes": certAttrsJSON(a), "id": nil, "name": nil, "subject": "", "tags": tagsJSON(tags),
		"x509Thumbprint": b64(thumb), "x509ThumbprintHex": nil,
	}
	if id != nil {
		m["id"], m["name"] = string(*id), id.Name()
	}
	if thumb != nil {
		m["x509ThumbprintHex"] = strings.ToUpper(hex.EncodeToString(thumb))
	}
	return m
}

func certIDString(id *azcertificates.ID) string {
	if id == nil {
		return ""
	}
	return string(*id)
}

// siblingURL replaces the version at the end of a certificate id with leaf, as az builds
// the pending and policy ids.
func siblingURL(id, leaf string) any {
	if id == "" {
		return nil
	}
	return id[:strings.LastIndexByte(id, '/')+1] + leaf
}

func certJSON(c azcertificates.Certificate) map[string]any {
	m := certPropsJSON(c.Attributes, c.ID, c.Tags, c.X509Thumbprint)
	delete(m, "subject")
	id := certIDString(c.ID)
	m["cer"], m["contentType"], m["kid"], m["sid"] = b64(c.CER), orNil(c.ContentType), nil, nil
	if c.KID != nil {
		m["kid"] = string(*c.KID)
	}
	if c.SID != nil {
		m["sid"] = string(*c.SID)
	}
	m["pending"] = map[string]any{"id": siblingURL(id, "pending")}
	m["policy"] = certPolicyJSON(c.Policy, siblingURL(id, "policy"))
	return m
}

func deletedCertJSON(d azcertificates.DeletedCertificate) map[string]any {
	m := certJSON(azcertificates.Certificate{
		Attributes: d.Attributes, CER: d.CER, ContentType: d.ContentType, Tags: d.Tags, ID: d.ID, KID: d.KID,
		Policy: d.Policy, SID: d.SID, X509Thumbprint: d.X509Thumbprint,
	})
	m["deletedDate"], m["recoveryId"], m["scheduledPurgeDate"] = azDate(d.DeletedDate), orNil(d.RecoveryID), azDate(d.ScheduledPurgeDate)
	return m
}

func deletedCertObject(d azcertificates.DeletedCertificate) *deletedObject {
	return deletedForm(deletedCertJSON(d), d.DeletedDate, d.ScheduledPurgeDate)
}

// certItemJSON is a list item: a version's properties.
func certItemJSON(p *azcertificates.CertificateProperties) map[string]any {
	return certPropsJSON(p.Attributes, p.ID, p.Tags, p.X509Thumbprint)
}

func deletedCertItemJSON(d *azcertificates.DeletedCertificateProperties) map[string]any {
	m := certPropsJSON(d.Attributes, d.ID, d.Tags, d.X509Thumbprint)
	delete(m, "subject")
	m["deletedDate"], m["recoveryId"], m["scheduledPurgeDate"] = azDate(d.DeletedDate), orNil(d.RecoveryID), azDate(d.ScheduledPurgeDate)
	return m
}

func strList[T ~string](l []*T) any {
	if l == nil {
		return nil
	}
	out := []string{}
	for _, v := range l {
		if v != nil {
			out = append(out, string(*v))
		}
	}
	return out
}

func certPolicyJSON(p *azcertificates.CertificatePolicy, id any) any {
	if p == nil {
		return nil
	}
	m := map[string]any{"attributes": certAttrsJSON(p.Attributes), "id": id}
	ip := p.IssuerParameters
	if ip == nil {
		ip = &azcertificates.IssuerParameters{}
	}
	m["issuerParameters"] = map[string]any{"certificateTransparency": orNil(ip.CertificateTransparency), "certificateType": orNil(ip.CertificateType), "name": orNil(ip.Name)}
	kp := p.KeyProperties
	if kp == nil {
		kp = &azcertificates.KeyProperties{}
	}
	m["keyProperties"] = map[string]any{"curve": orNil(kp.Curve), "exportable": orNil(kp.Exportable), "keySize": orNil(kp.KeySize), "keyType": orNil(kp.KeyType), "reuseKey": orNil(kp.ReuseKey)}
	actions := []any{}
	for _, a := range p.LifetimeActions {
		if a == nil {
			continue
		}
		var at any
		if a.Action != nil {
			at = orNil(a.Action.ActionType)
		}
		tr := map[string]any{"daysBeforeExpiry": nil, "lifetimePercentage": nil}
		if a.Trigger != nil {
			tr["daysBeforeExpiry"], tr["lifetimePercentage"] = orNil(a.Trigger.DaysBeforeExpiry), orNil(a.Trigger.LifetimePercentage)
		}
		actions = append(actions, map[string]any{"action": map[string]any{"actionType": at}, "trigger": tr})
	}
	m["lifetimeActions"] = actions
	var ct any
	if p.SecretProperties != nil {
		ct = orNil(p.SecretProperties.ContentType)
	}
	m["secretProperties"] = map[string]any{"contentType": ct}
	xp := p.X509CertificateProperties
	if xp == nil {
		xp = &azcertificates.X509CertificateProperties{}
	}
	var sans any
	if s := xp.SubjectAlternativeNames; s != nil && (s.DNSNames != nil || s.Emails != nil || s.UserPrincipalNames != nil) {
		sans = map[string]any{"dns_names": strList(s.DNSNames), "emails": strList(s.Emails), "upns": strList(s.UserPrincipalNames)}
	}
	m["x509CertificateProperties"] = map[string]any{
		"basic_constraints": map[string]any{"ca": false}, "ekus": strList(xp.EnhancedKeyUsage), "keyUsage": strList(xp.KeyUsage),
		"subject": orNil(xp.Subject), "subjectAlternativeNames": sans, "validityInMonths": orNil(xp.ValidityInMonths),
	}
	return m
}

func certOperationJSON(op azcertificates.CertificateOperation) map[string]any {
	m := map[string]any{
		"cancellationRequested": orNil(op.CancellationRequested), "csr": b64(op.CSR), "error": nil, "id": nil, "name": nil,
		"requestId": orNil(op.RequestID), "status": orNil(op.Status), "statusDetails": orNil(op.StatusDetails), "target": orNil(op.Target),
	}
	ip := op.IssuerParameters
	if ip == nil {
		ip = &azcertificates.IssuerParameters{}
	}
	m["issuerParameters"] = map[string]any{"certificateTransparency": orNil(ip.CertificateTransparency), "certificateType": orNil(ip.CertificateType), "name": orNil(ip.Name)}
	if op.Error != nil {
		var e map[string]any
		if json.Unmarshal([]byte(op.Error.Error()), &e) != nil {
			e = map[string]any{"code": op.Error.Code}
		}
		m["error"] = e
	}
	if op.ID != nil {
		id := string(*op.ID)
		m["id"] = id
		if segs := strings.Split(id, "/"); len(segs) > 4 {
			m["name"] = segs[4]
		}
	}
	return m
}

// The -o table columns of certificates: a list item; a certificate; a creation operation.
var (
	certItemColumns = columns{{"Name", "name"}, {"Enabled", "attributes.enabled"}, {"Expires", "attributes.expires"},
		{"Thumbprint", "x509ThumbprintHex"}, {"Id", "id"}}
	certColumns = columns{{"Name", "name"}, {"Subject", "policy.x509CertificateProperties.subject"}, {"Enabled", "attributes.enabled"},
		{"Expires", "attributes.expires"}, {"Thumbprint", "x509ThumbprintHex"}, {"Id", "id"}}
	certOperationColumns = columns{{"Name", "name"}, {"Status", "status"}, {"Issuer", "issuerParameters.name"},
		{"StatusDetails", "statusDetails"}, {"Target", "target"}}
)

// certificateKind is the row of certificates for the lifecycle verbs. A certificate's key
// and secret go with it: deleted, recovered, purged, backed up and restored.
var certificateKind = &kind{
	name:   kindCertificate,
	sample: "web",
	open:   bind((*client).certificatesClient, certificateCalls),

	itemColumns:    certItemColumns,
	showColumns:    certColumns,
	objectColumns:  certColumns,
	deletedColumns: deletedListColumns,

	listFlag:      "include-pending",
	listFlagUsage: "also list certificates whose creation is pending",

	purgeLong: `Remove a deleted certificate, with its key and secret and all versions, for good, and
free its name. This cannot be undone. Under purge protection the certificate cannot be
purged: the command says when Coffer purges it by itself.`,
	purgeQuestion: "with its key, its secret and all versions",

	help: map[string]cmdHelp{
		"show": {
			short: "Show a certificate with its policy (as az keyvault certificate show)",
			long: `Show a certificate's latest version, or --version, as az prints it. A deleted
certificate is reported with the date it will be purged and the commands that recover or
purge it.`,
			example: `  coffer certificate show --vault-name myvault --name web
  coffer certificate show --vault-name myvault -n web -o table`,
		},
		"delete":  {short: "Delete a certificate with its key and secret; it stays recoverable until its scheduledPurgeDate (as az keyvault certificate delete)"},
		"recover": {short: "Recover a deleted certificate with its key and secret (as az keyvault certificate recover)"},
		"purge":   {short: "Purge a deleted certificate, its key and secret for good; this cannot be undone (as az keyvault certificate purge)"},
		"backup":  {short: "Write a certificate's backup blob (with its key and secret) to a new file (as az keyvault certificate backup)"},
		"restore": {short: "Restore a certificate, with its key and secret, from a backup file (as az keyvault certificate restore)"},
	},
}

// certificateCalls are the lifecycle verbs' calls of azcertificates.
func certificateCalls(cc *azcertificates.Client) objectCalls {
	return objectCalls{
		get: func(ctx context.Context, name, version string) (map[string]any, error) {
			r, err := cc.GetCertificate(ctx, name, version, nil)
			return certJSON(r.Certificate), err
		},
		list: func(ctx context.Context, includePending bool, max maxResults) ([]map[string]any, error) {
			opts := &azcertificates.ListCertificatePropertiesOptions{}
			if includePending {
				opts.IncludePending = ptr(true)
			}
			return collect(ctx, cc.NewListCertificatePropertiesPager(opts), max, func(page azcertificates.ListCertificatePropertiesResponse) []map[string]any {
				return each(page.Value, certItemJSON)
			})
		},
		listVersions: func(ctx context.Context, name string, max maxResults) ([]map[string]any, error) {
			return collect(ctx, cc.NewListCertificatePropertiesVersionsPager(name, nil), max, func(page azcertificates.ListCertificatePropertiesVersionsResponse) []map[string]any {
				return each(page.Value, certItemJSON)
			})
		},
		listDeleted: func(ctx context.Context, max maxResults) ([]map[string]any, error) {
			return collect(ctx, cc.NewListDeletedCertificatePropertiesPager(nil), max, func(page azcertificates.ListDeletedCertificatePropertiesResponse) []map[string]any {
				return each(page.Value, deletedCertItemJSON)
			})
		},
		delete: func(ctx context.Context, name string) (*deletedObject, error) {
			r, err := cc.DeleteCertificate(ctx, name, nil)
			return deletedCertObject(r.DeletedCertificate), err
		},
		getDeleted: func(ctx context.Context, name string) (*deletedObject, error) {
			r, err := cc.GetDeletedCertificate(ctx, name, nil)
			return deletedCertObject(r.DeletedCertificate), err
		},
		recover: func(ctx context.Context, name string) (map[string]any, error) {
			r, err := cc.RecoverDeletedCertificate(ctx, name, nil)
			return certJSON(r.Certificate), err
		},
		purge: func(ctx context.Context, name string) error {
			_, err := cc.PurgeDeletedCertificate(ctx, name, nil)
			return err
		},
		backup: func(ctx context.Context, name string) ([]byte, error) {
			r, err := cc.BackupCertificate(ctx, name, nil)
			return r.Value, err
		},
		restore: func(ctx context.Context, blob []byte) (map[string]any, error) {
			r, err := cc.RestoreCertificate(ctx, azcertificates.RestoreCertificateParameters{CertificateBackup: blob}, nil)
			return certJSON(r.Certificate), err
		},
	}
}

// certPropFlags are --disabled and --tags of certificate create, import and pending merge.
type certPropFlags struct{ propFlags }

func (o *certPropFlags) AddFlags(fs *pflag.FlagSet, disabledUsage string) {
	o.attrFlags.fs = fs // parse asks it which flags were given
	fs.BoolVar(&o.Disabled, "disabled", false, disabledUsage)
	o.tagFlags.AddFlags(fs)
}

// parse returns the attributes (nil when none is given) and the tags.
func (o *certPropFlags) parse() (*azcertificates.CertificateAttributes, map[string]*string, error) {
	attrs, tags, err := o.propFlags.parse()
	if err != nil || attrs.Enabled == nil {
		return nil, tags, err
	}
	return &azcertificates.CertificateAttributes{Enabled: attrs.Enabled}, tags, nil
}

// defaultPolicy is az's `keyvault certificate get-default-policy`, in az's form.
const defaultPolicy = `{
  "issuerParameters": {"certificateTransparency": null, "name": "Self"},
  "keyProperties": {"curve": null, "exportable": true, "keySize": 2048, "keyType": "RSA", "reuseKey": true},
  "lifetimeActions": [{"action": {"actionType": "AutoRenew"}, "trigger": {"daysBeforeExpiry": 90}}],
  "secretProperties": {"contentType": "application/x-pkcs12"},
  "x509CertificateProperties": {
    "keyUsage": ["cRLSign", "dataEncipherment", "digitalSignature", "keyEncipherment", "keyAgreement", "keyCertSign"],
    "subject": "CN=CLIGetDefaultPolicy",
    "validityInMonths": 12
  }
}`

// azPolicy is a certificate policy in az's camelCase form (get-default-policy, the
// policy of certificate show), which --policy accepts besides the REST form.
type azPolicy struct {
	Attributes *struct {
		Enabled *bool `json:"enabled"`
	} `json:"attributes"`
	IssuerParameters *struct {
		CertificateTransparency *bool   `json:"certificateTransparency"`
		CertificateType         *string `json:"certificateType"`
		Name                    *string `json:"name"`
	} `json:"issuerParameters"`
	KeyProperties *struct {
		Curve      *string `json:"curve"`
		Exportable *bool   `json:"exportable"`
		KeySize    *int32  `json:"keySize"`
		KeyType    *string `json:"keyType"`
		ReuseKey   *bool   `json:"reuseKey"`
	} `json:"keyProperties"`
	LifetimeActions []struct {
		Action *struct {
			ActionType *string `json:"actionType"`
		} `json:"action"`
		Trigger *struct {
			DaysBeforeExpiry   *int32 `json:"daysBeforeExpiry"`
			LifetimePercentage *int32 `json:"lifetimePercentage"`
		} `json:"trigger"`
	} `json:"lifetimeActions"`
	SecretProperties *struct {
		ContentType *string `json:"contentType"`
	} `json:"secretProperties"`
	X509CertificateProperties *struct {
		Ekus                    []*string `json:"ekus"`
		KeyUsage                []*string `json:"keyUsage"`
		Subject                 *string   `json:"subject"`
		SubjectAlternativeNames *struct {
			DNSNames  []*string `json:"dnsNames"`
			DNSNames2 []*string `json:"dns_names"`
			Emails    []*string `json:"emails"`
			UPNs      []*string `json:"upns"`
		} `json:"subjectAlternativeNames"`
		ValidityInMonths *int32 `json:"validityInMonths"`
	} `json:"x509CertificateProperties"`
}

func (a azPolicy) policy() *azcertificates.CertificatePolicy {
	p := &azcertificates.CertificatePolicy{}
	if a.Attributes != nil {
		p.Attributes = &azcertificates.CertificateAttributes{Enabled: a.Attributes.Enabled}
	}
	if ip := a.IssuerParameters; ip != nil {
		p.IssuerParameters = &azcertificates.IssuerParameters{CertificateTransparency: ip.CertificateTransparency, CertificateType: ip.CertificateType, Name: ip.Name}
	}
	if kp := a.KeyProperties; kp != nil {
		p.KeyProperties = &azcertificates.KeyProperties{Exportable: kp.Exportable, KeySize: kp.KeySize, ReuseKey: kp.ReuseKey}
		if kp.Curve != nil {
			p.KeyProperties.Curve = ptr(azcertificates.CurveName(*kp.Curve))
		}
		if kp.KeyType != nil {
			p.KeyProperties.KeyType = ptr(azcertificates.KeyType(*kp.KeyType))
		}
	}
	for _, la := range a.LifetimeActions {
		out := &azcertificates.LifetimeAction{}
		if la.Action != nil && la.Action.ActionType != nil {
			out.Action = &azcertificates.LifetimeActionType{ActionType: ptr(azcertificates.CertificatePolicyAction(*la.Action.ActionType))}
		}
		if la.Trigger != nil {
			out.Trigger = &azcertificates.LifetimeActionTrigger{DaysBeforeExpiry: la.Trigger.DaysBeforeExpiry, LifetimePercentage: la.Trigger.LifetimePercentage}
		}
		p.LifetimeActions = append(p.LifetimeActions, out)
	}
	if sp := a.SecretProperties; sp != nil {
		p.SecretProperties = &azcertificates.SecretProperties{ContentType: sp.ContentType}
	}
	if xp := a.X509CertificateProperties; xp != nil {
		x := &azcertificates.X509CertificateProperties{EnhancedKeyUsage: xp.Ekus, Subject: xp.Subject, ValidityInMonths: xp.ValidityInMonths}
		for _, u := range xp.KeyUsage {
			if u != nil {
				x.KeyUsage = append(x.KeyUsage, ptr(azcertificates.KeyUsageType(*u)))
			}
		}
		if s := xp.SubjectAlternativeNames; s != nil {
			x.SubjectAlternativeNames = &azcertificates.SubjectAlternativeNames{DNSNames: append(s.DNSNames, s.DNSNames2...), Emails: s.Emails, UserPrincipalNames: s.UPNs}
		}
		p.X509CertificateProperties = x
	}
	return p
}

// parsePolicy reads --policy: JSON text, a file holding it, or @FILE; in az's form (as
// get-default-policy prints it) or in the REST form (issuer, key_props, x509_props, …).
func parsePolicy(s string) (*azcertificates.CertificatePolicy, error) {
	text := strings.TrimSpace(s)
	if strings.HasPrefix(text, "@") || !strings.HasPrefix(text, "{") {
		b, err := os.ReadFile(strings.TrimPrefix(text, "@"))
		if err != nil {
			return nil, &hintError{code: exitUsage, err: fmt.Errorf("--policy is neither JSON nor a readable file: %w", err),
				hints: []string{"coffer certificate get-default-policy > policy.json, edit it, then --policy @policy.json"}}
		}
		text = string(b)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &keys); err != nil {
		return nil, &hintError{code: exitUsage, err: fmt.Errorf("--policy is not a JSON object: %w", err),
			hints: []string{"coffer certificate get-default-policy prints one to start from"}}
	}
	for _, k := range []string{"issuer", "key_props", "x509_props", "secret_props", "lifetime_actions"} {
		if _, ok := keys[k]; ok {
			var p azcertificates.CertificatePolicy
			if err := json.Unmarshal([]byte(text), &p); err != nil {
				return nil, fmt.Errorf("--policy: %w", err)
			}
			return &p, nil
		}
	}
	var a azPolicy
	if err := json.Unmarshal([]byte(text), &a); err != nil {
		return nil, fmt.Errorf("--policy: %w", err)
	}
	if a.IssuerParameters == nil && a.X509CertificateProperties == nil && a.KeyProperties == nil && a.SecretProperties == nil {
		return nil, &hintError{code: exitUsage, err: errors.New("--policy names no issuerParameters, keyProperties, secretProperties or x509CertificateProperties"),
			hints: []string{"coffer certificate get-default-policy prints a policy to start from"}}
	}
	return a.policy(), nil
}
