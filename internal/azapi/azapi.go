// Package azapi is the Azure Key Vault data plane over HTTP: routes, api-version, wire
// JSON, and the one table that turns domain errors into Azure's status and error codes.
// It decodes and validates the wire, calls the vault domain, and encodes the answer;
// lifecycle rules live in vault, not here. It must not import server, identity or arm:
// the server authenticates the request and hands it here with the vault it names.
package azapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/wiretext"
)

// Options configure the data plane.
type Options struct {
	Vaults *vault.Service
	// RBAC holds the role assignments that decide vaults with enableRbacAuthorization;
	// nil → such a vault is refused to everyone but the administrator.
	RBAC *rbac.Service
	// MaxImports bounds the certificate imports this server runs at once (0: half the
	// CPUs, at least one); ImportWait is how long an import waits for its turn before it
	// is answered 503 (0: 5 s).
	MaxImports int
	ImportWait time.Duration
}

// API serves the data plane of every vault.
type API struct {
	vaults     *vault.Service
	rbac       *rbac.Service
	imports    chan struct{} // a slot per certificate import running
	importWait time.Duration
}

// New returns the data plane.
func New(opts Options) *API {
	n, wait := opts.MaxImports, opts.ImportWait
	if n <= 0 {
		n = defaultMaxImports()
	}
	if wait <= 0 {
		wait = defaultImportWait
	}
	return &API{vaults: opts.Vaults, rbac: opts.RBAC, imports: make(chan struct{}, n), importWait: wait}
}

// ErrorHeader is what the plane adapter adds to the data plane's error answers, as to
// every other answer of the data plane: they must not be cached.
var ErrorHeader = http.Header{"Cache-Control": noCache}

// request is one routed data-plane request.
type request struct {
	*http.Request
	vaults     vault.Request // acts as the caller, deciding each vault it touches
	vault      string
	host       string // lower-cased Host, for absolute URLs
	apiVersion string
	params     map[string]string
}

func (r *request) param(name string) string { return r.params[name] }

// url builds an absolute URL on the host the client used.
func (r *request) url(path string) string { return "https://" + r.host + path }

// Serve answers one data-plane request for vaultName; the plane adapter has authenticated
// it and renders the error it returns. Errors are turned into their Azure answers here,
// where the vault's location (for messages) is known.
func (a *API) Serve(w http.ResponseWriter, hr *http.Request, vaultName string, c *plane.Call) error {
	c.Event.Vault = vaultName
	ref := vaultRef{name: vaultName}
	_, err := a.serve(w, hr, &ref, c)
	if err == nil {
		return nil
	}
	if ae, ok := toAPIError(err, ref); ok {
		return ae
	}
	if errors.Is(err, storage.ErrBusy) {
		// Conflicting writers (several servers on PostgreSQL): nothing was written;
		// azcore retries a 503 after Retry-After.
		return &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", RetryAfter: "1",
			Message: "The vault is busy with conflicting changes; nothing was changed. Retry the request."}
	}
	if errors.Is(err, storage.ErrUnavailable) {
		// A full disk, a database restarting: nothing was written, and the storage
		// carries on by itself once the condition passes (the server's log says which).
		return &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", RetryAfter: plane.RetryAfterUnavailable,
			Message: "The vault's storage cannot take this request for now; nothing was changed. Retry the request later."}
	}
	return err // the adapter logs it and answers 500
}

