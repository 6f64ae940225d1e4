package vault

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coffer/coffer/internal/certs"
	"github.com/coffer/coffer/internal/keyops"
	"github.com/coffer/coffer/internal/storage"
)

// A certificate owns a key and a secret of the same name, with the same version ids, as
// in Azure Key Vault: the key holds the private key, the secret the whole certificate
// (PKCS#12 or PEM, per the policy). They are "managed": only the certificate's own
// operations change them, and they share its lifecycle (delete, recover, purge, backup).

// CertificateVersion is one stored version of a certificate.
type CertificateVersion struct {
	ID    string   `json:"id"`
	CER   []byte   `json:"cer"`             // DER of the leaf
	Chain [][]byte `json:"chain,omitempty"` // DER of the issuers, leaf excluded
	Attributes
}

// CertPolicy is a certificate's policy with its dates.
type CertPolicy struct {
	certs.Policy
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// certificateKind is the engine for certificates: the key and secret behind one go with
// it through the lifecycle, its renewal is scheduled again when it is recovered, and its
// issuance operation goes when it is purged.
var certificateKind = objectKind[CertificateVersion, *CertificateVersion, Certificate]{
	&kindRules{kind: KindCertificate, linked: []Kind{KindKey, KindSecret}, reschedule: rescheduleCertificate, purged: deleteOperation},
	newCertificate,
}

// Certificates is the request's handle on the vault's certificates for the operations every kind shares
// (list, delete, recover, purge, backup, restore, …; see Objects).
func (s Request) Certificates() Objects[Certificate] { return Objects[Certificate]{s, certificateKind} }

// Certificate is a certificate version as the API shows it.
type Certificate struct {
	Vault  Vault
	Object Object
	CertificateVersion
}

func newCertificate(v Vault, o Object, ver CertificateVersion) Certificate {
	return Certificate{Vault: v, Object: o, CertificateVersion: ver}
}

// Policy decodes the certificate's policy. Stored policies are encoded by this package
// from a normalised certs.Policy, so they decode; a damaged one reads as the zero policy.
func (c Certificate) Policy() CertPolicy {
	p, _ := certPolicy(&c.Object)
	return p
}

func certPolicy(o *Object) (CertPolicy, error) {
	var p CertPolicy
	if len(o.Policy) == 0 {
		return p, nil
	}
	err := json.Unmarshal(o.Policy, &p)
	return p, err
}

// CertOperation is a certificate's pending (or finished) issuance.
type CertOperation struct {
	Name                  string            `json:"name"`
	RequestID             string            `json:"requestId"`
	Issuer                string            `json:"issuer"`
	CSR                   []byte            `json:"csr"`
	Status                string            `json:"status"` // inProgress, completed, failed, cancelled
	StatusDetails         string            `json:"statusDetails,omitempty"`
	ErrorCode             string            `json:"errorCode,omitempty"`
	ErrorMessage          string            `json:"errorMessage,omitempty"`
	CancellationRequested bool              `json:"cancellationRequested,omitempty"`
	Key                   *keyops.JWK       `json:"key,omitempty"` // the pending request's private key
	Tags                  map[string]string `json:"tags,omitempty"`
	Enabled               *bool             `json:"enabled,omitempty"`
}

const pendingDetails = "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later."

func opKey(v, name string) string { return "v/" + lower(v) + "/certificate/op/" + lower(name) }

func certError(name string, err error) error {
	if errors.Is(err, certs.ErrInvalid) || errors.Is(err, keyops.ErrInvalid) {
		return &Error{Kind: ErrBadParameter, ObjectKind: KindCertificate, Name: name, Detail: err.Error()}
	}
	return err
}

// CertParams are the inputs of create, import and merge besides the material.
type CertParams struct {
	Tags    map[string]string
	Enabled *bool
}

// reserveCertName checks that name can be a certificate: not a deleted certificate, and
// not a plain (unmanaged) key or secret.
func reserveCertName(tx storage.Tx, vlt Vault, name string, now time.Time) error {
	if err := reserveName(tx, vlt, KindCertificate, name, now); err != nil {
		return err
	}
	for _, k := range []Kind{KindKey, KindSecret} {
		if err := reserveName(tx, vlt, k, name, now); err != nil {
			return err
		}
		o, err := liveObject(tx, vlt.Name, k, name)
		if err == nil && !o.Managed {
			return &Error{Kind: ErrAlreadyExists, ObjectKind: k, Name: name,
				Detail: fmt.Sprintf("A %s named %s exists and is not managed by a certificate; a certificate needs its name for its own key and secret. Delete and purge the %s, or choose another name.", k, name, k)}
		}
	}
	return nil
}

// CreateCertificate starts an issuance from policy. Issuer "Self" completes at once;
// "Unknown" waits for a merge of a certificate signed elsewhere; other issuers fail.
func (s Request) CreateCertificate(ctx context.Context, vaultName, name string, p certs.Policy, cp CertParams) (CertOperation, error) {
	if err := checkName(KindCertificate, name); err != nil {
		return CertOperation{}, err
	}
	if err := checkTags(KindCertificate, name, cp.Tags); err != nil {
		return CertOperation{}, err
	}
	if err := p.Normalize(); err != nil {
		return CertOperation{}, certError(name, err)
	}
	var op CertOperation
	err := s.inVault(ctx, true, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		if err := reserveCertName(tx, vlt, name, now); err != nil {
			return err
		}
		key, err := s.certKey(tx, vlt, name, p)
		if err != nil {
			return certError(name, err)
		}
		csr, err := certs.CSR(p, key.Signer())
		if err != nil {
			return certError(name, err)
		}
		op = CertOperation{Name: name, RequestID: newVersionID(), Issuer: p.IssuerName, CSR: csr, Status: "inProgress",
			StatusDetails: pendingDetails, Tags: cp.Tags, Enabled: cp.Enabled}
		switch {
		case equalFold(p.IssuerName, "Self"):
			der, err := certs.SelfSigned(p, key.Signer(), now)
			if err != nil {
				return certError(name, err)
			}
			leaf, err := x509.ParseCertificate(der)
			if err != nil {
				return err
			}
			if _, err := s.putCertVersionTx(tx, vlt, name, p, key, []*x509.Certificate{leaf}, cp, now); err != nil {
				return err
			}
			op.Status, op.StatusDetails = "completed", ""
		case equalFold(p.IssuerName, "Unknown"):
			j := key.Private()
			op.Key = &j
			if _, err := s.setPolicyTx(tx, vlt, name, p, now); err != nil {
				return err
			}
		default:
			op.Status, op.StatusDetails = "failed", ""
			op.ErrorCode, op.ErrorMessage = "BadParameter", fmt.Sprintf("Issuer %q is not available: Coffer issues with \"Self\" or, for certificates signed elsewhere, \"Unknown\" followed by a merge.", p.IssuerName)
			if _, err := s.setPolicyTx(tx, vlt, name, p, now); err != nil {
				return err
			}
		}
		return tx.Put(opKey(vlt.Name, name), mustJSON(op))
	})
	op.Key = nil
	if op.Status == "completed" {
		// Azure answers a create with the operation in progress even when it will be
		// quick; clients then poll GET …/pending, which already says completed.
		op.Status, op.StatusDetails = "inProgress", pendingDetails
	}
	return op, err
}

