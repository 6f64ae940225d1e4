package server_test

// Debian's az CLI and Debian's track 2 Python SDKs against Coffer. Both skip with a
// message when the tool is absent; scripts/test.sh installs Debian's azure-cli
// (which pulls in python3-azure) when it runs as root.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	armruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// debianPython is Debian's interpreter: a machine's `python3` may be another one that
// cannot import Debian's python3-azure.
const debianPython = "/usr/bin/python3"

// loggedStack starts a server whose log goes to a file that is printed if the test
// fails.
func loggedStack(t *testing.T) *testenv.Stack {
	t.Helper()
	buf, logged := logFile(t)
	st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) {
		c.Log = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- server log ---\n%s", logged())
		}
	})
	return st
}

// toolEnv is the environment for az and Python: the caller's, minus whatever could send
// them elsewhere (proxies, another CA bundle, Azure settings, another Python path), plus
// the server's CA and kv.
func toolEnv(caPath string, kv ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		switch u := strings.ToUpper(k); {
		case strings.HasPrefix(u, "AZURE_"), strings.HasSuffix(u, "_PROXY"),
			u == "REQUESTS_CA_BUNDLE", u == "CURL_CA_BUNDLE", u == "SSL_CERT_FILE", u == "SSL_CERT_DIR",
			u == "PYTHONPATH", u == "PYTHONHOME", u == "PYTHONSTARTUP", u == "PYTHONUSERBASE":
			continue
		}
		env = append(env, e)
	}
	env = append(env, "REQUESTS_CA_BUNDLE="+caPath, "NO_PROXY=*", "no_proxy=*", "PYTHONNOUSERSITE=1")
	return append(env, kv...)
}

func TestPythonSDK(t *testing.T) {
	if out, err := exec.Command(debianPython, "-c", "import azure.keyvault.secrets, azure.identity").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import azure.keyvault.secrets and azure.identity (%v: %s); install Debian's python3-azure "+
			"(apt-get install python3-azure, or run scripts/test.sh as root)", debianPython, err, bytes.TrimSpace(out))
	}
	st := loggedStack(t)
	vaultURL := st.Server.VaultURL(server.DefaultVaultName)
	u, _ := url.Parse(vaultURL)
	testenv.ResolveLoopback(t, u.Hostname())

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, filepath.Join("testdata", "python", "secrets_e2e.py"))
	cmd.Env = toolEnv(st.Server.CAPath(),
		"COFFER_TENANT_ID="+st.Creds.TenantID,
		"COFFER_CLIENT_ID="+st.Creds.ClientID,
		"COFFER_CLIENT_SECRET="+st.Creds.ClientSecret,
		"COFFER_AUTHORITY="+st.Creds.AuthorityHost,
		"COFFER_VAULT_URL="+vaultURL,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("python: %v after %s\n--- stdout ---\n%s\n--- stderr ---\n%s", err, time.Since(start).Round(time.Millisecond), stdout.String(), stderr.String())
	}
	t.Logf("python script took %s", time.Since(start).Round(time.Millisecond))

	var got struct {
		Set struct {
			ID, Name, Value, Version, ContentType, RecoveryLevel, VaultURL string
		}
		Get                   struct{ Value, Version string }
		Delete                struct{ Name, RecoveryID, DeletedDate, ScheduledPurgeDate string }
		ListDeleted           []string
		GetDeleted            struct{ Name, RecoveryID string }
		Recover               struct{ Name, Version string }
		GetAfterRecover       string
		ListDeletedAfterPurge []string
		GetDeletedAfterPurge  any
	}
	// The script writes snake_case keys; map them onto the struct's names.
	if err := json.Unmarshal(snakeToCamel(stdout.Bytes()), &got); err != nil {
		t.Fatalf("python output: %v\n%s", err, stdout.String())
	}
	host := strings.TrimSuffix(vaultURL, "/")
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: unexpected; script output:\n%s", what, stdout.String())
		}
	}
	check("set", got.Set.Name == "py-secret" && got.Set.Value == "v1" && got.Set.ContentType == "text/plain" &&
		len(got.Set.Version) == 32 && got.Set.ID == host+"/secrets/py-secret/"+got.Set.Version &&
		got.Set.RecoveryLevel == "Recoverable+Purgeable" && got.Set.VaultURL == host)
	check("get", got.Get.Value == "v1" && got.Get.Version == got.Set.Version)
	check("delete", got.Delete.Name == "py-secret" && got.Delete.RecoveryID == host+"/deletedsecrets/py-secret")
	dd, err1 := time.Parse(time.RFC3339, got.Delete.DeletedDate)
	pd, err2 := time.Parse(time.RFC3339, got.Delete.ScheduledPurgeDate)
	check("delete dates", err1 == nil && err2 == nil && pd.Sub(dd) == 90*24*time.Hour && time.Since(dd).Abs() < time.Minute)
	check("list deleted", slices.Equal(got.ListDeleted, []string{"py-secret"}))
	check("get deleted", got.GetDeleted.Name == "py-secret" && got.GetDeleted.RecoveryID == got.Delete.RecoveryID)
	check("recover", got.Recover.Name == "py-secret" && got.Recover.Version == got.Set.Version && got.GetAfterRecover == "v1")
	check("list deleted after purge", len(got.ListDeletedAfterPurge) == 0)
	check("get deleted after purge", got.GetDeletedAfterPurge == float64(404))
}

