package cli

// The plumbing of the data-plane commands (secret, key, certificate): the flags that name
// an object, the SDK clients of a vault, the flags az spells the same way for every kind
// (--tags, --expires, --not-before, --enabled/--disabled), and az's output conventions.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Kinds of data-plane objects, as the command groups and the URL paths name them.
const (
	kindSecret      = "secret"
	kindKey         = "key"
	kindCertificate = "certificate"
)

// vaultOptions name a vault on the data plane: --vault-name.
type vaultOptions struct {
	clientOptions
	VaultName string
}

func (o *vaultOptions) addFlags(fs *pflag.FlagSet, _ string) {
	fs.StringVar(&o.VaultName, "vault-name", "", "name of the vault (required)")
}

func (o *vaultOptions) resolve(kind, verb string) (vault, name, version string, err error) {
	if o.VaultName == "" {
		return "", "", "", &hintError{code: exitUsage, err: errors.New("--vault-name is required"),
			hints: []string{fmt.Sprintf("coffer %s %s --vault-name VAULT", kind, verb)}}
	}
	return o.VaultName, "", "", nil
}

func (o *vaultOptions) clientOpts() *clientOptions { return &o.clientOptions }

// namedOptions name the object a command creates, imports or merges into: --vault-name
// and --name. nameHint is the hint of a missing --name; a command that checks --name
// together with other flags leaves it "" and checks it itself.
type namedOptions struct {
	vaultOptions
	Name     string
	nameHint string
}

func (o *namedOptions) addFlags(fs *pflag.FlagSet, kind string) {
	fs.StringVarP(&o.Name, "name", "n", "", "name of the "+kind+" (required)")
	o.vaultOptions.addFlags(fs, kind)
}

func (o *namedOptions) resolve(kind, verb string) (vault, name, version string, err error) {
	if vault, _, _, err = o.vaultOptions.resolve(kind, verb); err != nil {
		return "", "", "", err
	}
	if o.Name == "" && o.nameHint != "" {
		return "", "", "", requireFlag("name", o.nameHint)
	}
	return vault, o.Name, "", nil
}

// objectOptions name one object: --vault-name and --name, or --id (az's forms).
type objectOptions struct {
	clientOptions
	VaultName string
	Name      string
	ID        string
}

func (o *objectOptions) addFlags(fs *pflag.FlagSet, kind string) {
	fs.StringVar(&o.VaultName, "vault-name", "", "name of the vault (required unless --id)")
	fs.StringVarP(&o.Name, "name", "n", "", "name of the "+kind+" (required unless --id)")
	fs.StringVar(&o.ID, "id", "", "id of the "+kind+", https://VAULT.DOMAIN/"+kind+"s/NAME[/VERSION], instead of --vault-name and --name")
}

// resolve checks the flags and, for --id, fills the vault name and name from it; the
// version is the one --id names.
func (o *objectOptions) resolve(kind, verb string) (vault, name, version string, err error) {
	if o.ID != "" {
		if o.VaultName != "" || o.Name != "" {
			return "", "", "", &hintError{code: exitUsage, err: errors.New("--id names the vault and the " + kind + ": give it alone, without --vault-name or --name"),
				hints: []string{fmt.Sprintf("coffer %s %s --id https://VAULT.localhost:8443/%ss/NAME", kind, verb, kind)}}
		}
		if o.VaultName, o.Name, version, err = parseObjectID(o.ID, kind); err != nil {
			return "", "", "", err
		}
	}
	if o.VaultName == "" || o.Name == "" {
		return "", "", "", &hintError{code: exitUsage, err: errors.New("--vault-name and --name are required"),
			hints: []string{fmt.Sprintf("coffer %s %s --vault-name VAULT --name NAME", kind, verb)}}
	}
	return o.VaultName, o.Name, version, nil
}

func (o *objectOptions) clientOpts() *clientOptions { return &o.clientOptions }

// parseObjectID splits https://V.DOMAIN[:PORT]/{kind}s/NAME[/VERSION] (also the
// deleted{kind}s form of a recoveryId).
func parseObjectID(id, kind string) (vault, name, version string, err error) {
	bad := &hintError{code: exitUsage, err: fmt.Errorf("--id %q is not a %s id", id, kind),
		hints: []string{fmt.Sprintf("a %s id looks like https://VAULT.localhost:8443/%ss/NAME[/VERSION]", kind, kind)}}
	u, perr := url.Parse(id)
	if perr != nil || u.Scheme != "https" || u.Host == "" {
		return "", "", "", bad
	}
	host := u.Hostname()
	i := strings.IndexByte(host, '.')
	if i <= 0 {
		return "", "", "", bad
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) < 2 || len(segs) > 3 || (segs[0] != kind+"s" && segs[0] != "deleted"+kind+"s") || segs[1] == "" {
		return "", "", "", bad
	}
	if len(segs) == 3 {
		version = segs[2]
	}
	return host[:i], segs[1], version, nil
}

// versionOptions name one version of an object: those of objectOptions and --version;
// resolve returns --version, else the version of --id ("" for the latest).
type versionOptions struct {
	objectOptions
	Version string
}

