package cli

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// coffer vault copy reads any Key Vault API endpoint — Azure's, or another Coffer's —
// through the Azure SDK, as any client program would, and writes what it may read into a
// Coffer vault through this server's API.
//
// Re-running continues rather than duplicates: a source version is copied unless the
// target already holds a version with the same content. For a secret the content is its
// value, content type, tags and enabled / notBefore / expires (a fingerprint of them);
// for a certificate, its X.509 thumbprint. The target's versions are counted as a
// multiset, so a source that holds the same value twice gets it twice. The API does not
// let a client set created / updated dates or version ids: the copies have new ones,
// and come in the source's order (oldest first), so the latest stays the latest.

// copyHook, when set (tests), is called after each secret version copied; an error stops
// the copy there, as an interruption would.
var copyHook func(copied int) error

// copySummary is what coffer vault copy prints.
type copySummary struct {
	From                   string   `json:"from"`
	ToVault                string   `json:"toVault"`
	Secrets                int      `json:"secrets"`
	SecretVersionsCopied   int      `json:"secretVersionsCopied"`
	SecretVersionsPresent  int      `json:"secretVersionsAlreadyPresent"`
	Certificates           int      `json:"certificates"`
	CertVersionsCopied     int      `json:"certificateVersionsCopied"`
	CertVersionsPresent    int      `json:"certificateVersionsAlreadyPresent"`
	SecretVersionsDisabled []string `json:"secretVersionsDisabledNotCopied"`
	CertsNotExportable     []string `json:"certificatesNotCopiedKeyNotExportable"`
	KeysNotCopied          []string `json:"keysNotCopied"`
	Failed                 []string `json:"failed"`
	DeletedObjectsNotRead  string   `json:"deletedObjects"`
	CreatedDatesNotCarried string   `json:"dates"`
}

