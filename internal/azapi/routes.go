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

// route is one data-plane operation. Patterns are '/'-separated segments: a literal, a
// parameter {name}, or a final optional parameter {version?} that also matches nothing
// (the SDKs send "latest" as an empty version, i.e. a trailing slash).
type route struct {
	method     string
	pattern    string
	op         string // operation name, for audit and logs
	collection string // "secrets", "deletedsecrets", …: with the name, the audit object id
	perm       string // the access-policy permission it needs (e.g. "secrets/get")
	mutates    bool
	noObject   bool // touches no vault object, so authorization reads the vault up front
	handle     func(a *API, w http.ResponseWriter, r *request) (int, error)
	segs       []string
}

// routes is the whole data plane. Literal segments are listed before parameters at the
// same position so that /secrets/n/versions is never read as version "versions".
var routes = compile([]route{
	{method: "GET", pattern: "secrets", op: "ListSecrets", perm: "secrets/list", handle: (*API).listSecrets},
	{method: "POST", pattern: "secrets/restore", op: "RestoreSecret", perm: "secrets/restore", mutates: true, handle: (*API).restoreSecret},
	{method: "GET", pattern: "secrets/{name}/versions", op: "ListSecretVersions", perm: "secrets/list", handle: (*API).listSecretVersions},
	{method: "POST", pattern: "secrets/{name}/backup", op: "BackupSecret", perm: "secrets/backup", handle: (*API).backupSecret},
	{method: "PUT", pattern: "secrets/{name}", op: "SetSecret", perm: "secrets/set", mutates: true, handle: (*API).setSecret},
	{method: "DELETE", pattern: "secrets/{name}", op: "DeleteSecret", perm: "secrets/delete", mutates: true, handle: (*API).deleteSecret},
	{method: "GET", pattern: "secrets/{name}/{version?}", op: "GetSecret", perm: "secrets/get", handle: (*API).getSecret},
	{method: "PATCH", pattern: "secrets/{name}/{version?}", op: "UpdateSecret", perm: "secrets/set", mutates: true, handle: (*API).updateSecret},
	{method: "GET", pattern: "deletedsecrets", op: "ListDeletedSecrets", perm: "secrets/list", handle: (*API).listDeletedSecrets},
	{method: "GET", pattern: "deletedsecrets/{name}", op: "GetDeletedSecret", perm: "secrets/get", handle: (*API).getDeletedSecret},
	{method: "DELETE", pattern: "deletedsecrets/{name}", op: "PurgeDeletedSecret", perm: "secrets/purge", mutates: true, handle: (*API).purgeSecret},
	{method: "POST", pattern: "deletedsecrets/{name}/recover", op: "RecoverDeletedSecret", perm: "secrets/recover", mutates: true, handle: (*API).recoverSecret},

	{method: "GET", pattern: "keys", op: "ListKeys", perm: "keys/list", handle: (*API).listKeys},
	{method: "POST", pattern: "keys/restore", op: "RestoreKey", perm: "keys/restore", mutates: true, handle: (*API).restoreKey},
	{method: "POST", pattern: "keys/{name}/create", op: "CreateKey", perm: "keys/create", mutates: true, handle: (*API).createKey},
	{method: "GET", pattern: "keys/{name}/versions", op: "ListKeyVersions", perm: "keys/list", handle: (*API).listKeyVersions},
	{method: "POST", pattern: "keys/{name}/backup", op: "BackupKey", perm: "keys/backup", handle: (*API).backupKey},
	{method: "POST", pattern: "keys/{name}/rotate", op: "RotateKey", perm: "keys/rotate", mutates: true, handle: (*API).rotateKey},
	{method: "GET", pattern: "keys/{name}/rotationpolicy", op: "GetKeyRotationPolicy", perm: "keys/getrotationpolicy", handle: (*API).getRotationPolicy},
	{method: "PUT", pattern: "keys/{name}/rotationpolicy", op: "UpdateKeyRotationPolicy", perm: "keys/setrotationpolicy", mutates: true, handle: (*API).setRotationPolicy},
	{method: "POST", pattern: "keys/{name}/sign", op: "Sign", perm: "keys/sign", handle: keyCrypto(keyops.OpSign)},
	{method: "POST", pattern: "keys/{name}/verify", op: "Verify", perm: "keys/verify", handle: keyCrypto(keyops.OpVerify)},
	{method: "POST", pattern: "keys/{name}/encrypt", op: "Encrypt", perm: "keys/encrypt", handle: keyCrypto(keyops.OpEncrypt)},
	{method: "POST", pattern: "keys/{name}/decrypt", op: "Decrypt", perm: "keys/decrypt", handle: keyCrypto(keyops.OpDecrypt)},
	{method: "POST", pattern: "keys/{name}/wrapkey", op: "WrapKey", perm: "keys/wrapKey", handle: keyCrypto(keyops.OpWrapKey)},
	{method: "POST", pattern: "keys/{name}/unwrapkey", op: "UnwrapKey", perm: "keys/unwrapKey", handle: keyCrypto(keyops.OpUnwrapKey)},
	{method: "POST", pattern: "keys/{name}/{version}/sign", op: "Sign", perm: "keys/sign", handle: keyCrypto(keyops.OpSign)},
	{method: "POST", pattern: "keys/{name}/{version}/verify", op: "Verify", perm: "keys/verify", handle: keyCrypto(keyops.OpVerify)},
	{method: "POST", pattern: "keys/{name}/{version}/encrypt", op: "Encrypt", perm: "keys/encrypt", handle: keyCrypto(keyops.OpEncrypt)},
	{method: "POST", pattern: "keys/{name}/{version}/decrypt", op: "Decrypt", perm: "keys/decrypt", handle: keyCrypto(keyops.OpDecrypt)},
	{method: "POST", pattern: "keys/{name}/{version}/wrapkey", op: "WrapKey", perm: "keys/wrapKey", handle: keyCrypto(keyops.OpWrapKey)},
	{method: "POST", pattern: "keys/{name}/{version}/unwrapkey", op: "UnwrapKey", perm: "keys/unwrapKey", handle: keyCrypto(keyops.OpUnwrapKey)},
	{method: "PUT", pattern: "keys/{name}", op: "ImportKey", perm: "keys/import", mutates: true, handle: (*API).importKey},
	{method: "DELETE", pattern: "keys/{name}", op: "DeleteKey", perm: "keys/delete", mutates: true, handle: (*API).deleteKey},
	{method: "GET", pattern: "keys/{name}/{version?}", op: "GetKey", perm: "keys/get", handle: (*API).getKey},
	{method: "PATCH", pattern: "keys/{name}/{version?}", op: "UpdateKey", perm: "keys/update", mutates: true, handle: (*API).updateKey},
	{method: "GET", pattern: "deletedkeys", op: "ListDeletedKeys", perm: "keys/list", handle: (*API).listDeletedKeys},
	{method: "GET", pattern: "deletedkeys/{name}", op: "GetDeletedKey", perm: "keys/get", handle: (*API).getDeletedKey},
	{method: "DELETE", pattern: "deletedkeys/{name}", op: "PurgeDeletedKey", perm: "keys/purge", mutates: true, handle: (*API).purgeKey},
	{method: "POST", pattern: "deletedkeys/{name}/recover", op: "RecoverDeletedKey", perm: "keys/recover", mutates: true, handle: (*API).recoverKey},
	{method: "POST", pattern: "rng", op: "GetRandomBytes", perm: "keys/get", noObject: true, handle: (*API).random},

	{method: "GET", pattern: "certificates", op: "ListCertificates", perm: "certificates/list", handle: (*API).listCertificates},
	{method: "POST", pattern: "certificates/restore", op: "RestoreCertificate", perm: "certificates/restore", mutates: true, handle: (*API).restoreCertificate},
	{method: "GET", pattern: "certificates/contacts", op: "GetCertificateContacts", perm: "certificates/managecontacts", handle: (*API).getContacts},
	{method: "PUT", pattern: "certificates/contacts", op: "SetCertificateContacts", perm: "certificates/managecontacts", mutates: true, handle: (*API).setContacts},
	{method: "DELETE", pattern: "certificates/contacts", op: "DeleteCertificateContacts", perm: "certificates/managecontacts", mutates: true, handle: (*API).deleteContacts},
	{method: "GET", pattern: "certificates/issuers", op: "GetCertificateIssuers", perm: "certificates/listissuers", handle: (*API).listIssuers},
	{method: "GET", pattern: "certificates/issuers/{issuer}", op: "GetCertificateIssuer", perm: "certificates/getissuers", handle: (*API).getIssuer},
	{method: "PUT", pattern: "certificates/issuers/{issuer}", op: "SetCertificateIssuer", perm: "certificates/setissuers", mutates: true, handle: setIssuer(false)},
	{method: "PATCH", pattern: "certificates/issuers/{issuer}", op: "UpdateCertificateIssuer", perm: "certificates/setissuers", mutates: true, handle: setIssuer(true)},
	{method: "DELETE", pattern: "certificates/issuers/{issuer}", op: "DeleteCertificateIssuer", perm: "certificates/deleteissuers", mutates: true, handle: (*API).deleteIssuer},
	{method: "POST", pattern: "certificates/{name}/create", op: "CreateCertificate", perm: "certificates/create", mutates: true, handle: (*API).createCertificate},
	{method: "POST", pattern: "certificates/{name}/import", op: "ImportCertificate", perm: "certificates/import", mutates: true, handle: (*API).importCertificate},
	{method: "GET", pattern: "certificates/{name}/versions", op: "ListCertificateVersions", perm: "certificates/list", handle: (*API).listCertificateVersions},
	{method: "POST", pattern: "certificates/{name}/backup", op: "BackupCertificate", perm: "certificates/backup", handle: (*API).backupCertificate},
	{method: "GET", pattern: "certificates/{name}/policy", op: "GetCertificatePolicy", perm: "certificates/get", handle: (*API).getCertificatePolicy},
	{method: "PATCH", pattern: "certificates/{name}/policy", op: "UpdateCertificatePolicy", perm: "certificates/update", mutates: true, handle: (*API).updateCertificatePolicy},
	{method: "GET", pattern: "certificates/{name}/pending", op: "GetCertificateOperation", perm: "certificates/get", handle: (*API).getCertificateOperation},
	{method: "PATCH", pattern: "certificates/{name}/pending", op: "UpdateCertificateOperation", perm: "certificates/update", mutates: true, handle: (*API).updateCertificateOperation},
	{method: "DELETE", pattern: "certificates/{name}/pending", op: "DeleteCertificateOperation", perm: "certificates/delete", mutates: true, handle: (*API).deleteCertificateOperation},
	{method: "POST", pattern: "certificates/{name}/pending/merge", op: "MergeCertificate", perm: "certificates/create", mutates: true, handle: (*API).mergeCertificate},
	{method: "DELETE", pattern: "certificates/{name}", op: "DeleteCertificate", perm: "certificates/delete", mutates: true, handle: (*API).deleteCertificate},
	{method: "GET", pattern: "certificates/{name}/{version?}", op: "GetCertificate", perm: "certificates/get", handle: (*API).getCertificate},
	{method: "PATCH", pattern: "certificates/{name}/{version?}", op: "UpdateCertificate", perm: "certificates/update", mutates: true, handle: (*API).updateCertificate},
	{method: "GET", pattern: "deletedcertificates", op: "ListDeletedCertificates", perm: "certificates/list", handle: (*API).listDeletedCertificates},
	{method: "GET", pattern: "deletedcertificates/{name}", op: "GetDeletedCertificate", perm: "certificates/get", handle: (*API).getDeletedCertificate},
	{method: "DELETE", pattern: "deletedcertificates/{name}", op: "PurgeDeletedCertificate", perm: "certificates/purge", mutates: true, handle: (*API).purgeCertificate},
	{method: "POST", pattern: "deletedcertificates/{name}/recover", op: "RecoverDeletedCertificate", perm: "certificates/recover", mutates: true, handle: (*API).recoverCertificate},
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
		params, ok := rt.matchSegs(segs)
		if !ok {
			continue
		}
		if rt.method != method {
			methodMismatch = true
			continue
		}
		return rt, params, nil
	}
	if methodMismatch {
		return nil, nil, &apiError{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed", Message: "The HTTP method " + wiretext.Echo(method) + " is not supported at this path."}
	}
	return nil, nil, errNoRoute
}

func (rt *route) matchSegs(segs []string) (map[string]string, bool) {
	n := len(rt.segs)
	if len(segs) != n && !(len(segs) == n-1 && strings.HasSuffix(rt.segs[n-1], "?}")) {
		return nil, false
	}
	var params map[string]string
	for i, ps := range rt.segs {
		if strings.HasPrefix(ps, "{") {
			if i >= len(segs) {
				break // the optional last parameter, absent
			}
			if params == nil {
				params = make(map[string]string, 2)
			}
			params[strings.Trim(ps, "{?}")] = segs[i]
			continue
		}
		if !strings.EqualFold(ps, segs[i]) {
			return nil, false
		}
	}
	return params, true
}