var snakeKey = regexp.MustCompile(`"([a-z]+(?:_[a-z]+)+)":`)

// snakeToCamel turns JSON keys like "recovery_level" into "recoveryLevel" (json.Unmarshal
// matches field names case-insensitively, so RecoveryLevel takes it).
func snakeToCamel(b []byte) []byte {
	return snakeKey.ReplaceAllFunc(b, func(m []byte) []byte {
		return bytes.ReplaceAll(m, []byte("_"), nil)
	})
}

// azRunner runs the az CLI with a fresh AZURE_CONFIG_DIR and telemetry off.
type azRunner struct {
	t      *testing.T
	env    []string
	secret string // hidden in what the test prints (az --debug logs its arguments)
	total  time.Duration
}

// azRequest matches the request and response lines of az --debug (azure-core's and
// msrest's HTTP logging, and urllib3's connection log for MSAL).
var azRequest = regexp.MustCompile(`(Request URL: .*|Request method: .*|Response status: .*|"(GET|PUT|POST|DELETE|PATCH) [^"]*" \d{3}.*)`)

// exec runs az with args plus -o json --debug and returns its output, with the
// client secret hidden.
func (a *azRunner) exec(args ...string) (stdout, stderr string, err error) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(a.t.Context(), 2*time.Minute)
	defer cancel()
	full := append(slices.Clone(args), "-o", "json", "--debug")
	cmd := exec.CommandContext(ctx, "az", full...)
	cmd.Env = a.env
	cmd.Stdin = nil
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	a.total += took
	a.t.Logf("az %s: %s", strings.Join(redact(args), " "), took.Round(time.Millisecond))
	hide := strings.NewReplacer(a.secret, "***")
	return hide.Replace(out.String()), hide.Replace(errOut.String()), err
}

// httpTrace keeps the request and response lines that --debug logged, so the failing
// request and its status show.
func httpTrace(stderr string) string {
	var trace []string
	for _, l := range strings.Split(stderr, "\n") {
		if m := azRequest.FindString(l); m != "" {
			trace = append(trace, "  "+m)
		}
	}
	return strings.Join(trace, "\n")
}