func newVaultCopyCommand() *cobra.Command {
	opts := &clientOptions{}
	var from, to, sourceCA string
	return newClientCommand(cmdSpec{
		use: "copy", opts: opts,
		help: cmdHelp{
			short: "Copy secrets and exportable certificates from any Key Vault endpoint (Azure's too) into a Coffer vault",
			long: `Copy what the Key Vault API lets a client read from the vault at --from (Azure Key
Vault, or another Coffer) into the Coffer vault --to-vault, which must exist: every
secret version, oldest first, with its value, content type, tags and enabled / notBefore /
expires (but a disabled version, whose value the API does not give: listed); every certificate version whose key is exportable, imported from its secret
(PFX or PEM) with the certificate's policy. Keys are listed as not copied: Key Vault never
releases private key material. Soft-deleted objects are not read.

The source is read with the credential azidentity.DefaultAzureCredential finds:
AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (and AZURE_AUTHORITY_HOST for a
cloud other than Azure's public one) when set. Its TLS certificate must chain to the
system roots, SSL_CERT_FILE, or --source-ca.

Re-running continues where a stopped copy left off: a version the target already holds
with the same content (a secret's value, content type, tags and attributes; a
certificate's thumbprint) is not copied again. The API gives copies new version ids and
dates. Progress is shown on a terminal; a summary is printed at the end.`,
			example: `  AZURE_TENANT_ID=… AZURE_CLIENT_ID=… AZURE_CLIENT_SECRET=… \
    coffer vault copy --from https://myvault.vault.azure.net/ --to-vault myvault`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&from, "from", "", "the source vault's URL, https://NAME.vault.azure.net/")
			fs.StringVar(&to, "to-vault", "", "the Coffer vault to copy into (it must exist)")
			fs.StringVar(&sourceCA, "source-ca", "", "PEM file of a CA to trust for the source (besides the system roots and SSL_CERT_FILE)")
		},
		check: func(cmd *cobra.Command) error {
			if from == "" || to == "" {
				return usageError(errors.New("--from and --to-vault are required"))
			}
			if u, err := url.Parse(from); err != nil || u.Scheme != "https" || u.Host == "" {
				return usageError(fmt.Errorf("--from %q is not an https:// vault URL", from))
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			src, err := openSource(from, sourceCA)
			if err != nil {
				return err
			}
			vaultURL, err := c.vaultURL(cmd.Context(), to)
			if err != nil {
				return err
			}
			copts := c.clientOptions()
			dst := copyTarget{}
			if dst.secrets, err = azsecrets.NewClient(vaultURL, c.cred, &azsecrets.ClientOptions{ClientOptions: copts}); err != nil {
				return err
			}
			if dst.certs, err = azcertificates.NewClient(vaultURL, c.cred, &azcertificates.ClientOptions{ClientOptions: copts}); err != nil {
				return err
			}
			sum := copySummary{From: from, ToVault: to, CertsNotExportable: []string{}, SecretVersionsDisabled: []string{}, KeysNotCopied: []string{}, Failed: []string{},
				DeletedObjectsNotRead:  "soft-deleted objects of the source are not read",
				CreatedDatesNotCarried: "copies have new version ids and created/updated dates (the API sets them)"}
			cp := &copier{ctx: cmd.Context(), src: src, dst: dst, sum: &sum, prog: newProgress(cmd)}
			err = cp.run()
			cp.prog.done()
			if perr := printOut(cmd.OutOrStdout(), opts.Output, sum, func() table {
				t := table{header: []string{"What", "Count"}}
				for _, r := range [][2]any{{"secrets", sum.Secrets}, {"secretVersionsCopied", sum.SecretVersionsCopied},
					{"secretVersionsAlreadyPresent", sum.SecretVersionsPresent}, {"certificates", sum.Certificates},
					{"certificateVersionsCopied", sum.CertVersionsCopied}, {"certificateVersionsAlreadyPresent", sum.CertVersionsPresent},
					{"certificatesNotCopied", len(sum.CertsNotExportable)}, {"keysNotCopied", len(sum.KeysNotCopied)}, {"failed", len(sum.Failed)}} {
					t.rows = append(t.rows, []string{r[0].(string), fmt.Sprint(r[1])})
				}
				return t
			}); perr != nil && err == nil {
				err = perr
			}
			if err == nil && len(sum.Failed) > 0 {
				err = fmt.Errorf("%d objects could not be copied: %s", len(sum.Failed), strings.Join(sum.Failed, "; "))
			}
			if err != nil {
				return &hintError{err: err, hints: []string{"run the same command again: it continues where it stopped, without copying a version twice"}}
			}
			return nil
		},
	})
}

// copySource is the source vault's SDK clients.
type copySource struct {
	secrets *azsecrets.Client
	certs   *azcertificates.Client
	keys    *azkeys.Client
}

type copyTarget struct {
	secrets *azsecrets.Client
	certs   *azcertificates.Client
}

// openSource builds the source's clients with the environment's credential.
func openSource(from, caFile string) (copySource, error) {
	pool, err := rootCAs(caFile)
	if err != nil {
		return copySource{}, err
	}
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, TLSHandshakeTimeout: 10 * time.Second}}
	opts := azcore.ClientOptions{Transport: hc, Retry: policy.RetryOptions{MaxRetries: 4}}
	// Another cloud than Azure's public one (a Coffer standing in) has no instance
	// discovery to ask.
	authority := os.Getenv("AZURE_AUTHORITY_HOST")
	disco := authority != "" && !strings.Contains(strings.ToLower(authority), "login.microsoftonline.com")
	var cred azcore.TokenCredential
	if os.Getenv("AZURE_CLIENT_ID") != "" && os.Getenv("AZURE_CLIENT_SECRET") != "" {
		// The environment names a service principal: use it alone, so that a wrong secret
		// is reported as such rather than after probing every other credential.
		cred, err = azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disco})
	} else {
		cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disco})
	}
	if err != nil {
		return copySource{}, &hintError{err: fmt.Errorf("source credential: %w", err),
			hints: []string{"set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for the source"}}
	}
	var s copySource
	if s.secrets, err = azsecrets.NewClient(from, cred, &azsecrets.ClientOptions{ClientOptions: opts}); err != nil {
		return s, err
	}
	if s.certs, err = azcertificates.NewClient(from, cred, &azcertificates.ClientOptions{ClientOptions: opts}); err != nil {
		return s, err
	}
	if s.keys, err = azkeys.NewClient(from, cred, &azkeys.ClientOptions{ClientOptions: opts}); err != nil {
		return s, err
	}
	return s, nil
}

