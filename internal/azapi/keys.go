package azapi

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"

	"github.com/coffer/coffer/internal/keyops"
	"github.com/coffer/coffer/internal/vault"
)

const (
	maxKeyBody    = 64 << 10 // a JWK of a 4096-bit RSA key is ~3.5 KiB
	maxCryptoBody = 64 << 10
)

type keyShape int

const (
	keyBundle keyShape = iota
	keyDeleted
	keyItem        // list: version-less kid
	keyVersionItem // list versions
	keyDeletedItem
)

func (a *API) renderKey(r *request, k vault.Key, shape keyShape) wireKey {
	days := k.Vault.RetentionDays
	kid := r.url("/keys/" + k.Object.Name + "/" + k.ID)
	out := wireKey{
		Tags: k.Tags,
		Attributes: wireAttributes{
			Enabled: &k.Enabled, NotBefore: unix(k.NotBefore), Expires: unix(k.Expires),
			Created: unix(k.Created), Updated: unix(k.Updated),
			RecoveryLevel: k.Vault.RecoveryLevel(), RecoverableDays: &days,
		},
	}
	if k.Object.Managed {
		out.Managed = &k.Object.Managed
	}
	switch shape {
	case keyItem, keyDeletedItem:
		out.Kid = r.url("/keys/" + k.Object.Name)
	case keyVersionItem:
		out.Kid = kid
	default:
		pub := k.PublicJWK()
		out.Key = &wireJWK{Kid: kid, Kty: pub.Kty, KeyOps: k.Ops, N: pub.N, E: pub.E, Crv: pub.Crv, X: pub.X, Y: pub.Y}
	}
	if shape == keyDeleted || shape == keyDeletedItem {
		out.RecoveryID = r.url("/deletedkeys/" + k.Object.Name)
		out.DeletedDate = unix(k.Object.DeletedDate)
		out.ScheduledPurgeDate = unix(k.Object.ScheduledPurgeDate)
	}
	return out
}

func keyParams(at *wireKeyAttributesIn, ops []string, tags map[string]string) (vault.KeyParams, error) {
	p := vault.KeyParams{Ops: ops, Tags: tags}
	if at != nil {
		if at.Exportable != nil && *at.Exportable {
			return p, badParameter("Exportable keys need a release policy and attestation, which Coffer does not offer; leave attributes.exportable unset or false.")
		}
		p.Enabled, p.NotBefore, p.Expires = at.Enabled, timePtr(at.NotBefore), timePtr(at.Expires)
	}
	return p, nil
}

func (a *API) createKey(w http.ResponseWriter, r *request) (int, error) {
	var in wireKeyCreate
	if err := decodeBody(r, maxKeyBody, &in); err != nil {
		return 0, err
	}
	if in.Kty == nil {
		return 0, badParameter("The request body must have 'kty': RSA, RSA-HSM, EC, EC-HSM, oct or oct-HSM.")
	}
	if len(in.ReleasePolicy) > 0 && string(in.ReleasePolicy) != "null" {
		return 0, badParameter("Key release policies need attestation, which Coffer does not offer; leave release_policy unset.")
	}
	p, err := keyParams(in.Attributes, in.KeyOps, in.Tags)
	if err != nil {
		return 0, err
	}
	p.Kty = *in.Kty
	if in.KeySize != nil {
		p.Size = *in.KeySize
	}
	if in.PublicExponent != nil {
		p.PublicExponent = *in.PublicExponent
	}
	if in.Crv != nil {
		p.Curve = *in.Crv
	}
	k, err := r.vaults.CreateKey(ctx(r), r.vault, r.param("name"), p)
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderKey(r, k, keyBundle))
}