// run runs az with args plus -o json --debug, and returns stdout parsed as JSON (nil for
// empty output). On failure it reports the exit, stderr's tail, and the HTTP exchanges
// that --debug logged.
func (a *azRunner) run(args ...string) any {
	a.t.Helper()
	stdout, stderr, err := a.exec(args...)
	cmdline := "az " + strings.Join(redact(args), " ")
	if err != nil {
		a.t.Fatalf("%s: %v\n--- HTTP exchanges (from --debug) ---\n%s\n--- stdout ---\n%s\n--- stderr (errors) ---\n%s",
			cmdline, err, httpTrace(stderr), stdout, azErrors(stderr))
	}
	if len(strings.TrimSpace(stdout)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		a.t.Fatalf("%s: output is not JSON: %v\n%s", cmdline, err, stdout)
	}
	return v
}

// runFail runs az like run but expects it to fail with exit status 1 (az's error for a
// refused request); it returns az's ERROR: lines. A success, or a failure of another
// kind, fails the test.
func (a *azRunner) runFail(args ...string) string {
	a.t.Helper()
	stdout, stderr, err := a.exec(args...)
	cmdline := "az " + strings.Join(redact(args), " ")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		a.t.Fatalf("%s: want exit status 1, got %v\n--- HTTP exchanges (from --debug) ---\n%s\n--- stdout ---\n%s\n--- stderr (errors) ---\n%s",
			cmdline, err, httpTrace(stderr), stdout, azErrors(stderr))
	}
	var msgs []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "ERROR:") {
			msgs = append(msgs, l)
		}
	}
	return strings.Join(msgs, "\n")
}

// redact hides the value after -p.
func redact(args []string) []string {
	out := slices.Clone(args)
	for i := range out {
		if i > 0 && (out[i-1] == "-p" || out[i-1] == "--password") {
			out[i] = "***"
		}
	}
	return out
}

// azErrors keeps az's own messages (ERROR:, WARNING:) from stderr, and its last 15 lines
// (with --debug, the traceback of the failure).
func azErrors(stderr string) string {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	var keep []string
	for _, l := range lines {
		if strings.HasPrefix(l, "ERROR:") || strings.HasPrefix(l, "WARNING:") {
			keep = append(keep, l)
		}
	}
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(keep, "\n") + "\n--- stderr tail ---\n" + strings.Join(lines, "\n")
}

// withoutLastModified is a decoded resource without systemData.lastModifiedAt, which
// every accepted PUT sets, whether or not it changes anything else.
func withoutLastModified(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, x := range m {
		out[k] = x
	}
	if sd, ok := m["systemData"].(map[string]any); ok {
		c := map[string]any{}
		for k, x := range sd {
			if k != "lastModifiedAt" {
				c[k] = x
			}
		}
		out["systemData"] = c
	}
	return out
}