func (o *versionOptions) addFlags(fs *pflag.FlagSet, kind string) {
	o.objectOptions.addFlags(fs, kind)
	fs.StringVarP(&o.Version, "version", "v", "", "version of the "+kind+" (default: the latest)")
}

func (o *versionOptions) resolve(kind, verb string) (vault, name, version string, err error) {
	vault, name, version, err = o.objectOptions.resolve(kind, verb)
	if o.Version != "" {
		version = o.Version
	}
	return vault, name, version, err
}

func (c *client) secretsClient(ctx context.Context, vault string) (*azsecrets.Client, error) {
	u, err := c.vaultURL(ctx, vault)
	if err != nil {
		return nil, err
	}
	return azsecrets.NewClient(u, c.cred, &azsecrets.ClientOptions{ClientOptions: c.clientOptions()})
}

func (c *client) keysClient(ctx context.Context, vault string) (*azkeys.Client, error) {
	u, err := c.vaultURL(ctx, vault)
	if err != nil {
		return nil, err
	}
	return azkeys.NewClient(u, c.cred, &azkeys.ClientOptions{ClientOptions: c.clientOptions()})
}

func (c *client) certificatesClient(ctx context.Context, vault string) (*azcertificates.Client, error) {
	u, err := c.vaultURL(ctx, vault)
	if err != nil {
		return nil, err
	}
	return azcertificates.NewClient(u, c.cred, &azcertificates.ClientOptions{ClientOptions: c.clientOptions()})
}

// attrFlags are az's --expires and --not-before, and --enabled (set-attributes) or
// --disabled (set, create, import).
type attrFlags struct {
	Expires   string
	NotBefore string
	Enabled   bool
	Disabled  bool
	fs        *pflag.FlagSet
}

func (o *attrFlags) AddFlags(fs *pflag.FlagSet, enabledFlag bool) {
	o.fs = fs
	fs.StringVar(&o.Expires, "expires", "", "expiration, UTC, e.g. 2030-01-31T00:00:00Z or 2030-01-31")
	fs.StringVar(&o.NotBefore, "not-before", "", "not usable before, UTC, e.g. 2030-01-01T00:00:00Z or 2030-01-01")
	if enabledFlag {
		fs.BoolVar(&o.Enabled, "enabled", false, "enable or disable it: --enabled, --enabled true|false")
	} else {
		fs.BoolVar(&o.Disabled, "disabled", false, "create it disabled: --disabled, --disabled true|false")
	}
}

// propFlags are the attribute flags and --tags, which the commands that create or change
// an object take together.
type propFlags struct {
	attrFlags
	tagFlags
}

func (o *propFlags) AddFlags(fs *pflag.FlagSet, enabledFlag bool) {
	o.attrFlags.AddFlags(fs, enabledFlag)
	o.tagFlags.AddFlags(fs)
}

// parse returns the attributes and the tags the flags give.
func (o *propFlags) parse() (parsedAttrs, map[string]*string, error) {
	attrs, err := o.attrFlags.parse()
	if err != nil {
		return attrs, nil, err
	}
	tags, err := o.tagFlags.parse()
	return attrs, tags, err
}

// parsedAttrs are the attributes the flags set; nil pointers are attributes left alone.
type parsedAttrs struct {
	Enabled   *bool
	Expires   *time.Time
	NotBefore *time.Time
}

func (o *attrFlags) parse() (parsedAttrs, error) {
	var p parsedAttrs
	changed := func(n string) bool { return o.fs != nil && o.fs.Changed(n) }
	if changed("enabled") {
		v := o.Enabled
		p.Enabled = &v
	}
	if changed("disabled") {
		v := !o.Disabled
		p.Enabled = &v
	}
	var err error
	if o.Expires != "" {
		if p.Expires, err = parseDate("expires", o.Expires); err != nil {
			return p, err
		}
	}
	if o.NotBefore != "" {
		if p.NotBefore, err = parseDate("not-before", o.NotBefore); err != nil {
			return p, err
		}
	}
	return p, nil
}

func (p parsedAttrs) any() bool { return p.Enabled != nil || p.Expires != nil || p.NotBefore != nil }

var dateLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"}

// parseDate reads an ISO 8601 date as az does; a date without a zone is UTC.
func parseDate(flag, s string) (*time.Time, error) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, &hintError{code: exitUsage, err: fmt.Errorf("--%s %q is not a date", flag, s),
		hints: []string{"use ISO 8601 in UTC, e.g. 2030-01-31T00:00:00Z or 2030-01-31"}}
}

// tagFlags is az's --tags: KEY=VALUE pairs, space-separated in one argument, or the flag
// repeated; "--tags ”" clears the tags.
type tagFlags struct {
	Tags []string
	fs   *pflag.FlagSet
}

func (o *tagFlags) AddFlags(fs *pflag.FlagSet) {
	o.fs = fs
	fs.StringArrayVar(&o.Tags, "tags", nil, `tags, KEY=VALUE: "a=1 b=2" or --tags a=1 --tags b=2; --tags "" clears them`)
}