// copier is one copy at work.
type copier struct {
	ctx    context.Context
	src    copySource
	dst    copyTarget
	sum    *copySummary
	prog   *progress
	copied int
}

func (cp *copier) run() error {
	if err := cp.secrets(); err != nil {
		return err
	}
	if err := cp.certificates(); err != nil {
		return err
	}
	return cp.keys()
}

func (cp *copier) progress() {
	cp.prog.update("copying: %d secrets (%d versions copied), %d certificates", cp.sum.Secrets, cp.sum.SecretVersionsCopied, cp.sum.Certificates)
}

// secrets copies every secret that does not back a certificate.
func (cp *copier) secrets() error {
	pager := cp.src.secrets.NewListSecretPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(cp.ctx)
		if err != nil {
			return fmt.Errorf("list the source's secrets: %w", err)
		}
		for _, p := range page.Value {
			if p.ID == nil || p.Managed != nil && *p.Managed {
				continue // a certificate's secret: copied with the certificate
			}
			if err := cp.secret(p.ID.Name()); err != nil {
				return err
			}
			cp.sum.Secrets++
			cp.progress()
		}
	}
	return nil
}

// secretFingerprint identifies a version's content.
func secretFingerprint(value, contentType *string, tags map[string]*string, a *azsecrets.SecretAttributes) string {
	h := sha256.New()
	str := func(s *string) string {
		if s == nil {
			return "\x00"
		}
		return *s
	}
	fmt.Fprintf(h, "%q|%q|", str(value), str(contentType))
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%q=%q;", k, str(tags[k]))
	}
	if a != nil {
		unix := func(t *time.Time) int64 {
			if t == nil {
				return 0
			}
			return t.Unix()
		}
		fmt.Fprintf(h, "|%v|%d|%d", a.Enabled == nil || *a.Enabled, unix(a.NotBefore), unix(a.Expires))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// versionsOldestFirst lists the versions of a secret (of either side), oldest first.
func versionsOldestFirst(ctx context.Context, sc *azsecrets.Client, name string) ([]*azsecrets.SecretProperties, error) {
	var out []*azsecrets.SecretProperties
	pager := sc.NewListSecretPropertiesVersionsPager(name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			var re *azcore.ResponseError
			if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
				return nil, nil
			}
			return nil, err
		}
		out = append(out, page.Value...)
	}
	latest := ""
	if cur, err := sc.GetSecret(ctx, name, "", nil); err == nil && cur.ID != nil {
		latest = cur.ID.Version()
	}
	oldestFirst(out, latest, func(p *azsecrets.SecretProperties) (created *time.Time, version string) {
		if p.ID != nil {
			version = p.ID.Version()
		}
		if p.Attributes != nil {
			created = p.Attributes.Created
		}
		return created, version
	})
	return out, nil
}

// oldestFirst sorts versions by their created date. Created dates have a resolution of
// one second: among versions of the same second, latest (the current one) goes last;
// the others' order is not known. A version without a date sorts first.
func oldestFirst[T any](vers []T, latest string, of func(T) (created *time.Time, version string)) {
	slices.SortStableFunc(vers, func(a, b T) int {
		ca, va := of(a)
		cb, vb := of(b)
		var ta, tb time.Time
		if ca != nil {
			ta = *ca
		}
		if cb != nil {
			tb = *cb
		}
		if c := ta.Compare(tb); c != 0 || latest == "" {
			return c
		}
		switch latest {
		case va:
			return 1
		case vb:
			return -1
		}
		return 0
	})
}