func (a *API) serve(w http.ResponseWriter, hr *http.Request, ref *vaultRef, c *plane.Call) (int, error) {
	ev, caller := c.Event, c.Principal
	vaultName := ref.name
	rt, params, err := match(hr.Method, hr.URL.EscapedPath())
	if err != nil {
		return 0, err
	}
	ev.Operation = rt.op
	if n := params["name"]; n != "" {
		ev.ObjectID = rt.collection + "/" + n
	}
	q := hr.URL.Query()
	v := q.Get("api-version")
	if v == "" {
		return 0, badParameter("The api-version query parameter is missing. Use a supported version, e.g. api-version=%s.", latestAPIVersion)
	}
	if !validAPIVersion(v) {
		return 0, badParameter("The specified version (%s) is not recognized. Consider using the latest supported version (%s).", wiretext.Echo(v), latestAPIVersion)
	}
	req := &request{Request: hr, vault: vaultName, host: strings.ToLower(hr.Host), apiVersion: v, params: params}
	// The role assignments this request is decided on, should its vault be an RBAC one:
	// read here, never inside the operation's transaction.
	var view *rbac.View
	if !caller.Admin && a.rbac != nil {
		var err error
		if view, err = a.rbac.View(hr.Context()); err != nil {
			return 0, err
		}
	}
	// The operation hands its vault to this check inside its own transaction (one read
	// of the vault per request); routes that touch no object read the vault here.
	authorize := func(vlt vault.Vault) error {
		ref.location = vlt.Location
		if vlt.RBAC {
			return decideRBAC(view, caller, ev, rt, params, vlt, vaultName)
		}
		allowed, why := authz.Decide(authz.Principal{ObjectID: caller.ObjectID, Admin: caller.Admin}, vlt.AccessPolicies, rt.perm)
		if allowed {
			ev.Decision = "allowed: " + why
			return nil
		}
		ev.Decision = "denied: " + why
		return forbidden(caller, rt.perm, vaultName, vlt.Location)
	}
	// A principal other than the administrator is not told whether a vault exists: a
	// vault that does not exist, or is deleted, is refused as one it has no access to
	// (Azure answers a caller without rights 403, whatever the vault). A name that cannot
	// be a vault's reveals nothing and stays 404.
	hide := func(err error) error {
		if caller.Admin || !errors.Is(err, vault.ErrVaultNotFound) || !vault.ValidVaultName(vaultName) {
			return err
		}
		ev.Decision = "denied: the vault does not exist or is deleted (answered as a refusal, so that its existence is not revealed)"
		return forbidden(caller, rt.perm, vaultName, unseenVaultLocation)
	}
	who := caller.ObjectID
	if who == "" {
		who = caller.ClientID
	}
	req.vaults = a.vaults.As(vault.Actor{Principal: who, ClientID: caller.ClientID, RequestID: ev.RequestID}, authorize)
	if rt.mutates || rt.noObject {
		// Mutations are checked before their audit record; routes that touch no
		// object are checked here.
		if _, err := req.vaults.GetVault(hr.Context(), vaultName); err != nil {
			return 0, hide(err)
		}
	}
	if rt.mutates {
		if err := c.BeforeStoredChange(hr.Context()); err != nil {
			return 0, err
		}
	}
	status, err := rt.handle(a, w, req)
	return status, hide(err)
}

// unseenVaultLocation is the location a refusal names for a vault that does not exist:
// Coffer's default location, the one its own vaults are created in.
const unseenVaultLocation = "local"

// forbidden is the 403 of a caller without perm on a vault, in Azure's words. It names the
// vault as the request did, so that its stored spelling tells nothing either.
func forbidden(caller plane.Principal, perm, vaultName, location string) error {
	kind, p, _ := strings.Cut(perm, "/")
	return &apiError{Status: http.StatusForbidden, Code: "Forbidden", Inner: "ForbiddenByPolicy", Message: fmt.Sprintf(
		"The user, group or application 'appid=%s;oid=%s' does not have %s %s permission on key vault '%s;location=%s'. Ask the vault's administrator to grant %s %s to object id %s in the vault's access policies.",
		caller.ClientID, caller.ObjectID, kind, p, vaultName, location, kind, p, caller.ObjectID)}
}