func (a *API) importKey(w http.ResponseWriter, r *request) (int, error) {
	var in wireKeyImport
	if err := decodeBody(r, maxKeyBody, &in); err != nil {
		return 0, err
	}
	if in.Key == nil {
		return 0, badParameter("The request body must have 'key': a JSON Web Key with its private members.")
	}
	if len(in.Key.KeyHSM) > 0 {
		return 0, badParameter("BYOK (key_hsm) imports need an HSM, which Coffer does not have; import the key's private members instead.")
	}
	p, err := keyParams(in.Attributes, in.Key.KeyOps, in.Tags)
	if err != nil {
		return 0, err
	}
	j := in.Key
	kty := j.Kty
	if in.HSM != nil && *in.HSM && !strings.HasSuffix(kty, "-HSM") && kty != "" {
		kty += "-HSM" // stored as software, shown as asked (README: Coffer has no HSM)
	}
	k, err := r.vaults.ImportKey(ctx(r), r.vault, r.param("name"), keyops.JWK{
		Kty: kty, Crv: j.Crv, N: j.N, E: j.E, D: j.D, P: j.P, Q: j.Q, DP: j.DP, DQ: j.DQ, QI: j.QI, X: j.X, Y: j.Y, K: j.K,
	}, p)
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderKey(r, k, keyBundle))
}

func (a *API) getKey(w http.ResponseWriter, r *request) (int, error) {
	k, err := r.vaults.GetKey(ctx(r), r.vault, r.param("name"), r.param("version"))
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderKey(r, k, keyBundle))
}

func (a *API) updateKey(w http.ResponseWriter, r *request) (int, error) {
	var in wireKeyUpdate
	if err := decodeBody(r, maxKeyBody, &in); err != nil {
		return 0, err
	}
	p, err := keyParams(in.Attributes, in.KeyOps, in.Tags)
	if err != nil {
		return 0, err
	}
	k, err := r.vaults.UpdateKey(ctx(r), r.vault, r.param("name"), r.param("version"), vault.KeyUpdate{
		Ops: p.Ops, Tags: p.Tags, Enabled: p.Enabled, NotBefore: p.NotBefore, Expires: p.Expires})
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderKey(r, k, keyBundle))
}

func (a *API) listKeys(w http.ResponseWriter, r *request) (int, error) {
	return a.listKeyPage(w, r, keyItem, r.vaults.Keys().List)
}

func (a *API) listDeletedKeys(w http.ResponseWriter, r *request) (int, error) {
	return a.listKeyPage(w, r, keyDeletedItem, r.vaults.Keys().ListDeleted)
}

func (a *API) listKeyVersions(w http.ResponseWriter, r *request) (int, error) {
	name := r.param("name")
	return a.listKeyPage(w, r, keyVersionItem, func(c ctxT, v, after string, limit int) ([]vault.Key, string, error) {
		return r.vaults.Keys().ListVersions(c, v, name, after, limit)
	})
}

func (a *API) listKeyPage(w http.ResponseWriter, r *request, shape keyShape, list func(c ctxT, v, after string, limit int) ([]vault.Key, string, error)) (int, error) {
	return listed(w, r, list, func(k vault.Key) (wireKey, bool) { return a.renderKey(r, k, shape), true })
}

func (a *API) deleteKey(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.Keys().Delete, func(k vault.Key) any { return a.renderKey(r, k, keyDeleted) })
}

func (a *API) getDeletedKey(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.Keys().GetDeleted, func(k vault.Key) any { return a.renderKey(r, k, keyDeleted) })
}

func (a *API) recoverKey(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.Keys().Recover, func(k vault.Key) any { return a.renderKey(r, k, keyBundle) })
}

func (a *API) purgeKey(w http.ResponseWriter, r *request) (int, error) {
	return purged(w, r, r.vaults.Keys().Purge)
}

func (a *API) backupKey(w http.ResponseWriter, r *request) (int, error) {
	return backedUp(w, r, r.vaults.Keys().Backup)
}

func (a *API) restoreKey(w http.ResponseWriter, r *request) (int, error) {
	return restored(w, r, r.vaults.Keys().Restore, func(k vault.Key) any { return a.renderKey(r, k, keyBundle) })
}

func (a *API) rotateKey(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.RotateKey, func(k vault.Key) any { return a.renderKey(r, k, keyBundle) })
}

func (a *API) renderRotationPolicy(r *request, p vault.RotationPolicy) wireRotationPolicy {
	out := wireRotationPolicy{ID: r.url("/keys/" + r.param("name") + "/rotationpolicy"), LifetimeActions: []wireLifetimeAction{}}
	for _, la := range p.LifetimeActions {
		var w wireLifetimeAction
		w.Trigger = &struct {
			TimeAfterCreate  string `json:"timeAfterCreate,omitempty"`
			TimeBeforeExpiry string `json:"timeBeforeExpiry,omitempty"`
		}{la.TimeAfterCreate, la.TimeBeforeExpiry}
		w.Action = &struct {
			Type string `json:"type"`
		}{la.Type}
		out.LifetimeActions = append(out.LifetimeActions, w)
	}
	out.Attributes = &wireRotationAttrs{ExpiryTime: p.ExpiryTime, Created: unix(p.Created), Updated: unix(p.Updated)}
	return out
}