// disabled reports whether a version is disabled: the API does not give its value.
func disabled(v *azsecrets.SecretProperties) bool {
	return v.Attributes != nil && v.Attributes.Enabled != nil && !*v.Attributes.Enabled
}

// secret copies the versions of one secret the target does not hold yet.
func (cp *copier) secret(name string) error {
	srcVers, err := versionsOldestFirst(cp.ctx, cp.src.secrets, name)
	if err != nil {
		return fmt.Errorf("list the versions of source secret %s: %w", name, err)
	}
	have := map[string]int{}
	dstVers, err := versionsOldestFirst(cp.ctx, cp.dst.secrets, name)
	if err != nil {
		return fmt.Errorf("list the versions of target secret %s: %w", name, err)
	}
	for _, v := range dstVers {
		if disabled(v) {
			continue // never a copy: a disabled version is not copied
		}
		got, err := cp.dst.secrets.GetSecret(cp.ctx, name, v.ID.Version(), nil)
		if err != nil {
			return fmt.Errorf("read target secret %s: %w", name, err)
		}
		have[secretFingerprint(got.Value, got.ContentType, got.Tags, got.Attributes)]++
	}
	for _, v := range srcVers {
		if disabled(v) {
			cp.sum.SecretVersionsDisabled = append(cp.sum.SecretVersionsDisabled, name+"/"+v.ID.Version())
			continue
		}
		got, err := cp.src.secrets.GetSecret(cp.ctx, name, v.ID.Version(), nil)
		if err != nil {
			cp.sum.Failed = append(cp.sum.Failed, fmt.Sprintf("secret %s version %s: %v", name, v.ID.Version(), firstLine(err.Error())))
			continue
		}
		fp := secretFingerprint(got.Value, got.ContentType, got.Tags, got.Attributes)
		if have[fp] > 0 {
			have[fp]--
			cp.sum.SecretVersionsPresent++
			continue
		}
		params := azsecrets.SetSecretParameters{Value: got.Value, ContentType: got.ContentType, Tags: got.Tags}
		if a := got.Attributes; a != nil {
			params.SecretAttributes = &azsecrets.SecretAttributes{Enabled: a.Enabled, NotBefore: a.NotBefore, Expires: a.Expires}
		}
		if _, err := cp.dst.secrets.SetSecret(cp.ctx, name, params, nil); err != nil {
			return fmt.Errorf("write secret %s: %w", name, err)
		}
		cp.sum.SecretVersionsCopied++
		cp.copied++
		if copyHook != nil {
			if err := copyHook(cp.copied); err != nil {
				return err
			}
		}
	}
	return nil
}

// certificates copies the certificates whose key is exportable, every version.
func (cp *copier) certificates() error {
	pager := cp.src.certs.NewListCertificatePropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(cp.ctx)
		if err != nil {
			return fmt.Errorf("list the source's certificates: %w", err)
		}
		for _, p := range page.Value {
			if p.ID == nil {
				continue
			}
			if err := cp.certificate(p.ID.Name()); err != nil {
				return err
			}
			cp.sum.Certificates++
			cp.progress()
		}
	}
	return nil
}