// jget walks a decoded JSON value by object keys and array indexes ("0").
func jget(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// byName returns the item of a JSON list whose "name" is name.
func byName(list any, name string) any {
	items, _ := list.([]any)
	for _, it := range items {
		if jget(it, "name") == name {
			return it
		}
	}
	return nil
}

func TestAzCLI(t *testing.T) {
	azPath, err := exec.LookPath("az")
	if err != nil {
		t.Skip("az CLI not found on PATH: install Debian's azure-cli (apt-get install azure-cli), or run scripts/test.sh as root, which installs it")
	}
	st := loggedStack(t)
	base := st.Server.URL() // https://127.0.0.1:PORT
	p := port(st)
	creds := st.Creds
	cfgDir := t.TempDir()
	a := &azRunner{t: t, secret: creds.ClientSecret, env: toolEnv(st.Server.CAPath(),
		"AZURE_CONFIG_DIR="+cfgDir,
		"AZURE_CORE_COLLECT_TELEMETRY=false", // no upload off the machine
		"AZURE_CORE_NO_COLOR=true",
		"AZURE_CORE_SURVEY_MESSAGE=false",
		"AZURE_CORE_DISABLE_CONFIRM_PROMPT=true",
	)}
	t.Logf("using %s, AZURE_CONFIG_DIR=%s", azPath, cfgDir)
	t.Cleanup(func() { t.Logf("az commands took %s in all", a.total.Round(time.Millisecond)) })

	// The cloud: everything in one JSON file. The AD endpoint ends in /adfs, so MSAL skips
	// instance discovery; all three AD endpoints are set, so register sends no request;
	// microsoftGraphResourceId lets keyvault create look up the caller.
	cloud := map[string]any{
		"endpoints": map[string]string{
			"resourceManager":                base + "/",
			"activeDirectory":                base + "/adfs",
			"activeDirectoryResourceId":      "https://management.core.windows.net/",
			"activeDirectoryGraphResourceId": base + "/",
			"microsoftGraphResourceId":       base + "/",
		},
		"suffixes": map[string]string{"keyvaultDns": ".localhost:" + p},
	}
	cloudJSON, _ := json.Marshal(cloud)
	cloudFile := filepath.Join(t.TempDir(), "cloud.json")
	if err := os.WriteFile(cloudFile, cloudJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	a.run("cloud", "register", "--name", "Coffer", "--cloud-config", "@"+cloudFile)
	a.run("cloud", "set", "--name", "Coffer")
	if got := a.run("cloud", "show"); jget(got, "name") != "Coffer" || jget(got, "isActive") != true ||
		jget(got, "endpoints", "resourceManager") != base+"/" || jget(got, "suffixes", "keyvaultDns") != ".localhost:"+p {
		t.Fatalf("cloud show: %v", got)
	}

	// Login: no --allow-no-subscriptions, so a missing subscription fails.
	login := a.run("login", "--service-principal", "-u", creds.ClientID, "-p", creds.ClientSecret, "--tenant", creds.TenantID)
	sub := jget(login, "0")
	if jget(sub, "id") != server.DefaultSubscription || jget(sub, "tenantId") != creds.TenantID ||
		jget(sub, "state") != "Enabled" || jget(sub, "isDefault") != true || jget(sub, "cloudName") != "Coffer" ||
		jget(sub, "user", "name") != creds.ClientID || jget(sub, "user", "type") != "servicePrincipal" {
		t.Fatalf("login answered %v", login)
	}

	// The soft-delete guide's commands, unchanged (no --no-self-perms: the Graph stand-in
	// answers the caller lookup).
	const name, group, loc = "az-vault1", "rg1", "local" // names are 3–24 characters
	vaultID := "/subscriptions/" + server.DefaultSubscription + "/resourceGroups/" + group + "/providers/Microsoft.KeyVault/vaults/" + name
	deletedID := "/subscriptions/" + server.DefaultSubscription + "/providers/Microsoft.KeyVault/locations/" + loc + "/deletedVaults/" + name
	checkVault := func(what string, v any) {
		t.Helper()
		if jget(v, "id") != vaultID || jget(v, "name") != name || jget(v, "resourceGroup") != group ||
			jget(v, "location") != loc || jget(v, "type") != "Microsoft.KeyVault/vaults" ||
			jget(v, "properties", "tenantId") != creds.TenantID ||
			jget(v, "properties", "vaultUri") != st.Server.VaultURL(name) ||
			jget(v, "properties", "enableSoftDelete") != true ||
			jget(v, "properties", "softDeleteRetentionInDays") != float64(7) ||
			jget(v, "properties", "provisioningState") != "Succeeded" ||
			jget(v, "properties", "sku", "name") != "standard" {
			t.Fatalf("%s answered %v", what, v)
		}
	}
	created := a.run("keyvault", "create", "--name", name, "--resource-group", group, "--location", loc, "--retention-days", "7")
	checkVault("keyvault create", created)
	pol := jget(created, "properties", "accessPolicies", "0")
	if jget(pol, "tenantId") != creds.TenantID || jget(pol, "objectId") == nil || jget(pol, "objectId") == "" {
		t.Fatalf("keyvault create: access policy for the caller missing: %v", jget(created, "properties", "accessPolicies"))
	}
	checkVault("keyvault show", a.run("keyvault", "show", "--name", name))

	// az resource: az reads the api-version from the provider document
	// (GET …/providers/Microsoft.KeyVault), then GETs the vault; update GETs it, reads
	// the provider document again and PUTs back the whole body it got.
	shown := a.run("resource", "show", "--id", vaultID)
	checkVault("resource show", shown)
	updated := a.run("resource", "update", "--id", vaultID, "--set", "properties.enableSoftDelete=true")
	checkVault("resource update", updated)
	if d := cmp.Diff(withoutLastModified(shown), withoutLastModified(updated)); d != "" {
		t.Fatalf("resource update with nothing to change changed the vault (-shown +updated):\n%s", d)
	}
	msg := a.runFail("resource", "update", "--id", vaultID, "--set", "properties.enableSoftDelete=false")
	if !strings.Contains(msg, "BadRequest") || !strings.Contains(strings.ToLower(msg), "soft delete") {
		t.Fatalf("resource update turning soft delete off: az said %q; want a 400 BadRequest about soft delete", msg)
	}
	t.Logf("refused as it should be: %s", msg)
	if d := cmp.Diff(withoutLastModified(updated), withoutLastModified(a.run("resource", "show", "--id", vaultID))); d != "" {
		t.Fatalf("the refused resource update changed the vault (-before +after):\n%s", d)
	}
	list := a.run("keyvault", "list")
	if v := byName(list, name); jget(v, "id") != vaultID || jget(v, "resourceGroup") != group || jget(v, "location") != loc {
		t.Fatalf("keyvault list: no %s in %v", name, list)
	}
	if byName(list, server.DefaultVaultName) == nil {
		t.Fatalf("keyvault list: the default vault is missing from the default subscription: %v", list)
	}

	a.run("keyvault", "delete", "--name", name)
	checkDeleted := func(what string, v any) {
		t.Helper()
		del, err1 := time.Parse(time.RFC3339, fmt.Sprint(jget(v, "properties", "deletionDate")))
		purge, err2 := time.Parse(time.RFC3339, fmt.Sprint(jget(v, "properties", "scheduledPurgeDate")))
		if jget(v, "id") != deletedID || jget(v, "name") != name || jget(v, "type") != "Microsoft.KeyVault/deletedVaults" ||
			jget(v, "properties", "vaultId") != vaultID || jget(v, "properties", "location") != loc ||
			jget(v, "properties", "purgeProtectionEnabled") != false ||
			errors.Join(err1, err2) != nil || purge.Sub(del) != 7*24*time.Hour || time.Since(del).Abs() > 5*time.Minute {
			t.Fatalf("%s answered %v (dates: %v)", what, v, errors.Join(err1, err2))
		}
	}
	deleted := a.run("keyvault", "list-deleted")
	checkDeleted("keyvault list-deleted", byName(deleted, name))
	checkDeleted("keyvault show-deleted", a.run("keyvault", "show-deleted", "--name", name))
	// A deleted vault's id is location-scoped: az takes its api-version from the
	// provider document's "locations" type.
	checkDeleted("resource show (deleted vault)", a.run("resource", "show", "--id", deletedID))

	checkVault("keyvault recover", a.run("keyvault", "recover", "--name", name))
	if got := a.run("keyvault", "list-deleted"); byName(got, name) != nil {
		t.Fatalf("keyvault list-deleted after recover still lists %s: %v", name, got)
	}

	a.run("keyvault", "delete", "--name", name)
	a.run("keyvault", "purge", "--name", name)
	if got := a.run("keyvault", "list-deleted"); byName(got, name) != nil {
		t.Fatalf("keyvault list-deleted after purge still lists %s: %v", name, got)
	}
}

// armProvider is Resource Manager's Provider, as a Go client decodes it.
type armProvider struct {
	ID                 *string `json:"id"`
	Namespace          *string `json:"namespace"`
	RegistrationState  *string `json:"registrationState"`
	RegistrationPolicy *string `json:"registrationPolicy"`
	ResourceTypes      []struct {
		ResourceType *string  `json:"resourceType"`
		Locations    []string `json:"locations"`
		APIVersions  []string `json:"apiVersions"`
		Capabilities *string  `json:"capabilities"`
	} `json:"resourceTypes"`
}

// TestARMProviderDocuments reads the resource provider documents through azcore's ARM
// pipeline (token, retries, error decoding), as a Go client that resolves an
// api-version does, and uses the version it finds for vaults.
func TestARMProviderDocuments(t *testing.T) {
	st := testenv.NewStack(t)
	pl, err := armruntime.NewPipeline("coffertest", "v0.0.1", st.Cred, runtime.PipelineOptions{},
		&azarm.ClientOptions{ClientOptions: testenv.ClientOptions(st.Creds, st.HTTP)})
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(st.Creds.AuthorityHost, "/")
	get := func(path string, v any) error {
		t.Helper()
		req, err := runtime.NewRequest(t.Context(), http.MethodGet, base+path)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := pl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if !runtime.HasStatusCode(resp, http.StatusOK) {
			return runtime.NewResponseError(resp)
		}
		return runtime.UnmarshalAsJSON(resp, v)
	}
	sub := server.DefaultSubscription

	var p armProvider
	if err := get("/subscriptions/"+sub+"/providers/microsoft.keyvault?api-version=2021-04-01", &p); err != nil {
		t.Fatal(err)
	}
	if p.ID == nil || *p.ID != "/subscriptions/"+sub+"/providers/Microsoft.KeyVault" || p.Namespace == nil || *p.Namespace != "Microsoft.KeyVault" ||
		p.RegistrationState == nil || *p.RegistrationState != "Registered" || p.RegistrationPolicy == nil || *p.RegistrationPolicy == "" {
		t.Fatalf("provider %+v", p)
	}
	types := map[string][]string{}
	for _, rt := range p.ResourceTypes {
		if rt.ResourceType == nil || len(rt.APIVersions) == 0 || rt.Locations == nil || rt.Capabilities == nil {
			t.Fatalf("resource type %+v", rt)
		}
		types[*rt.ResourceType] = rt.APIVersions
	}
	for _, want := range []string{"vaults", "vaults/accessPolicies", "deletedVaults", "locations", "locations/deletedVaults", "locations/operationResults", "checkNameAvailability"} {
		if types[want] == nil {
			t.Errorf("no resource type %s in %v", want, types)
		}
	}
	for _, absent := range []string{"managedHSMs", "deletedManagedHSMs", "operations"} {
		if types[absent] != nil {
			t.Errorf("resource type %s is listed, but Coffer does not serve it", absent)
		}
	}

	// The newest stable version for vaults reads the default vault.
	version := ""
	for _, v := range types["vaults"] {
		if !strings.HasSuffix(v, "-preview") {
			version = v
			break
		}
	}
	var v struct{ ID, Name string }
	if err := get("/subscriptions/"+sub+"/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/"+server.DefaultVaultName+"?api-version="+url.QueryEscape(version), &v); err != nil ||
		v.Name != server.DefaultVaultName {
		t.Fatalf("the default vault with api-version %q: %v %+v", version, err, v)
	}

	for _, path := range []string{"/subscriptions/" + sub + "/providers?api-version=2021-04-01", "/providers?api-version=2021-04-01"} {
		var l struct{ Value []armProvider }
		if err := get(path, &l); err != nil || len(l.Value) == 0 || *l.Value[0].Namespace != "Microsoft.KeyVault" {
			t.Fatalf("%s: %v %+v", path, err, l)
		}
	}
	var tp armProvider
	if err := get("/providers/Microsoft.KeyVault?api-version=2021-04-01", &tp); err != nil || *tp.ID != "/providers/Microsoft.KeyVault" || len(tp.ResourceTypes) != len(p.ResourceTypes) {
		t.Fatalf("tenant-level provider: %v %+v", err, tp)
	}

	err = get("/subscriptions/"+sub+"/providers/Microsoft.Compute?api-version=2021-04-01", &armProvider{})
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound || re.ErrorCode != "InvalidResourceNamespace" {
		t.Fatalf("unknown namespace: %v", err)
	}
}