func equalFold(a, b string) bool { return lower(a) == lower(b) }

// certKey returns the key for a new version: the current one under reuse_key, else new.
func (s *Service) certKey(tx storage.Tx, vlt Vault, name string, p certs.Policy) (*keyops.Key, error) {
	if p.ReuseKey {
		if o, err := liveObject(tx, vlt.Name, KindKey, name); err == nil && o.Managed {
			ver, err := getVersion[KeyVersion](tx, vlt.Name, o, "")
			if err == nil {
				return s.keyMaterial(ver)
			}
		}
	}
	kty, size, crv := certs.KeyParams(p)
	return keyops.Generate(kty, size, 0, crv)
}

// setPolicyTx stores the policy on the certificate head, creating a head without
// versions when the certificate has none yet (a pending first issuance), and returns it.
func (s *Service) setPolicyTx(tx storage.Tx, vlt Vault, name string, p certs.Policy, now time.Time) (*Object, error) {
	o, err := liveObject(tx, vlt.Name, KindCertificate, name)
	if errors.Is(err, ErrNotFound) {
		o, err = &Object{Kind: KindCertificate, Name: name}, nil
	}
	if err != nil {
		return nil, err
	}
	old, err := certPolicy(o)
	if err != nil {
		return nil, err
	}
	cp := CertPolicy{Policy: p}
	cp.Created, cp.Updated = policyDates(old.Created, now)
	o.Policy = mustJSON(cp)
	return o, tx.Put(liveKey(vlt.Name, KindCertificate, name), mustJSON(o))
}

