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
	"github.com/coffer/coffer/internal/ledger"
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
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
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
			if err := s.setPolicyTx(tx, vlt, name, p, now); err != nil {
				return err
			}
		default:
			op.Status, op.StatusDetails = "failed", ""
			op.ErrorCode, op.ErrorMessage = "BadParameter", fmt.Sprintf("Issuer %q is not available: Coffer issues with \"Self\" or, for certificates signed elsewhere, \"Unknown\" followed by a merge.", p.IssuerName)
			if err := s.setPolicyTx(tx, vlt, name, p, now); err != nil {
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
// versions when the certificate has none yet (a pending first issuance).
func (s *Service) setPolicyTx(tx storage.Tx, vlt Vault, name string, p certs.Policy, now time.Time) error {
	o, err := liveObject(tx, vlt.Name, KindCertificate, name)
	if errors.Is(err, ErrNotFound) {
		o, err = &Object{Kind: KindCertificate, Name: name}, nil
	}
	if err != nil {
		return err
	}
	old, err := certPolicy(o)
	if err != nil {
		return err
	}
	cp := CertPolicy{Policy: p, Created: old.Created, Updated: now}
	if cp.Created.IsZero() {
		cp.Created = now
	}
	o.Policy = mustJSON(cp)
	return tx.Put(liveKey(vlt.Name, KindCertificate, name), mustJSON(o))
}

// putCertVersionTx stores a new version of the certificate with its key and secret (same
// version id) and schedules its lifetime actions.
func (s *Service) putCertVersionTx(tx storage.Tx, vlt Vault, name string, p certs.Policy, key *keyops.Key, chain []*x509.Certificate, cp CertParams, now time.Time) (CertificateVersion, error) {
	if err := s.setPolicyTx(tx, vlt, name, p, now); err != nil {
		return CertificateVersion{}, err
	}
	o, err := liveObject(tx, vlt.Name, KindCertificate, name)
	if err != nil {
		return CertificateVersion{}, err
	}
	leaf := chain[0]
	ver := CertificateVersion{ID: newVersionID(), CER: leaf.Raw, Attributes: newAttributes(attrs{cp.Tags, cp.Enabled, &leaf.NotBefore, &leaf.NotAfter}, now)}
	for _, c := range chain[1:] {
		ver.Chain = append(ver.Chain, c.Raw)
	}
	o.Latest, o.Versions = ver.ID, o.Versions+1
	if err := tx.Put(versionKey(vlt.Name, KindCertificate, name, ver.ID), mustJSON(ver)); err != nil {
		return ver, err
	}
	if err := tx.Put(liveKey(vlt.Name, KindCertificate, name), mustJSON(o)); err != nil {
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
		h.Managed, h.Latest, h.Versions = true, ver.ID, h.Versions+1
		if err := tx.Put(versionKey(vlt.Name, kind, name, ver.ID), mustJSON(rec)); err != nil {
			return ver, err
		}
		if err := tx.Put(liveKey(vlt.Name, kind, name), mustJSON(h)); err != nil {
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
	var op CertOperation
	err := s.st.View(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		op, err = getOp(tx, vlt, name)
		return err
	})
	op.Key = nil
	return op, err
}

func getOp(tx storage.Tx, vlt Vault, name string) (CertOperation, error) {
	var op CertOperation
	err := getJSON(tx, opKey(vlt.Name, name), &op)
	if errors.Is(err, storage.ErrNotFound) {
		return op, &Error{Kind: ErrNoOperation, ObjectKind: KindCertificate, Name: name}
	}
	return op, err
}

// CancelCertificateOperation requests cancellation of a pending issuance.
func (s Request) CancelCertificateOperation(ctx context.Context, vaultName, name string) (CertOperation, error) {
	var op CertOperation
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		if op, err = getOp(tx, vlt, name); err != nil {
			return err
		}
		op.CancellationRequested = true
		if op.Status == "inProgress" {
			op.Status, op.StatusDetails, op.Key = "cancelled", "", nil
		}
		return tx.Put(opKey(vlt.Name, name), mustJSON(op))
	})
	op.Key = nil
	return op, err
}

// DeleteCertificateOperation removes the operation record (and a pending request's key).
func (s Request) DeleteCertificateOperation(ctx context.Context, vaultName, name string) (CertOperation, error) {
	var op CertOperation
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		if op, err = getOp(tx, vlt, name); err != nil {
			return err
		}
		return tx.Delete(opKey(vlt.Name, name))
	})
	op.Key = nil
	return op, err
}

// MergeCertificate completes a pending "Unknown"-issuer request with the certificate
// (and chain) signed elsewhere; its public key must match the request's.
func (s Request) MergeCertificate(ctx context.Context, vaultName, name string, x5c [][]byte, cp CertParams) (Certificate, error) {
	var out Certificate
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
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
		p = merged
		if err := p.Normalize(); err != nil {
			return Certificate{}, certError(name, err)
		}
	}
	var out Certificate
	err = s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
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

