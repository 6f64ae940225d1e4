package azapi

import (
	"encoding/base64"

	"github.com/coffer/coffer/internal/keyops"
	"github.com/coffer/coffer/internal/wiretext"
	"net/http"
	"net/url"
	"strings"
)

var b64url = base64.RawURLEncoding

// kv begins every Key Vault data action.
const kv = "Microsoft.KeyVault/vaults/"

// route is one data-plane operation. Patterns are '/'-separated segments: a literal, a
// parameter {name}, or a final optional parameter {version?} that also matches nothing
// (the SDKs send "latest" as an empty version, i.e. a trailing slash).
type route struct {
	method     string
	pattern    string
	op         string // operation name, for audit and logs
	collection string // "secrets", "deletedsecrets", …: with the name, the audit object id
	perm       string // the access-policy permission it needs (e.g. "secrets/get")
	// action is the Azure data action it needs on an RBAC vault
	// ("Microsoft.KeyVault/vaults/secrets/getSecret/action"), as Azure's resource provider
	// operations name them:
	// https://learn.microsoft.com/en-us/azure/role-based-access-control/permissions/security#microsoftkeyvault
	// Azure names no data action for random bytes from a vault: Coffer asks for keys/read,
	// as its access policy asks for keys/get.
	action   string
	mutates  bool
	noObject bool // touches no vault object, so authorization reads the vault up front
	handle   func(a *API, w http.ResponseWriter, r *request) (int, error)
	segs     []string
}