// policyDates are the created and updated dates of a policy that replaces one created at
// created (zero when there was none).
func policyDates(created, now time.Time) (time.Time, time.Time) {
	if created.IsZero() {
		created = now
	}
	return created, now
}

// putCertVersionTx stores a new version of the certificate with its key and secret (same
// version id) and schedules its lifetime actions.
func (s *Service) putCertVersionTx(tx storage.Tx, vlt Vault, name string, p certs.Policy, key *keyops.Key, chain []*x509.Certificate, cp CertParams, now time.Time) (CertificateVersion, error) {
	o, err := s.setPolicyTx(tx, vlt, name, p, now)
	if err != nil {
		return CertificateVersion{}, err
	}
	leaf := chain[0]
	ver := CertificateVersion{ID: newVersionID(), CER: leaf.Raw, Attributes: newAttributes(attrs{cp.Tags, cp.Enabled, &leaf.NotBefore, &leaf.NotAfter}, now)}
	for _, c := range chain[1:] {
		ver.Chain = append(ver.Chain, c.Raw)
	}
	if err := putVersionTx(tx, vlt.Name, o, ver.ID, mustJSON(ver)); err != nil {
		return ver, err
	}

	// The backing key and secret: same name, same version id, managed.
	signer := key.Signer()
	if p.Exportable != nil && !*p.Exportable {
		signer = nil
	}
	value, err := certs.EncodeSecret(p.ContentType, signer, chain)
	if err != nil {
		return ver, certError(name, err)
	}
	backing := ver.Attributes // the certificate's dates and enabled flag; tags are its own
	backing.Tags = nil
	kv := KeyVersion{ID: ver.ID, JWK: key.Private(), Ops: key.DefaultOps(), Attributes: backing}
	sv := SecretVersion{ID: ver.ID, Value: value, ContentType: p.ContentType, Attributes: backing}
	for kind, rec := range map[Kind]any{KindKey: kv, KindSecret: sv} {
		h, err := liveObject(tx, vlt.Name, kind, name)
		if errors.Is(err, ErrNotFound) {
			h, err = &Object{Kind: kind, Name: name}, nil
		}
		if err != nil {
			return ver, err
		}
		h.Managed = true
		if err := putVersionTx(tx, vlt.Name, h, ver.ID, mustJSON(rec)); err != nil {
			return ver, err
		}
	}
	return ver, scheduleRenewal(tx, vlt.Name, name, p, ver)
}

// GetCertificateOperation returns the certificate's issuance operation.
func (s Request) GetCertificateOperation(ctx context.Context, vaultName, name string) (CertOperation, error) {
	if err := checkName(KindCertificate, name); err != nil {
		return CertOperation{}, err
	}
	return s.onOperation(ctx, false, vaultName, name, nil)
}