// GetCertificate returns a version of a live certificate ("" for the latest).
func (s Request) GetCertificate(ctx context.Context, vaultName, name, version string) (Certificate, error) {
	if err := checkName(KindCertificate, name); err != nil {
		return Certificate{}, err
	}
	var out Certificate
	err := s.st.View(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		o, err := liveCertificate(tx, vlt, name)
		if err != nil {
			return err
		}
		ver, err := getVersion[CertificateVersion](tx, vlt.Name, o, version)
		out = newCertificate(vlt, *o, ver)
		return err
	})
	return out, err
}

// liveCertificate is liveObject for certificates that have at least one version (a
// first issuance still pending has a head with a policy but nothing to show).
func liveCertificate(tx storage.Tx, vlt Vault, name string) (*Object, error) {
	o, err := liveObject(tx, vlt.Name, KindCertificate, name)
	if err == nil && o.Latest == "" {
		return nil, &Error{Kind: ErrNotFound, ObjectKind: KindCertificate, Name: name}
	}
	return o, err
}

// UpdateCertificate changes a version's enabled flag and tags (and those of its key and
// secret versions).
func (s Request) UpdateCertificate(ctx context.Context, vaultName, name, version string, cp CertParams) (Certificate, error) {
	if err := checkName(KindCertificate, name); err != nil {
		return Certificate{}, err
	}
	if err := checkTags(KindCertificate, name, cp.Tags); err != nil {
		return Certificate{}, err
	}
	var out Certificate
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		o, err := liveCertificate(tx, vlt, name)
		if err != nil {
			return err
		}
		ver, err := getVersion[CertificateVersion](tx, vlt.Name, o, version)
		if err != nil {
			return err
		}
		ver.update(attrs{tags: cp.Tags, enabled: cp.Enabled}, now)
		if cp.Enabled != nil {
			if err := setLinkedEnabled(tx, vlt, name, ver.ID, *cp.Enabled, now); err != nil {
				return err
			}
		}
		if err := tx.Put(versionKey(vlt.Name, KindCertificate, o.Name, ver.ID), mustJSON(ver)); err != nil {
			return err
		}
		out = newCertificate(vlt, *o, ver)
		return nil
	})
	return out, err
}

func setLinkedEnabled(tx storage.Tx, vlt Vault, name, id string, enabled bool, now time.Time) error {
	var kv KeyVersion
	if err := getJSON(tx, versionKey(vlt.Name, KindKey, name, id), &kv); err == nil {
		kv.update(attrs{enabled: &enabled}, now)
		if err := tx.Put(versionKey(vlt.Name, KindKey, name, id), mustJSON(kv)); err != nil {
			return err
		}
	}
	var sv SecretVersion
	if err := getJSON(tx, versionKey(vlt.Name, KindSecret, name, id), &sv); err == nil {
		sv.update(attrs{enabled: &enabled}, now)
		return tx.Put(versionKey(vlt.Name, KindSecret, name, id), mustJSON(sv))
	}
	return nil
}

// GetCertificatePolicy returns a live certificate's policy.
func (s Request) GetCertificatePolicy(ctx context.Context, vaultName, name string) (CertPolicy, error) {
	if err := checkName(KindCertificate, name); err != nil {
		return CertPolicy{}, err
	}
	var out CertPolicy
	err := s.onLive(ctx, false, vaultName, KindCertificate, name, "", func(tx storage.Tx, vlt Vault, o *Object) error {
		var err error
		out, err = certPolicy(o)
		return err
	})
	return out, err
}

// UpdateCertificatePolicy replaces a live certificate's policy with update applied to
// the current one (the caller merges the sections it was given).
func (s Request) UpdateCertificatePolicy(ctx context.Context, vaultName, name string, update func(*certs.Policy)) (CertPolicy, error) {
	if err := checkName(KindCertificate, name); err != nil {
		return CertPolicy{}, err
	}
	var out CertPolicy
	err := s.onLive(ctx, true, vaultName, KindCertificate, name, "", func(tx storage.Tx, vlt Vault, o *Object) error {
		now := s.Now()
		cur, err := certPolicy(o)
		if err != nil {
			return err
		}
		p := cur.Policy
		update(&p)
		if err := p.Normalize(); err != nil {
			return certError(name, err)
		}
		if err := s.setPolicyTx(tx, vlt, name, p, now); err != nil {
			return err
		}
		if o.Latest != "" {
			ver, err := getVersion[CertificateVersion](tx, vlt.Name, o, "")
			if err != nil {
				return err
			}
			if err := scheduleRenewal(tx, vlt.Name, name, p, ver); err != nil {
				return err
			}
		}
		o, err = liveObject(tx, vlt.Name, KindCertificate, name)
		if err != nil {
			return err
		}
		out, err = certPolicy(o)
		return err
	})
	return out, err
}