// routes is the whole data plane. Literal segments are listed before parameters at the
// same position so that /secrets/n/versions is never read as version "versions".
var routes = compile([]route{
	{method: "GET", pattern: "secrets", op: "ListSecrets", action: kv + "secrets/readMetadata/action", perm: "secrets/list", handle: (*API).listSecrets},
	{method: "POST", pattern: "secrets/restore", op: "RestoreSecret", action: kv + "secrets/restore/action", perm: "secrets/restore", mutates: true, handle: (*API).restoreSecret},
	{method: "GET", pattern: "secrets/{name}/versions", op: "ListSecretVersions", action: kv + "secrets/readMetadata/action", perm: "secrets/list", handle: (*API).listSecretVersions},
	{method: "POST", pattern: "secrets/{name}/backup", op: "BackupSecret", action: kv + "secrets/backup/action", perm: "secrets/backup", handle: (*API).backupSecret},
	{method: "PUT", pattern: "secrets/{name}", op: "SetSecret", action: kv + "secrets/setSecret/action", perm: "secrets/set", mutates: true, handle: (*API).setSecret},
	{method: "DELETE", pattern: "secrets/{name}", op: "DeleteSecret", action: kv + "secrets/delete", perm: "secrets/delete", mutates: true, handle: (*API).deleteSecret},
	{method: "GET", pattern: "secrets/{name}/{version?}", op: "GetSecret", action: kv + "secrets/getSecret/action", perm: "secrets/get", handle: (*API).getSecret},
	{method: "PATCH", pattern: "secrets/{name}/{version?}", op: "UpdateSecret", action: kv + "secrets/update/action", perm: "secrets/set", mutates: true, handle: (*API).updateSecret},
	{method: "GET", pattern: "deletedsecrets", op: "ListDeletedSecrets", action: kv + "secrets/readMetadata/action", perm: "secrets/list", handle: (*API).listDeletedSecrets},
	{method: "GET", pattern: "deletedsecrets/{name}", op: "GetDeletedSecret", action: kv + "secrets/readMetadata/action", perm: "secrets/get", handle: (*API).getDeletedSecret},
	{method: "DELETE", pattern: "deletedsecrets/{name}", op: "PurgeDeletedSecret", action: kv + "secrets/purge/action", perm: "secrets/purge", mutates: true, handle: (*API).purgeSecret},
	{method: "POST", pattern: "deletedsecrets/{name}/recover", op: "RecoverDeletedSecret", action: kv + "secrets/recover/action", perm: "secrets/recover", mutates: true, handle: (*API).recoverSecret},

	{method: "GET", pattern: "keys", op: "ListKeys", action: kv + "keys/read", perm: "keys/list", handle: (*API).listKeys},
	{method: "POST", pattern: "keys/restore", op: "RestoreKey", action: kv + "keys/restore/action", perm: "keys/restore", mutates: true, handle: (*API).restoreKey},
	{method: "POST", pattern: "keys/{name}/create", op: "CreateKey", action: kv + "keys/create/action", perm: "keys/create", mutates: true, handle: (*API).createKey},
	{method: "GET", pattern: "keys/{name}/versions", op: "ListKeyVersions", action: kv + "keys/read", perm: "keys/list", handle: (*API).listKeyVersions},
	{method: "POST", pattern: "keys/{name}/backup", op: "BackupKey", action: kv + "keys/backup/action", perm: "keys/backup", handle: (*API).backupKey},
	{method: "POST", pattern: "keys/{name}/rotate", op: "RotateKey", action: kv + "keys/rotate/action", perm: "keys/rotate", mutates: true, handle: (*API).rotateKey},
	{method: "GET", pattern: "keys/{name}/rotationpolicy", op: "GetKeyRotationPolicy", action: kv + "keyrotationpolicies/read", perm: "keys/getrotationpolicy", handle: (*API).getRotationPolicy},
	{method: "PUT", pattern: "keys/{name}/rotationpolicy", op: "UpdateKeyRotationPolicy", action: kv + "keyrotationpolicies/write", perm: "keys/setrotationpolicy", mutates: true, handle: (*API).setRotationPolicy},
	{method: "POST", pattern: "keys/{name}/sign", op: "Sign", action: kv + "keys/sign/action", perm: "keys/sign", handle: keyCrypto(keyops.OpSign)},
	{method: "POST", pattern: "keys/{name}/verify", op: "Verify", action: kv + "keys/verify/action", perm: "keys/verify", handle: keyCrypto(keyops.OpVerify)},
	{method: "POST", pattern: "keys/{name}/encrypt", op: "Encrypt", action: kv + "keys/encrypt/action", perm: "keys/encrypt", handle: keyCrypto(keyops.OpEncrypt)},
	{method: "POST", pattern: "keys/{name}/decrypt", op: "Decrypt", action: kv + "keys/decrypt/action", perm: "keys/decrypt", handle: keyCrypto(keyops.OpDecrypt)},
	{method: "POST", pattern: "keys/{name}/wrapkey", op: "WrapKey", action: kv + "keys/wrap/action", perm: "keys/wrapKey", handle: keyCrypto(keyops.OpWrapKey)},
	{method: "POST", pattern: "keys/{name}/unwrapkey", op: "UnwrapKey", action: kv + "keys/unwrap/action", perm: "keys/unwrapKey", handle: keyCrypto(keyops.OpUnwrapKey)},
	{method: "POST", pattern: "keys/{name}/{version}/sign", op: "Sign", action: kv + "keys/sign/action", perm: "keys/sign", handle: keyCrypto(keyops.OpSign)},
	{method: "POST", pattern: "keys/{name}/{version}/verify", op: "Verify", action: kv + "keys/verify/action", perm: "keys/verify", handle: keyCrypto(keyops.OpVerify)},
	{method: "POST", pattern: "keys/{name}/{version}/encrypt", op: "Encrypt", action: kv + "keys/encrypt/action", perm: "keys/encrypt", handle: keyCrypto(keyops.OpEncrypt)},
	{method: "POST", pattern: "keys/{name}/{version}/decrypt", op: "Decrypt", action: kv + "keys/decrypt/action", perm: "keys/decrypt", handle: keyCrypto(keyops.OpDecrypt)},
	{method: "POST", pattern: "keys/{name}/{version}/wrapkey", op: "WrapKey", action: kv + "keys/wrap/action", perm: "keys/wrapKey", handle: keyCrypto(keyops.OpWrapKey)},
	{method: "POST", pattern: "keys/{name}/{version}/unwrapkey", op: "UnwrapKey", action: kv + "keys/unwrap/action", perm: "keys/unwrapKey", handle: keyCrypto(keyops.OpUnwrapKey)},
	{method: "PUT", pattern: "keys/{name}", op: "ImportKey", action: kv + "keys/import/action", perm: "keys/import", mutates: true, handle: (*API).importKey},
	{method: "DELETE", pattern: "keys/{name}", op: "DeleteKey", action: kv + "keys/delete", perm: "keys/delete", mutates: true, handle: (*API).deleteKey},
	{method: "GET", pattern: "keys/{name}/{version?}", op: "GetKey", action: kv + "keys/read", perm: "keys/get", handle: (*API).getKey},
	{method: "PATCH", pattern: "keys/{name}/{version?}", op: "UpdateKey", action: kv + "keys/update/action", perm: "keys/update", mutates: true, handle: (*API).updateKey},
	{method: "GET", pattern: "deletedkeys", op: "ListDeletedKeys", action: kv + "keys/read", perm: "keys/list", handle: (*API).listDeletedKeys},
	{method: "GET", pattern: "deletedkeys/{name}", op: "GetDeletedKey", action: kv + "keys/read", perm: "keys/get", handle: (*API).getDeletedKey},
	{method: "DELETE", pattern: "deletedkeys/{name}", op: "PurgeDeletedKey", action: kv + "keys/purge/action", perm: "keys/purge", mutates: true, handle: (*API).purgeKey},
	{method: "POST", pattern: "deletedkeys/{name}/recover", op: "RecoverDeletedKey", action: kv + "keys/recover/action", perm: "keys/recover", mutates: true, handle: (*API).recoverKey},
	{method: "POST", pattern: "rng", op: "GetRandomBytes", action: kv + "keys/read", perm: "keys/get", noObject: true, handle: (*API).random},

	{method: "GET", pattern: "certificates", op: "ListCertificates", action: kv + "certificates/read", perm: "certificates/list", handle: (*API).listCertificates},
	{method: "POST", pattern: "certificates/restore", op: "RestoreCertificate", action: kv + "certificates/restore/action", perm: "certificates/restore", mutates: true, handle: (*API).restoreCertificate},
	{method: "GET", pattern: "certificates/contacts", op: "GetCertificateContacts", action: kv + "certificatecontacts/write", perm: "certificates/managecontacts", handle: (*API).getContacts},
	{method: "PUT", pattern: "certificates/contacts", op: "SetCertificateContacts", action: kv + "certificatecontacts/write", perm: "certificates/managecontacts", mutates: true, handle: (*API).setContacts},
	{method: "DELETE", pattern: "certificates/contacts", op: "DeleteCertificateContacts", action: kv + "certificatecontacts/write", perm: "certificates/managecontacts", mutates: true, handle: (*API).deleteContacts},
	{method: "GET", pattern: "certificates/issuers", op: "GetCertificateIssuers", action: kv + "certificatecas/read", perm: "certificates/listissuers", handle: (*API).listIssuers},
	{method: "GET", pattern: "certificates/issuers/{issuer}", op: "GetCertificateIssuer", action: kv + "certificatecas/read", perm: "certificates/getissuers", handle: (*API).getIssuer},
	{method: "PUT", pattern: "certificates/issuers/{issuer}", op: "SetCertificateIssuer", action: kv + "certificatecas/write", perm: "certificates/setissuers", mutates: true, handle: setIssuer(false)},
	{method: "PATCH", pattern: "certificates/issuers/{issuer}", op: "UpdateCertificateIssuer", action: kv + "certificatecas/write", perm: "certificates/setissuers", mutates: true, handle: setIssuer(true)},
	{method: "DELETE", pattern: "certificates/issuers/{issuer}", op: "DeleteCertificateIssuer", action: kv + "certificatecas/delete", perm: "certificates/deleteissuers", mutates: true, handle: (*API).deleteIssuer},
	{method: "POST", pattern: "certificates/{name}/create", op: "CreateCertificate", action: kv + "certificates/create/action", perm: "certificates/create", mutates: true, handle: (*API).createCertificate},
	{method: "POST", pattern: "certificates/{name}/import", op: "ImportCertificate", action: kv + "certificates/import/action", perm: "certificates/import", mutates: true, handle: (*API).importCertificate},
	{method: "GET", pattern: "certificates/{name}/versions", op: "ListCertificateVersions", action: kv + "certificates/read", perm: "certificates/list", handle: (*API).listCertificateVersions},
	{method: "POST", pattern: "certificates/{name}/backup", op: "BackupCertificate", action: kv + "certificates/backup/action", perm: "certificates/backup", handle: (*API).backupCertificate},
	{method: "GET", pattern: "certificates/{name}/policy", op: "GetCertificatePolicy", action: kv + "certificates/read", perm: "certificates/get", handle: (*API).getCertificatePolicy},
	{method: "PATCH", pattern: "certificates/{name}/policy", op: "UpdateCertificatePolicy", action: kv + "certificates/update/action", perm: "certificates/update", mutates: true, handle: (*API).updateCertificatePolicy},
	{method: "GET", pattern: "certificates/{name}/pending", op: "GetCertificateOperation", action: kv + "certificates/read", perm: "certificates/get", handle: (*API).getCertificateOperation},
	{method: "PATCH", pattern: "certificates/{name}/pending", op: "UpdateCertificateOperation", action: kv + "certificates/update/action", perm: "certificates/update", mutates: true, handle: (*API).updateCertificateOperation},
	{method: "DELETE", pattern: "certificates/{name}/pending", op: "DeleteCertificateOperation", action: kv + "certificates/delete", perm: "certificates/delete", mutates: true, handle: (*API).deleteCertificateOperation},
	{method: "POST", pattern: "certificates/{name}/pending/merge", op: "MergeCertificate", action: kv + "certificates/create/action", perm: "certificates/create", mutates: true, handle: (*API).mergeCertificate},
	{method: "DELETE", pattern: "certificates/{name}", op: "DeleteCertificate", action: kv + "certificates/delete", perm: "certificates/delete", mutates: true, handle: (*API).deleteCertificate},
	{method: "GET", pattern: "certificates/{name}/{version?}", op: "GetCertificate", action: kv + "certificates/read", perm: "certificates/get", handle: (*API).getCertificate},
	{method: "PATCH", pattern: "certificates/{name}/{version?}", op: "UpdateCertificate", action: kv + "certificates/update/action", perm: "certificates/update", mutates: true, handle: (*API).updateCertificate},
	{method: "GET", pattern: "deletedcertificates", op: "ListDeletedCertificates", action: kv + "certificates/read", perm: "certificates/list", handle: (*API).listDeletedCertificates},
	{method: "GET", pattern: "deletedcertificates/{name}", op: "GetDeletedCertificate", action: kv + "certificates/read", perm: "certificates/get", handle: (*API).getDeletedCertificate},
	{method: "DELETE", pattern: "deletedcertificates/{name}", op: "PurgeDeletedCertificate", action: kv + "certificates/purge/action", perm: "certificates/purge", mutates: true, handle: (*API).purgeCertificate},
	{method: "POST", pattern: "deletedcertificates/{name}/recover", op: "RecoverDeletedCertificate", action: kv + "certificates/recover/action", perm: "certificates/recover", mutates: true, handle: (*API).recoverCertificate},
})