// decodeBody reads the JSON body into v, bounded by limit bytes. A body that is not UTF-8
// JSON text is refused rather than decoded with U+FFFD in place of what was sent.
func decodeBody(r *request, limit int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return badParameter("The request body is larger than the %d bytes this operation accepts.", limit)
		}
		return badParameter("The request body could not be read.")
	}
	if len(body) == 0 {
		return badParameter("The request body is empty; a JSON object is required.")
	}
	if problem := wiretext.JSONTextProblem(body); problem != "" {
		return badParameter("The request body must be UTF-8 JSON text, as Key Vault's wire format is; %s, and such a value could not be stored as sent. Nothing was changed.", problem)
	}
	if err := unmarshalBody(body, v); err != nil {
		// A field's own decoder (base64url, dates) says what is wrong with it.
		var ae *apiError
		if errors.As(err, &ae) {
			return ae
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return badParameter("The request body must be a JSON object, not a JSON %s.", te.Value)
		}
		return badParameter("The request body is not valid JSON for this operation: %s.", jsonProblem(body, err))
	}
	return nil
}

// unmarshalBody decodes a request body into v as encoding/json does. The body of a set
// carries the secret's value, and decoding it is a large share of a set's CPU: the
// go-json-experiment engine in its encoding/json compatible mode (jsonv1) does it in
// about a third of the time. A body it refuses is decoded again, from a zero v, by
// encoding/json itself, so that what the client is told (the error types decodeBody
// reads: the field, the offset) stays exactly encoding/json's.
func unmarshalBody(body []byte, v any) error {
	if jsonv1.Unmarshal(body, v) == nil {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	return json.Unmarshal(body, v)
}

// jsonProblem describes a JSON decoding error without echoing the body (it may hold a
// secret value).
func jsonProblem(body []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be a JSON %s", wiretext.Echo(memberPath(body, te)), jsonKind(te.Type.Kind().String()))
	}
	return "malformed JSON"
}

// memberPath names the member a type error is about. encoding/json reports a map's
// member by the map's field ("tags" for a tag whose value is a number); this finds the
// first member of that map holding a value of the wrong kind ("tags.env").
func memberPath(body []byte, te *json.UnmarshalTypeError) string {
	cur := json.RawMessage(body)
	for _, seg := range strings.Split(te.Field, ".") {
		var m map[string]json.RawMessage
		if json.Unmarshal(cur, &m) != nil {
			return te.Field
		}
		if cur = m[seg]; cur == nil {
			return te.Field
		}
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(cur, &members) != nil {
		return te.Field // not a map: the field itself has the wrong kind
	}
	keys := slices.Sorted(maps.Keys(members))
	for _, k := range keys {
		if jsonValueKind(members[k]) == te.Value {
			return te.Field + "." + k
		}
	}
	return te.Field
}

// jsonValueKind is encoding/json's name for the kind of a raw JSON value, as
// UnmarshalTypeError.Value gives it.
func jsonValueKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice":
		return "array"
	}
	return "number"
}

// maxResults reads the maxresults query parameter: 1–25, default 25.
func maxResults(r *request) (int, error) {
	s := r.URL.Query().Get("maxresults")
	if s == "" {
		return 25, nil
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || n < 1 || n > 25 || fmt.Sprint(n) != s {
		return 0, badParameter("maxresults must be an integer from 1 to 25, not %q.", wiretext.Echo(s))
	}
	return n, nil
}

// skipToken reads the opaque $skiptoken of a nextLink (the last key of the previous page).
func skipToken(r *request) (string, error) {
	s := r.URL.Query().Get("$skiptoken")
	if s == "" {
		return "", nil
	}
	b, err := b64url.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return "", badParameter("The $skiptoken is not one this server issued.")
	}
	return string(b), nil
}

// nextLink is the absolute URL of the page after the record `next`, or nil when there is
// none (next is empty). It
// carries api-version itself: the Go pager requests it verbatim.
func nextLink(r *request, next string, limit int) *string {
	if next == "" {
		return nil
	}
	q := url.Values{}
	q.Set("api-version", r.apiVersion)
	q.Set("$skiptoken", b64url.EncodeToString([]byte(next)))
	q.Set("maxresults", fmt.Sprint(limit))
	s := r.url(r.URL.EscapedPath() + "?" + q.Encode())
	return &s
}

func unix(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

func ctx(r *request) context.Context { return r.Context() }

type ctxT = context.Context

// wireList is the list shape of every data-plane listing.
type wireList[W any] struct {
	Value    []W     `json:"value"`
	NextLink *string `json:"nextLink"`
}