// CancelCertificateOperation requests cancellation of a pending issuance.
func (s Request) CancelCertificateOperation(ctx context.Context, vaultName, name string) (CertOperation, error) {
	return s.onOperation(ctx, true, vaultName, name, func(tx storage.Tx, key string, op *CertOperation) error {
		op.CancellationRequested = true
		if op.Status == "inProgress" {
			op.Status, op.StatusDetails, op.Key = "cancelled", "", nil
		}
		return tx.Put(key, mustJSON(op))
	})
}

// DeleteCertificateOperation removes the operation record (and a pending request's key).
func (s Request) DeleteCertificateOperation(ctx context.Context, vaultName, name string) (CertOperation, error) {
	return s.onOperation(ctx, true, vaultName, name, deleteRecord[CertOperation])
}

// onOperation is onRecord for a certificate's issuance operation; the answer never
// carries the pending request's key.
func (s Request) onOperation(ctx context.Context, write bool, vaultName, name string, fn func(storage.Tx, string, *CertOperation) error) (CertOperation, error) {
	op, err := onRecord(s, ctx, write, vaultName, func(v string) string { return opKey(v, name) }, noOperation(name), fn)
	op.Key = nil
	return op, err
}

func getOp(tx storage.Tx, vlt Vault, name string) (CertOperation, error) {
	return getRecord[CertOperation](tx, opKey(vlt.Name, name), noOperation(name))
}

func noOperation(name string) error {
	return &Error{Kind: ErrNoOperation, ObjectKind: KindCertificate, Name: name}
}

// MergeCertificate completes a pending "Unknown"-issuer request with the certificate
// (and chain) signed elsewhere; its public key must match the request's.
func (s Request) MergeCertificate(ctx context.Context, vaultName, name string, x5c [][]byte, cp CertParams) (Certificate, error) {
	var out Certificate
	err := s.inVault(ctx, true, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		op, err := getOp(tx, vlt, name)
		if err != nil {
			return err
		}
		if op.Status != "inProgress" || op.Key == nil {
			return &Error{Kind: ErrBadParameter, ObjectKind: KindCertificate, Name: name,
				Detail: fmt.Sprintf("Certificate %s has no pending request to merge (its operation is %s).", name, op.Status)}
		}
		chain, err := certs.CheckMerge(op.CSR, x5c)
		if err != nil {
			return certError(name, err)
		}
		key, err := keyops.Import(*op.Key)
		if err != nil {
			return err
		}
		o, err := liveObject(tx, vlt.Name, KindCertificate, name)
		if err != nil {
			return err
		}
		pol, err := certPolicy(o)
		if err != nil {
			return err
		}
		if cp.Tags == nil {
			cp.Tags = op.Tags
		}
		if cp.Enabled == nil {
			cp.Enabled = op.Enabled
		}
		ver, err := s.putCertVersionTx(tx, vlt, name, pol.Policy, key, chain, cp, now)
		if err != nil {
			return err
		}
		op.Status, op.StatusDetails, op.Key = "completed", "", nil
		if err := tx.Put(opKey(vlt.Name, name), mustJSON(op)); err != nil {
			return err
		}
		if o, err = liveObject(tx, vlt.Name, KindCertificate, name); err != nil {
			return err
		}
		out = newCertificate(vlt, *o, ver)
		return nil
	})
	return out, err
}