func compile(rs []route) []route {
	for i := range rs {
		rs[i].segs = strings.Split(rs[i].pattern, "/")
		rs[i].collection = rs[i].segs[0]
	}
	return rs
}

var errNoRoute = &apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "There is no Key Vault operation at this path. Check the URL: e.g. /secrets/{name} or /deletedsecrets/{name}."}

// match finds the route for method and escaped path. Paths are taken exactly as sent:
// no cleaning, no redirects.
func match(method, escapedPath string) (*route, map[string]string, error) {
	p := strings.TrimPrefix(escapedPath, "/")
	p = strings.TrimSuffix(p, "/") // "/secrets/n/" is "latest", like "/secrets/n"
	segs := strings.Split(p, "/")
	for i := range segs {
		s, err := url.PathUnescape(segs[i])
		if err != nil {
			return nil, nil, badParameter("The request URI is not valid: it has a malformed escape.")
		}
		segs[i] = s
	}
	methodMismatch := false
	for i := range routes {
		rt := &routes[i]
		has, ok := rt.matchSegs(segs)
		if !ok {
			continue
		}
		if rt.method != method {
			methodMismatch = true
			continue
		}
		// The map is made for the route that is taken only: a GET /secrets/n first
		// matches the paths of PUT and DELETE, whose maps would be garbage.
		var params map[string]string
		if has {
			params = rt.params(segs)
		}
		return rt, params, nil
	}
	if methodMismatch {
		return nil, nil, &apiError{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: "The HTTP method " + wiretext.Echo(method) + " is not supported at this path."}
	}
	return nil, nil, errNoRoute
}

// matchSegs reports whether segs is rt's path, and whether it names parameters.
// Every route is tried in turn: it allocates nothing, so that the routes that fail
// (or match the path for another method) cost no garbage.
func (rt *route) matchSegs(segs []string) (has, ok bool) {
	n := len(rt.segs)
	if len(segs) != n && !(len(segs) == n-1 && strings.HasSuffix(rt.segs[n-1], "?}")) {
		return false, false
	}
	for i, ps := range rt.segs {
		if strings.HasPrefix(ps, "{") {
			if i >= len(segs) {
				break // the optional last parameter, absent
			}
			has = true
			continue
		}
		if !strings.EqualFold(ps, segs[i]) {
			return false, false
		}
	}
	return has, true
}

// params maps the parameter names of rt to their values in segs, a path rt matched.
func (rt *route) params(segs []string) map[string]string {
	params := make(map[string]string, 2)
	for i, ps := range rt.segs {
		if strings.HasPrefix(ps, "{") && i < len(segs) {
			params[strings.Trim(ps, "{?}")] = segs[i]
		}
	}
	return params
}
