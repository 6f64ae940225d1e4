package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

// needle is one encoded form of a canary that must not appear in any file.
type needle struct {
	canary, form string
	b            []byte
}

// needles returns the forms a canary could be stored in: raw, hex (both cases), and
// standard and URL base64 at each of the three byte alignments. For base64 the needle is
// 16 characters from the middle of the encoding of (k leading bytes + canary), k = 0..2:
// they depend on canary bytes only, so they appear wherever the canary is base64-encoded
// inside a longer byte string, whatever precedes it.
func needles(canary string) []needle {
	out := []needle{
		{canary, "raw", []byte(canary)},
		{canary, "hex", []byte(hex.EncodeToString([]byte(canary)))},
		{canary, "HEX", []byte(strings.ToUpper(hex.EncodeToString([]byte(canary))))},
	}
	for _, enc := range []struct {
		name string
		e    *base64.Encoding
	}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
		for k := range 3 {
			s := enc.e.EncodeToString(append(make([]byte, k), canary...))
			mid := s[4 : len(s)-4] // drop the groups that hold prefix bytes or padding
			c := len(mid) / 2
			out = append(out, needle{canary, fmt.Sprintf("%s@%d", enc.name, k), []byte(mid[c-8 : c+8])})
		}
	}
	return out
}

// scanTree reads every file under root and reports each needle found, as "path: form of canary".
func scanTree(t *testing.T, root string, ns []needle) []string {
	t.Helper()
	var found []string
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, path)
		for _, n := range ns {
			if bytes.Contains(b, n.b) {
				found = append(found, fmt.Sprintf("%s: %s of %q", rel, n.form, n.canary))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", root, err)
	}
	if files == 0 {
		t.Fatalf("scan %s: no files", root)
	}
	return found
}

// checkModes asserts that root and every directory under it are 0700 and every file 0600.
func checkModes(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case fi.IsDir():
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("directory %s has mode %v, want 0700", rel, fi.Mode().Perm())
			}
		case fi.Mode().IsRegular():
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("file %s has mode %v, want 0600", rel, fi.Mode().Perm())
			}
		default:
			t.Errorf("%s is neither a file nor a directory: %v", rel, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAtRestScannerFinds is the positive control of the scanner: each form of a canary,
// embedded in other bytes at any offset, is found.
func TestAtRestScannerFinds(t *testing.T) {
	canary := "coffer-canary-" + randHex(t, 16)
	ns := needles(canary)
	pad := []byte("\x00\x01junk-before:")
	for _, n := range ns {
		for shift := range 3 {
			dir := t.TempDir()
			var content []byte
			switch {
			case n.form == "raw":
				content = fmt.Appendf(nil, "%s%s%s-after", pad[:shift+1], canary, pad)
			case n.form == "hex":
				content = fmt.Appendf(nil, "%s%x%s", pad[:shift+1], "xyz"+canary+"tail", pad)
			case n.form == "HEX":
				content = fmt.Appendf(nil, "%s%X%s", pad[:shift+1], "xyz"+canary+"tail", pad)
			default:
				// A JSON-ish value whose base64 holds the canary after some other bytes.
				var k int
				var name string
				fmt.Sscanf(strings.Replace(n.form, "@", " ", 1), "%s %d", &name, &k)
				enc := base64.StdEncoding
				if name == "base64url" {
					enc = base64.URLEncoding
				}
				plain := append(bytes.Repeat([]byte{0xfb}, k+3*shift), canary...)
				plain = append(plain, 0xff, 0xfe)
				content = fmt.Appendf(nil, `{"v":"%s"}`, enc.EncodeToString(plain))
			}
			if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sub", ".hidden"), content, 0o600); err != nil {
				t.Fatal(err)
			}
			found := scanTree(t, dir, ns)
			ok := false
			for _, f := range found {
				ok = ok || strings.Contains(f, ": "+n.form+" of")
			}
			if !ok {
				t.Errorf("scanner missed %s (shift %d) in %q; found %v", n.form, shift, content, found)
			}
		}
	}
}