// parse returns the tags; nil when --tags was not given, an empty map to clear them.
func (o *tagFlags) parse() (map[string]*string, error) {
	if o.fs == nil || !o.fs.Changed("tags") {
		return nil, nil
	}
	m := map[string]*string{}
	for _, a := range o.Tags {
		for _, kv := range strings.Fields(a) {
			k, v, _ := strings.Cut(kv, "=")
			if k == "" {
				return nil, &hintError{code: exitUsage, err: fmt.Errorf("--tags: %q has no key", kv), hints: []string{`give tags as KEY=VALUE, e.g. --tags "env=prod team=db"`}}
			}
			m[k] = &v
		}
	}
	return m, nil
}

// readFile reads a file named by a flag, with the flag in the error.
func readFile(flag, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return b, nil
}

// createNew writes a file that must not exist yet: az's download refuses to overwrite,
// and Coffer's backup does too (az's overwrites), since a backup replaced by mistake is
// lost.
func createNew(flag, path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return existsError(flag, path)
		}
		return fmt.Errorf("--%s: %w", flag, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("--%s: %w", flag, err)
	}
	return f.Close()
}

// fileFlag is a --file a command cannot do without; hint is the example of a missing one.
type fileFlag struct{ path, hint string }

func (f *fileFlag) AddFlags(fs *pflag.FlagSet, usage string) {
	fs.StringVarP(&f.path, "file", "f", "", usage)
}

func (f *fileFlag) check() error {
	if f.path == "" {
		return requireFlag("file", f.hint)
	}
	return nil
}

// downloadFlags are --file and --encoding of the download commands.
type downloadFlags struct{ File, Encoding string }

func (o *downloadFlags) AddFlags(fs *pflag.FlagSet, fileUsage, encodingDefault, encodingUsage string) {
	fs.StringVarP(&o.File, "file", "f", "", fileUsage)
	fs.StringVarP(&o.Encoding, "encoding", "e", encodingDefault, encodingUsage)
}

// check checks them before any request, the encoding with checkEncoding: --file is
// required and must not exist yet.
func (o *downloadFlags) check(kind string, checkEncoding func(string) error) error {
	if o.File == "" {
		return requireFlag("file", "coffer "+kind+" download --vault-name VAULT --name NAME --file PATH")
	}
	if err := checkEncoding(o.Encoding); err != nil {
		return err
	}
	return refuseExisting("file", o.File)
}

// refuseExisting refuses, before any request, a path createNew would refuse after it.
func refuseExisting(flag, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return existsError(flag, path)
	}
	return nil
}

func existsError(flag, path string) error {
	return &hintError{err: fmt.Errorf("--%s: file or directory %s already exists", flag, path),
		hints: []string{"choose another path, or remove the file first"}}
}

// requireFlag returns the usage error of a missing flag.
func requireFlag(name, example string) error {
	return &hintError{code: exitUsage, err: fmt.Errorf("--%s is required", name), hints: []string{example}}
}

// noArgs refuses positional arguments with a hint about az's space-separated lists.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &hintError{code: exitUsage, err: fmt.Errorf("unexpected argument %q", args[0]),
			hints: []string{`coffer takes no positional arguments: give lists in one quoted argument ("a=1 b=2") or repeat the flag`}}
	}
	return nil
}

// azDate is a date as az prints it: Python's isoformat of a UTC datetime.
func azDate(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05+00:00")
}

// b64 is bytes as az prints them: standard base64; nil stays null.
func b64(b []byte) any {
	if b == nil {
		return nil
	}
	return base64.StdEncoding.EncodeToString(b)
}

// tagsJSON is tags as az prints them: null when there are none.
func tagsJSON(t map[string]*string) any {
	if t == nil {
		return nil
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// orNil turns a nil pointer into a JSON null and a set one into its value.
func orNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// columns are the -o table / tsv columns of az-shaped objects: a header, and the dotted
// path of the column's cell in each object (e.g. "attributes.enabled").
type columns [][2]string

// mapTable is the -o table / tsv form of az-shaped objects: one row per object, one
// column per dotted path.
func mapTable(items []map[string]any, cols ...[2]string) func() table {
	return func() table {
		t := table{}
		for _, c := range cols {
			t.header = append(t.header, c[0])
		}
		for _, it := range items {
			row := make([]string, len(cols))
			for i, c := range cols {
				row[i] = cell(lookup(it, c[1]))
			}
			t.rows = append(t.rows, row)
		}
		return t
	}
}

func lookup(m map[string]any, path string) any {
	var v any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case *string:
		return deref(x)
	case map[string]*string:
		var parts []string
		for _, k := range sortedKeys(x) {
			parts = append(parts, k+"="+deref(x[k]))
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// nonNil makes an empty list print as [] rather than null.
func nonNil(items []map[string]any) []map[string]any {
	if items == nil {
		return []map[string]any{}
	}
	return items
}

// maxResults is az's --maxresults of the list commands: 0 means all.
type maxResults struct{ N int }

func (o *maxResults) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.N, "maxresults", 0, "list at most this many (default: all)")
}

func (o *maxResults) full(n int) bool { return o.N > 0 && n >= o.N }