func (a *API) getRotationPolicy(w http.ResponseWriter, r *request) (int, error) {
	p, err := r.vaults.GetRotationPolicy(ctx(r), r.vault, r.param("name"))
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderRotationPolicy(r, p))
}

func (a *API) setRotationPolicy(w http.ResponseWriter, r *request) (int, error) {
	var in wireRotationPolicy
	if err := decodeBody(r, maxKeyBody, &in); err != nil {
		return 0, err
	}
	var p vault.RotationPolicy
	if in.Attributes != nil {
		p.ExpiryTime = in.Attributes.ExpiryTime
	}
	for _, la := range in.LifetimeActions {
		if la.Trigger == nil || la.Action == nil {
			return 0, badParameter("Each lifetime action needs a 'trigger' and an 'action'.")
		}
		p.LifetimeActions = append(p.LifetimeActions, vault.LifetimeAction{
			Type: la.Action.Type, TimeAfterCreate: la.Trigger.TimeAfterCreate, TimeBeforeExpiry: la.Trigger.TimeBeforeExpiry})
	}
	out, err := r.vaults.SetRotationPolicy(ctx(r), r.vault, r.param("name"), p)
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderRotationPolicy(r, out))
}

func (a *API) random(w http.ResponseWriter, r *request) (int, error) {
	var in wireRandom
	if err := decodeBody(r, 4096, &in); err != nil {
		return 0, err
	}
	if in.Count == nil || *in.Count < 1 || *in.Count > 128 {
		return 0, badParameter("'count' must be an integer from 1 to 128.")
	}
	b := make([]byte, *in.Count)
	rand.Read(b)
	return ok(w, wireRandomResult{Value: b})
}

// keyCrypto handles sign, verify, encrypt, decrypt, wrapkey and unwrapkey, with or
// without a version segment.
func keyCrypto(op string) func(a *API, w http.ResponseWriter, r *request) (int, error) {
	return func(a *API, w http.ResponseWriter, r *request) (int, error) {
		var in wireKeyOp
		if err := decodeBody(r, maxCryptoBody, &in); err != nil {
			return 0, err
		}
		if in.Alg == nil || *in.Alg == "" {
			return 0, badParameter("The request body must have 'alg', the algorithm to use.")
		}
		if in.Value == nil {
			return 0, badParameter("The request body must have 'value' (base64url).")
		}
		alg := *in.Alg
		var res wireKeyOpResult
		var verified *bool
		k, err := r.vaults.UseKey(ctx(r), r.vault, r.param("name"), r.param("version"), op, func(k *keyops.Key) error {
			var err error
			switch op {
			case keyops.OpSign:
				res.Value, err = k.Sign(alg, in.Value)
			case keyops.OpVerify:
				var v bool
				v, err = k.Verify(alg, in.Digest, in.Value)
				verified = &v
			case keyops.OpEncrypt:
				res.Value, res.IV, res.Tag, err = k.Encrypt(alg, in.Value, in.IV, in.AAD)
				if len(res.Tag) > 0 {
					res.AAD = in.AAD
				}
			case keyops.OpDecrypt:
				res.Value, err = k.Decrypt(alg, in.Value, in.IV, in.AAD, in.Tag)
			case keyops.OpWrapKey:
				res.Value, err = k.WrapKey(alg, in.Value)
			case keyops.OpUnwrapKey:
				res.Value, err = k.UnwrapKey(alg, in.Value)
			default:
				err = fmt.Errorf("unknown key operation %s", op)
			}
			return err
		})
		if err != nil {
			return 0, err
		}
		if verified != nil {
			return ok(w, wireVerifyResult{Value: *verified})
		}
		res.Kid = r.url("/keys/" + k.Object.Name + "/" + k.ID)
		return ok(w, res)
	}
}