// ImportCertificate stores a PKCS#12 or PEM certificate with its private key as a new
// version. policy may be nil: it is then derived from the certificate.
func (s Request) ImportCertificate(ctx context.Context, vaultName, name, value, password string, policy *certs.Policy, cp CertParams) (Certificate, error) {
	if err := checkName(KindCertificate, name); err != nil {
		return Certificate{}, err
	}
	if err := checkTags(KindCertificate, name, cp.Tags); err != nil {
		return Certificate{}, err
	}
	contentType := ""
	if policy != nil {
		contentType = policy.ContentType
	}
	signer, chain, detected, err := certs.ParseImport(value, password, contentType)
	if err != nil {
		return Certificate{}, certError(name, err)
	}
	key, err := certs.KeyFromSigner(signer, "")
	if err != nil {
		return Certificate{}, certError(name, err)
	}
	p := certs.PolicyFromCertificate(chain[0], true, detected)
	if policy != nil {
		merged := *policy
		if merged.Subject == "" {
			merged.Subject = p.Subject
		}
		if merged.IssuerName == "" {
			merged.IssuerName = "Unknown"
		}
		fillImportKey(&merged, p)
		if err := merged.Normalize(); err != nil {
			return Certificate{}, certError(name, err)
		}
		if err := checkImportKey(name, merged, p); err != nil {
			return Certificate{}, err
		}
		p = merged
	}
	var out Certificate
	err = s.inVault(ctx, true, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		if err := reserveCertName(tx, vlt, name, now); err != nil {
			return err
		}
		ver, err := s.putCertVersionTx(tx, vlt, name, p, key, chain, cp, now)
		if err != nil {
			return err
		}
		o, err := liveObject(tx, vlt.Name, KindCertificate, name)
		if err != nil {
			return err
		}
		out = newCertificate(vlt, *o, ver)
		return nil
	})
	return out, err
}

// fillImportKey gives the policy of an import the key properties it leaves out from
// those of the key imported (key, from certs.PolicyFromCertificate): a policy that names
// no key type takes the key's, and one of the key's family its size (RSA) or its curve
// (EC), so that the policy recorded describes the key it holds.
func fillImportKey(p *certs.Policy, key certs.Policy) {
	if p.KeyType == "" && p.Curve == "" {
		p.KeyType = key.KeyType
	}
	if p.KeyType == "" || keyFamily(p.KeyType) != keyFamily(key.KeyType) {
		return // checkImportKey refuses what Normalize makes of it, if it differs
	}
	switch keyFamily(key.KeyType) {
	case certs.KtyRSA:
		if p.KeySize == 0 {
			p.KeySize = key.KeySize
		}
	case certs.KtyEC:
		if p.Curve == "" && p.KeySize == 0 {
			p.Curve, p.KeySize = key.Curve, key.KeySize
		}
	}
}

// checkImportKey refuses the normalized policy of an import whose key properties
// contradict the key imported.
func checkImportKey(name string, p, key certs.Policy) error {
	fam := keyFamily(key.KeyType)
	if fam == "" || keyFamily(p.KeyType) == fam && (fam == certs.KtyRSA && p.KeySize == key.KeySize || fam == certs.KtyEC && p.Curve == key.Curve) {
		return nil
	}
	return &Error{Kind: ErrBadParameter, ObjectKind: KindCertificate, Name: name,
		Detail: fmt.Sprintf("The policy's key_props (%s) do not match the certificate's key (%s); leave them out to take the certificate's.", keyProps(p), keyProps(key))}
}

// keyFamily is RSA or EC for a certificate key type, HSM or not ("" for another).
func keyFamily(kty string) string {
	switch lower(kty) {
	case lower(certs.KtyRSA), lower(certs.KtyRSAHSM):
		return certs.KtyRSA
	case lower(certs.KtyEC), lower(certs.KtyECHSM):
		return certs.KtyEC
	}
	return ""
}

// keyProps describes the key properties of a normalized policy.
func keyProps(p certs.Policy) string {
	if keyFamily(p.KeyType) == certs.KtyEC {
		return fmt.Sprintf("kty %s, crv %s", p.KeyType, p.Curve)
	}
	return fmt.Sprintf("kty %s, key_size %d", p.KeyType, p.KeySize)
}

// GetCertificate returns a version of a live certificate ("" for the latest).
func (s Request) GetCertificate(ctx context.Context, vaultName, name, version string) (Certificate, error) {
	return certificateKind.get(s, ctx, vaultName, name, version)
}