// ListCertificates returns one page of live certificates.
func (s Request) ListCertificates(ctx context.Context, vaultName, after string, limit int) ([]Certificate, bool, error) {
	items, more, err := listHeads(s, ctx, vaultName, KindCertificate, false, after, limit, newCertificate)
	return items, more, err
}

// ListDeletedCertificates returns one page of soft-deleted certificates.
func (s Request) ListDeletedCertificates(ctx context.Context, vaultName, after string, limit int) ([]Certificate, bool, error) {
	return listHeads(s, ctx, vaultName, KindCertificate, true, after, limit, newCertificate)
}

// ListCertificateVersions returns one page of a live certificate's versions.
func (s Request) ListCertificateVersions(ctx context.Context, vaultName, name, after string, limit int) ([]Certificate, bool, error) {
	return listVersions(s, ctx, vaultName, KindCertificate, name, after, limit, newCertificate)
}

// linkedTx applies step to the certificate head and to its key and secret heads.
func linkedTx(tx storage.Tx, vlt Vault, name string, deleted bool, now time.Time, step func(*Object) error) (*Object, error) {
	var cert *Object
	for _, kind := range []Kind{KindCertificate, KindKey, KindSecret} {
		var o *Object
		var err error
		if deleted {
			o, err = deletedObject(tx, vlt.Name, kind, name, now)
		} else {
			o, err = liveObject(tx, vlt.Name, kind, name)
		}
		if kind == KindCertificate {
			if err != nil {
				return nil, err
			}
			cert = o
		} else if err != nil || !o.Managed {
			continue // a pending first issuance has no key or secret yet
		}
		if err := step(o); err != nil {
			return nil, err
		}
	}
	return cert, nil
}

// DeleteCertificate soft-deletes the certificate with its key and secret.
func (s Request) DeleteCertificate(ctx context.Context, vaultName, name string) (Certificate, error) {
	return transition(s, ctx, vaultName, KindCertificate, name, func(tx storage.Tx, who ledger.Entry, vlt Vault, _ Kind, name string, now time.Time) (*Object, error) {
		if _, err := liveCertificate(tx, vlt, name); err != nil {
			return nil, err
		}
		return linkedTx(tx, vlt, name, false, now, func(o *Object) error { return softDeleteTx(tx, who, vlt, o, now) })
	}, newCertificate)
}

// RecoverCertificate brings back the certificate with its key and secret.
func (s Request) RecoverCertificate(ctx context.Context, vaultName, name string) (Certificate, error) {
	return transition(s, ctx, vaultName, KindCertificate, name, func(tx storage.Tx, who ledger.Entry, vlt Vault, _ Kind, name string, now time.Time) (*Object, error) {
		cert, err := linkedTx(tx, vlt, name, true, now, func(o *Object) error { return undeleteTx(tx, who, vlt, o, now) })
		if err != nil {
			return nil, err
		}
		pol, err := certPolicy(cert)
		if err != nil {
			return nil, err
		}
		ver, err := getVersion[CertificateVersion](tx, vlt.Name, cert, "")
		if err != nil {
			return nil, err
		}
		return cert, scheduleRenewal(tx, vlt.Name, name, pol.Policy, ver)
	}, newCertificate)
}

// GetDeletedCertificate returns a soft-deleted certificate's latest version.
func (s Request) GetDeletedCertificate(ctx context.Context, vaultName, name string) (Certificate, error) {
	return getDeleted(s, ctx, vaultName, KindCertificate, name, newCertificate)
}

// PurgeCertificate removes a deleted certificate, its key and its secret for good.
func (s Request) PurgeCertificate(ctx context.Context, vaultName, name string) error {
	if err := checkName(KindCertificate, name); err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		o, err := deletedObject(tx, vlt.Name, KindCertificate, name, now)
		if err != nil {
			return err
		}
		if err := o.CheckPurge(now, vlt.PurgeProtection); err != nil {
			return err
		}
		_, err = linkedTx(tx, vlt, name, true, now, func(o *Object) error { return purgeTx(tx, ledger.ActionPurge, s.actor.entry(), vlt, o, now) })
		return err
	})
}

// BackupCertificate returns a sealed blob of the certificate with every version, its
// policy, and its key and secret with all their versions.
func (s Request) BackupCertificate(ctx context.Context, vaultName, name string) ([]byte, error) {
	return s.backup(ctx, vaultName, KindCertificate, name)
}

// RestoreCertificate restores a blob made by BackupCertificate, key and secret included.
func (s Request) RestoreCertificate(ctx context.Context, vaultName string, blob []byte) (Certificate, error) {
	return restoreAs(s, ctx, vaultName, KindCertificate, blob, newCertificate)
}
