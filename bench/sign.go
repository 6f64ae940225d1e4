package main

// The signing workloads: sign-rs256 and sign-es256 through the API, inproc-rs256 and
// inproc-es256 in this process. Signing is bound by the CPU rather than by I/O, so its
// ceiling is not the bare TLS server but the same signature computed here, with no
// HTTP, JSON or storage around it.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"runtime"
	"strings"
	"time"
)

const (
	rsaKeyName = "bench-rs256"
	ecKeyName  = "bench-es256"
)

type signState struct {
	digest          []byte // the fixed random SHA-256-sized digest every request signs
	rsaBody, ecBody []byte // the sign requests' bodies
	rsaKey          *rsa.PrivateKey
	ecKey           *ecdsa.PrivateKey
}

func (b *bench) keyURL(name, op string) string {
	return b.vaultURL + "/keys/" + name + "/" + op + "?api-version=7.6"
}

// setupSign makes what the selected signing workloads need: the digest and request
// bodies, the local keys of the in-process ones, and the server's keys (created once,
// then one signature of each checked against the key's public JWK).
func (b *bench) setupSign(ctx context.Context) error {
	selected := b.cfg.only
	if !selected["sign-rs256"] && !selected["inproc-rs256"] && !selected["sign-es256"] && !selected["inproc-es256"] {
		return nil
	}
	s := &b.sign
	s.digest = make([]byte, 32)
	rand.Read(s.digest)
	d := base64.RawURLEncoding.EncodeToString(s.digest)
	s.rsaBody = []byte(`{"alg":"RS256","value":"` + d + `"}`)
	s.ecBody = []byte(`{"alg":"ES256","value":"` + d + `"}`)

	var err error
	if selected["inproc-rs256"] {
		if s.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return err
		}
	}
	if selected["inproc-es256"] {
		if s.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return err
		}
	}

	pin := "" // in-process workloads only: no server, no request
	if len(b.serverAddrs) > 0 {
		pin = b.serverAddrs[0]
	}
	tr := b.transport("h1", 1, pin)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	if selected["sign-rs256"] {
		if err := b.makeSignKey(ctx, client, rsaKeyName, `{"kty":"RSA","key_size":2048}`, s.rsaBody); err != nil {
			return err
		}
	}
	if selected["sign-es256"] {
		if err := b.makeSignKey(ctx, client, ecKeyName, `{"kty":"EC","crv":"P-256"}`, s.ecBody); err != nil {
			return err
		}
	}
	fmt.Printf("- signing: one fixed random 32-byte digest; in-process keys generated here (rsa.SignPKCS1v15, ecdsa.SignASN1, GOMAXPROCS %d)\n",
		runtime.GOMAXPROCS(0))
	return nil
}

// jwk is the public part of a key bundle's key.
type jwk struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// makeSignKey creates the key name with the create body, signs once with signBody and
// checks the signature against the returned public key.
func (b *bench) makeSignKey(ctx context.Context, client *http.Client, name, create string, signBody []byte) error {
	var bundle struct {
		Key jwk `json:"key"`
	}
	if err := b.call(ctx, client, b.keyURL(name, "create"), []byte(create), &bundle); err != nil {
		return err
	}
	var out struct {
		Kid   string `json:"kid"`
		Value string `json:"value"`
	}
	if err := b.call(ctx, client, b.keyURL(name, "sign"), signBody, &out); err != nil {
		return err
	}
	sig, err := base64.RawURLEncoding.DecodeString(out.Value)
	if err != nil {
		return fmt.Errorf("sign %s: value: %w", name, err)
	}
	if out.Kid != bundle.Key.Kid {
		return fmt.Errorf("sign %s: kid %s, want the latest version %s", name, out.Kid, bundle.Key.Kid)
	}
	if err := verifyJWK(bundle.Key, b.sign.digest, sig); err != nil {
		return fmt.Errorf("sign %s: %w", name, err)
	}
	fmt.Printf("- key %s: %s, kid %s; a signature checked against its public key\n", name, describeJWK(bundle.Key), bundle.Key.Kid)
	return nil
}

func describeJWK(k jwk) string {
	if k.Kty == "RSA" || k.Kty == "RSA-HSM" {
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		return fmt.Sprintf("%s-%d", k.Kty, new(big.Int).SetBytes(n).BitLen())
	}
	return k.Kty + " " + k.Crv
}

// verifyJWK checks an RS256 (PKCS #1 v1.5) or ES256 (raw r||s) signature of digest.
func verifyJWK(k jwk, digest, sig []byte) error {
	dec := func(s string) []byte { v, _ := base64.RawURLEncoding.DecodeString(s); return v }
	switch k.Kty {
	case "RSA", "RSA-HSM":
		e := new(big.Int).SetBytes(dec(k.E))
		if !e.IsInt64() || e.Int64() > 1<<31 {
			return errors.New("bad public exponent")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(dec(k.N)), E: int(e.Int64())}
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig)
	case "EC", "EC-HSM":
		if k.Crv != "P-256" {
			return fmt.Errorf("curve %s, want P-256", k.Crv)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, dec(k.X)...), dec(k.Y)...))
		if err != nil {
			return err
		}
		if len(sig) != 64 {
			return fmt.Errorf("ES256 signature of %d bytes, want 64", len(sig))
		}
		if !ecdsa.Verify(pub, digest, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return errors.New("ES256 signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("unexpected key type %q", k.Kty)
}

// call POSTs body and decodes a 200 answer into out.
func (b *bench) call(ctx context.Context, client *http.Client, url string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	path, _, _ := strings.Cut(url, "?")
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s %s", path, resp.Status, bytes.TrimSpace(data))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	return nil
}

// signOp runs one operation of a signing workload.
func (b *bench) signOp(ctx context.Context, workload string, w *worker) error {
	switch workload {
	case "sign-rs256":
		return b.do(ctx, w, http.MethodPost, b.keyURL(rsaKeyName, "sign"), b.sign.rsaBody)
	case "sign-es256":
		return b.do(ctx, w, http.MethodPost, b.keyURL(ecKeyName, "sign"), b.sign.ecBody)
	case "inproc-rs256":
		_, err := rsa.SignPKCS1v15(nil, b.sign.rsaKey, crypto.SHA256, b.sign.digest)
		return err
	case "inproc-es256":
		_, err := ecdsa.SignASN1(rand.Reader, b.sign.ecKey, b.sign.digest)
		return err
	}
	panic("unknown workload " + workload)
}