// UpdateCertificate changes a version's enabled flag and tags (and the enabled flag of
// its key and secret versions) and, when policy is set, replaces the certificate's policy
// with policy applied to it (as UpdateCertificatePolicy): both in one transaction, so a
// refused change leaves everything as it was.
func (s Request) UpdateCertificate(ctx context.Context, vaultName, name, version string, cp CertParams, policy func(*certs.Policy)) (Certificate, error) {
	if err := checkName(KindCertificate, name); err != nil {
		return Certificate{}, err
	}
	if err := checkTags(KindCertificate, name, cp.Tags); err != nil {
		return Certificate{}, err
	}
	return certificateKind.update(s, ctx, vaultName, name, version, attrs{tags: cp.Tags, enabled: cp.Enabled},
		func(tx storage.Tx, vlt Vault, o *Object, ver *CertificateVersion, now time.Time) error {
			if policy != nil {
				if err := s.updatePolicyTx(tx, vlt, o, policy, now); err != nil {
					return err
				}
			}
			if cp.Enabled == nil {
				return nil
			}
			a := attrs{enabled: cp.Enabled}
			if err := updateAttributes[KeyVersion](tx, versionKey(vlt.Name, KindKey, o.Name, ver.ID), a, now); err != nil {
				return err
			}
			return updateAttributes[SecretVersion](tx, versionKey(vlt.Name, KindSecret, o.Name, ver.ID), a, now)
		})
}

// GetCertificatePolicy returns a live certificate's policy.
func (s Request) GetCertificatePolicy(ctx context.Context, vaultName, name string) (CertPolicy, error) {
	return onPolicy(s, ctx, vaultName, KindCertificate, name, "", certPolicy, nil)
}

// UpdateCertificatePolicy replaces a live certificate's policy with update applied to
// the current one (the caller merges the sections it was given).
func (s Request) UpdateCertificatePolicy(ctx context.Context, vaultName, name string, update func(*certs.Policy)) (CertPolicy, error) {
	return onPolicy(s, ctx, vaultName, KindCertificate, name, "", certPolicy,
		func(tx storage.Tx, vlt Vault, o *Object, cur CertPolicy, now time.Time) (CertPolicy, error) {
			if err := s.updatePolicyTx(tx, vlt, o, update, now); err != nil {
				return cur, err
			}
			return certPolicy(o)
		})
}

// updatePolicyTx replaces the policy of the live certificate o with update applied to
// it, in o and in storage, and schedules the certificate's lifetime actions again when
// it has a version.
func (s *Service) updatePolicyTx(tx storage.Tx, vlt Vault, o *Object, update func(*certs.Policy), now time.Time) error {
	cur, err := certPolicy(o)
	if err != nil {
		return err
	}
	p := cur.Policy
	update(&p)
	if err := p.Normalize(); err != nil {
		return certError(o.Name, err)
	}
	n, err := s.setPolicyTx(tx, vlt, o.Name, p, now)
	if err != nil {
		return err
	}
	*o = *n
	if o.Latest == "" {
		return nil
	}
	return rescheduleCertificate(tx, vlt, o, now)
}

// rescheduleCertificate schedules a certificate's lifetime actions from its policy and
// latest version.
func rescheduleCertificate(tx storage.Tx, vlt Vault, o *Object, _ time.Time) error {
	pol, err := certPolicy(o)
	if err != nil {
		return err
	}
	ver, err := getVersion[CertificateVersion](tx, vlt.Name, o, "")
	if err != nil {
		return err
	}
	return scheduleRenewal(tx, vlt.Name, o.Name, pol.Policy, ver)
}

// deleteOperation removes a purged certificate's issuance operation.
func deleteOperation(tx storage.Tx, vaultName, name string) error {
	return tx.Delete(opKey(vaultName, name))
}