func (cp *copier) certificate(name string) error {
	pol, err := cp.src.certs.GetCertificatePolicy(cp.ctx, name, nil)
	if err != nil {
		cp.sum.Failed = append(cp.sum.Failed, fmt.Sprintf("certificate %s policy: %v", name, firstLine(err.Error())))
		return nil
	}
	if pol.KeyProperties == nil || pol.KeyProperties.Exportable == nil || !*pol.KeyProperties.Exportable {
		cp.sum.CertsNotExportable = append(cp.sum.CertsNotExportable, name)
		return nil
	}
	have := map[string]int{}
	dpager := cp.dst.certs.NewListCertificatePropertiesVersionsPager(name, nil)
	for dpager.More() {
		page, err := dpager.NextPage(cp.ctx)
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
			break
		}
		if err != nil {
			return fmt.Errorf("list the versions of target certificate %s: %w", name, err)
		}
		for _, v := range page.Value {
			have[hex.EncodeToString(v.X509Thumbprint)]++
		}
	}
	var vers []*azcertificates.CertificateProperties
	spager := cp.src.certs.NewListCertificatePropertiesVersionsPager(name, nil)
	for spager.More() {
		page, err := spager.NextPage(cp.ctx)
		if err != nil {
			return fmt.Errorf("list the versions of source certificate %s: %w", name, err)
		}
		vers = append(vers, page.Value...)
	}
	latest := "" // among versions of the same second, the current one goes last
	if cur, err := cp.src.certs.GetCertificate(cp.ctx, name, "", nil); err == nil && cur.ID != nil {
		latest = cur.ID.Version()
	}
	oldestFirst(vers, latest, func(p *azcertificates.CertificateProperties) (created *time.Time, version string) {
		if p.ID != nil {
			version = p.ID.Version()
		}
		if p.Attributes != nil {
			created = p.Attributes.Created
		}
		return created, version
	})
	policy := pol.CertificatePolicy
	policy.ID = nil
	for _, v := range vers {
		tp := hex.EncodeToString(v.X509Thumbprint)
		if have[tp] > 0 {
			have[tp]--
			cp.sum.CertVersionsPresent++
			continue
		}
		c, err := cp.src.certs.GetCertificate(cp.ctx, name, v.ID.Version(), nil)
		if err != nil || c.SID == nil {
			cp.sum.Failed = append(cp.sum.Failed, fmt.Sprintf("certificate %s version %s: %v", name, v.ID.Version(), err))
			continue
		}
		sid := azsecrets.ID(*c.SID)
		sec, err := cp.src.secrets.GetSecret(cp.ctx, sid.Name(), sid.Version(), nil)
		if err != nil || sec.Value == nil {
			cp.sum.Failed = append(cp.sum.Failed, fmt.Sprintf("certificate %s version %s: its secret: %v", name, v.ID.Version(), err))
			continue
		}
		p := policy
		if sec.ContentType != nil && p.SecretProperties != nil {
			sp := *p.SecretProperties
			sp.ContentType = sec.ContentType
			p.SecretProperties = &sp
		}
		params := azcertificates.ImportCertificateParameters{Base64EncodedCertificate: sec.Value, CertificatePolicy: &p, Tags: c.Tags}
		if a := c.Attributes; a != nil {
			params.CertificateAttributes = &azcertificates.CertificateAttributes{Enabled: a.Enabled}
		}
		if _, err := cp.dst.certs.ImportCertificate(cp.ctx, name, params, nil); err != nil {
			if cp.ctx.Err() != nil {
				return err
			}
			// A policy this server refuses (another issuer, say) fails this certificate only.
			cp.sum.Failed = append(cp.sum.Failed, fmt.Sprintf("certificate %s version %s: %s", name, v.ID.Version(), firstLine(err.Error())))
			return nil
		}
		cp.sum.CertVersionsCopied++
	}
	return nil
}

// keys lists the keys, which are not copied.
func (cp *copier) keys() error {
	pager := cp.src.keys.NewListKeyPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(cp.ctx)
		if err != nil {
			return fmt.Errorf("list the source's keys: %w", err)
		}
		for _, p := range page.Value {
			if p.KID == nil || p.Managed != nil && *p.Managed {
				continue
			}
			cp.sum.KeysNotCopied = append(cp.sum.KeysNotCopied, p.KID.Name())
		}
	}
	return nil
}
