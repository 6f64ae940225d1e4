package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The files [EnsureServerCert] keeps in the TLS directory (DIR/tls/), all mode 0600.
const (
	CAFile   = "ca.crt"     // the CA certificate, PEM: what clients trust
	CertFile = "server.crt" // the server certificate followed by the CA certificate, PEM
	KeyFile  = "server.key" // the server certificate's key, PKCS#8 PEM
)

// renewBefore is how long before its expiry a server certificate is re-issued.
const renewBefore = 30 * 24 * time.Hour

// EnsureServerCert makes dir (created 0700 if missing) hold a server certificate issued
// by ca for exactly names, and returns it with its key, the CA in its chain, and Leaf set.
//
// It keeps the existing [CertFile] and [KeyFile] when they parse and match, the certificate
// was issued by ca, its SANs equal names as sets, and more than 30 days of validity remain
// at now. Otherwise it issues a new certificate valid for [MaxLeafValidity], keeping the
// existing key when it parses, else generating an ECDSA P-256 key. [CAFile] is rewritten
// whenever it differs from ca's certificate. Every file is written atomically, mode 0600.
func EnsureServerCert(dir string, ca *CA, names ServerNames, now time.Time) (tls.Certificate, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("create tls dir: %w", err)
	}
	if err := ensureFile(filepath.Join(dir, CAFile), ca.CertPEM()); err != nil {
		return tls.Certificate{}, err
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certPEM, errCert := os.ReadFile(certPath)
	keyPEM, errKey := os.ReadFile(keyPath)
	if err := errors.Join(ignoreNotExist(errCert), ignoreNotExist(errKey)); err != nil {
		return tls.Certificate{}, fmt.Errorf("read server certificate: %w", err)
	}

	if errCert == nil && errKey == nil {
		if pair, err := tls.X509KeyPair(certPEM, keyPEM); err == nil && reusable(pair.Leaf, ca, names, now) {
			chain := chainPEM(pair.Leaf.Raw, ca)
			if err := ensureFile(keyPath, keyPEM); err != nil {
				return tls.Certificate{}, err
			}
			if err := ensureFile(certPath, chain); err != nil {
				return tls.Certificate{}, err
			}
			return serverPair(pair.Leaf, pair.PrivateKey, ca), nil
		}
	}

	var key crypto.Signer
	if errKey == nil {
		key, _ = parseKeyPEM(keyPEM) // an unreadable key is replaced, never fatal
	}
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("generate server key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("marshal server key: %w", err)
		}
		key, keyPEM = k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	der, err := ca.Issue(now, key.Public(), names, MaxLeafValidity)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse server certificate: %w", err)
	}
	// The key goes first: a crash between the two writes leaves a certificate that does
	// not match the key, which the next start replaces.
	if err := ensureFile(keyPath, keyPEM); err != nil {
		return tls.Certificate{}, err
	}
	if err := ensureFile(certPath, chainPEM(der, ca)); err != nil {
		return tls.Certificate{}, err
	}
	return serverPair(leaf, key, ca), nil
}

// reusable reports whether leaf, already known to match its key, may keep serving.
func reusable(leaf *x509.Certificate, ca *CA, names ServerNames, now time.Time) bool {
	return leaf != nil &&
		bytes.Equal(leaf.RawIssuer, ca.Cert.RawSubject) &&
		leaf.CheckSignatureFrom(ca.Cert) == nil &&
		slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) &&
		!now.Before(leaf.NotBefore) &&
		leaf.NotAfter.Sub(now) > renewBefore &&
		namesMatch(leaf, names)
}

func serverPair(leaf *x509.Certificate, key crypto.PrivateKey, ca *CA) tls.Certificate {
	return tls.Certificate{
		Certificate: [][]byte{leaf.Raw, ca.Cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}
}

func chainPEM(leafDER []byte, ca *CA) []byte {
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	return append(out, ca.CertPEM()...)
}

func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// ensureFile makes path hold exactly data with mode 0600, rewriting it atomically only when
// its content or mode differs.
func ensureFile(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() == 0o600 {
			return nil
		}
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic replaces path with data, mode 0600: a temporary file in the same
// directory, synced, then renamed over path, then the directory synced (best effort: not
// every file system syncs directories). A reader sees the old content or the new, never a
// part.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, name := filepath.Dir(path), filepath.Base(path)
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write %s: %w", name, err)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
