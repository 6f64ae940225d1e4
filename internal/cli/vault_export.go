package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"filippo.io/age"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/coffer/coffer/internal/vaultfile"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// passphraseEnv is where coffer vault export and import read the passphrase when stdin
// is not a terminal.
const passphraseEnv = "COFFER_EXPORT_PASSPHRASE"

func newVaultExportCommand() *cobra.Command {
	opts := &clientOptions{}
	var name, file string
	var recipients []string
	var passphrase bool
	return newClientCommand(cmdSpec{
		use: "export", opts: opts,
		help: cmdHelp{
			short: "Export a whole vault, every object, version and deleted object, to one age-encrypted file (administrator only)",
			long: `Export a vault (GET /admin/export/{vault}) to one file: its settings, access policies
and role assignments, and every secret, key and certificate with every version, attribute,
tag and policy, the certificate issuers and contacts, and the soft-deleted objects with
their deletion and scheduled purge dates. coffer vault import brings it back, into any
Coffer deployment.

The server streams the records over TLS; this command encrypts them with age before they
reach the disk: to each --recipient (an age X25519 public key, age1…), or with a
passphrase (--passphrase: asked on the terminal, else read from ` + passphraseEnv + `).
The file is written beside its final name and renamed into place once the export's
checksum has checked out, so a cut export leaves no file. Every export is recorded in the
deletion ledger (action export).`,
			example: `  age-keygen -o key.txt
  coffer vault export --name myvault --file myvault.cfx --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  COFFER_EXPORT_PASSPHRASE=… coffer vault export --name myvault --file myvault.cfx --passphrase`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&name, "name", "n", "", "the vault to export")
			fs.StringVarP(&file, "file", "f", "", "the file to write (it must not exist)")
			fs.StringArrayVar(&recipients, "recipient", nil, "an age X25519 recipient (age1…) to encrypt to; repeatable")
			fs.BoolVar(&passphrase, "passphrase", false, "encrypt with a passphrase (asked on the terminal, else from "+passphraseEnv+")")
		},
		check: func(cmd *cobra.Command) error {
			switch {
			case name == "" || file == "":
				return usageError(errors.New("--name and --file are required"))
			case len(recipients) == 0 && !passphrase:
				return usageError(errors.New("say how to encrypt the export: --recipient age1… (repeatable) or --passphrase"))
			case len(recipients) > 0 && passphrase:
				return usageError(errors.New("--recipient and --passphrase cannot be used together"), "age encrypts a passphrase file to the passphrase alone")
			}
			if _, err := os.Lstat(file); err == nil {
				return usageError(fmt.Errorf("%s exists", file), "choose another --file; an export never overwrites a file")
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			var rs []age.Recipient
			var err error
			if passphrase {
				var p string
				if p, err = readPassphrase(cmd, true); err == nil {
					var r age.Recipient
					r, err = vaultfile.PassphraseRecipient(p)
					rs = []age.Recipient{r}
				}
			} else {
				rs, err = vaultfile.Recipients(recipients)
			}
			if err != nil {
				return usageError(err)
			}
			t, err := exportTo(cmd, c, name, file, rs)
			if err != nil {
				return err
			}
			out := map[string]any{"vault": name, "file": file, "records": t.Records, "counts": t.Counts, "sha256": t.SHA256}
			return printOut(cmd.OutOrStdout(), opts.Output, out, func() table {
				tab := table{header: []string{"What", "Count"}}
				for _, k := range sortedKeys(t.Counts) {
					tab.rows = append(tab.rows, []string{k, strconv.Itoa(t.Counts[k])})
				}
				return tab
			})
		},
	})
}

// exportTo streams the export of vault into file, encrypted to rs.
func exportTo(cmd *cobra.Command, c *client, vault, file string, rs []age.Recipient) (vaultfile.Trailer, error) {
	ctx := cmd.Context()
	resp, err := c.stream(ctx, http.MethodGet, "/admin/export/"+url.PathEscape(vault), nil)
	if err != nil {
		return vaultfile.Trailer{}, err
	}
	defer resp.Body.Close()
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".partial-*")
	if err != nil {
		return vaultfile.Trailer{}, err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	enc, err := vaultfile.Encrypt(tmp, rs...)
	if err != nil {
		return vaultfile.Trailer{}, err
	}
	prog := newProgress(cmd)
	defer prog.done()
	counted := &countingReader{r: resp.Body, on: func(n int64) { prog.update("exporting %s: %d MB", vault, n>>20) }}
	fr, err := vaultfile.NewReader(io.TeeReader(counted, enc))
	if err != nil {
		return vaultfile.Trailer{}, fmt.Errorf("the server's export stream: %w", err)
	}
	for {
		_, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return vaultfile.Trailer{}, fmt.Errorf("the export was cut off or damaged on its way; no file was written: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return vaultfile.Trailer{}, err
	}
	if err := tmp.Sync(); err != nil {
		return vaultfile.Trailer{}, err
	}
	if err := tmp.Close(); err != nil {
		return vaultfile.Trailer{}, err
	}
	// Link never replaces a file made meanwhile; where the file system has no hard links,
	// a rename after a last look.
	if err := os.Link(tmp.Name(), file); err != nil {
		if errors.Is(err, os.ErrExist) {
			return vaultfile.Trailer{}, err
		}
		if _, serr := os.Lstat(file); serr == nil {
			return vaultfile.Trailer{}, fmt.Errorf("%s: %w", file, os.ErrExist)
		}
		if err := os.Rename(tmp.Name(), file); err != nil {
			return vaultfile.Trailer{}, err
		}
	}
	os.Remove(tmp.Name())
	ok = true
	return fr.Trailer(), nil
}

// countingReader reports how much has been read, now and then.
type countingReader struct {
	r    io.Reader
	n    int64
	last int64
	on   func(int64)
	err  error // the reader's error other than io.EOF
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
	}
	if c.n-c.last >= 1<<20 {
		c.last = c.n
		c.on(c.n)
	}
	return n, err
}

// stream sends a request to one of Coffer's own routes with a bearer token and body as
// it is read (the admin pipeline would hold a body, or an answer, whole); an answer that
// is not 2xx is an *azcore.ResponseError.
func (c *client) stream(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server.String()+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/json, application/x-ndjson")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, runtime.NewResponseError(resp)
	}
	return resp, nil
}

// readPassphrase asks for the passphrase on the terminal (twice when confirm), or reads
// it from passphraseEnv when stdin is not one.
func readPassphrase(cmd *cobra.Command, confirm bool) (string, error) {
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !isTerminal(in) {
		p := os.Getenv(passphraseEnv)
		if p == "" {
			return "", fmt.Errorf("no passphrase: stdin is not a terminal and %s is unset", passphraseEnv)
		}
		return p, nil
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(cmd.ErrOrStderr(), prompt)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		return string(b), err
	}
	p, err := ask("Passphrase: ")
	if err != nil || !confirm {
		return p, err
	}
	again, err := ask("Passphrase again: ")
	if err != nil {
		return "", err
	}
	if again != p {
		return "", errors.New("the passphrases differ")
	}
	return p, nil
}