// TestNoPlaintextAtRest: no file under the data dir holds a secret's value, tag or
// content type in clear, hex or base64 — right after a SIGKILL, and after a clean
// shutdown — and the data dir's modes are 0700/0600.
func TestNoPlaintextAtRest(t *testing.T) {
	t.Parallel()
	c := startProc(t)
	dir := c.p.DataDir
	ctx := t.Context()

	mk := func(kind string) string { return kind + "canary-" + randHex(t, 16) }
	var canaries []string
	add := func(s string) *string { canaries = append(canaries, s); return to.Ptr(s) }

	// a: two versions, then its properties updated.
	if _, err := c.secrets.SetSecret(ctx, "atrest-a", azsecrets.SetSecretParameters{
		Value: add(mk("coffer-")), ContentType: add(mk("ct")), Tags: map[string]*string{"k": add(mk("tag"))},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.secrets.SetSecret(ctx, "atrest-a", azsecrets.SetSecretParameters{
		Value: add(mk("coffer-")), ContentType: add(mk("ct")), Tags: map[string]*string{"k": add(mk("tag"))},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.secrets.UpdateSecretProperties(ctx, "atrest-a", "", azsecrets.UpdateSecretPropertiesParameters{
		ContentType: add(mk("ct")), Tags: map[string]*string{"k2": add(mk("tag"))},
	}, nil); err != nil {
		t.Fatal(err)
	}
	bk, err := c.secrets.BackupSecret(ctx, "atrest-a", nil)
	if err != nil {
		t.Fatal(err)
	}

	// b: deleted and recovered.
	bValue := add(mk("coffer-"))
	if _, err := c.secrets.SetSecret(ctx, "atrest-b", azsecrets.SetSecretParameters{
		Value: bValue, ContentType: add(mk("ct")), Tags: map[string]*string{"k": add(mk("tag"))},
	}, nil); err != nil {
		t.Fatal(err)
	}
	lifecycle(t, c.secrets, "atrest-b", "delete", "recover")

	// c: backed up, deleted, purged and restored.
	cValue := add(mk("coffer-"))
	if _, err := c.secrets.SetSecret(ctx, "atrest-c", azsecrets.SetSecretParameters{
		Value: cValue, Tags: map[string]*string{"k": add(mk("tag"))},
	}, nil); err != nil {
		t.Fatal(err)
	}
	bc, err := c.secrets.BackupSecret(ctx, "atrest-c", nil)
	if err != nil {
		t.Fatal(err)
	}
	lifecycle(t, c.secrets, "atrest-c", "delete", "purge")
	if _, err := c.secrets.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bc.Value}, nil); err != nil {
		t.Fatal(err)
	}

	var ns []needle
	for _, cn := range canaries {
		ns = append(ns, needles(cn)...)
	}
	// The backup blobs leave the server, but they too are sealed.
	for _, blob := range [][]byte{bk.Value, bc.Value} {
		for _, n := range ns {
			if bytes.Contains(blob, n.b) {
				t.Errorf("backup blob holds the %s of %q", n.form, n.canary)
			}
		}
	}

	check := func(when string) {
		t.Helper()
		for _, f := range scanTree(t, dir, ns) {
			t.Errorf("%s: found %s", when, f)
		}
		checkModes(t, dir)
	}

	c.p.Kill()
	check("after SIGKILL")

	// The scan reaches every file, hidden ones in subdirectories included.
	control := filepath.Join(dir, "tls", ".control")
	if err := os.WriteFile(control, []byte("x"+canaries[0]+"y"), 0o600); err != nil {
		t.Fatal(err)
	}
	if found := scanTree(t, dir, ns); len(found) != 1 || !strings.Contains(found[0], "raw of") {
		t.Errorf("control canary: scanner found %v, want exactly tls/.control", found)
	}
	if err := os.Remove(control); err != nil {
		t.Fatal(err)
	}

	c2 := c.restart(t)
	for name, want := range map[string]string{"atrest-b": *bValue, "atrest-c": *cValue} {
		got, err := c2.secrets.GetSecret(ctx, name, "", nil)
		if err != nil || *got.Value != want {
			t.Fatalf("%s after restart: %v", name, err)
		}
	}
	c2.p.Term()
	check("after restart and SIGTERM")
}
