package webhook_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
	"github.com/coffer/coffer/internal/webhook"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func caPEM(t *testing.T) string {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: t0, NotAfter: t0.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestNew(t *testing.T) {
	ca := caPEM(t)
	for _, tc := range []struct {
		name, url string
		before    time.Duration
		ca, err   string
	}{
		{"ok/plain", "https://hooks.example/in", 72 * time.Hour, "", ""},
		{"ok/with-ca", "https://127.0.0.1:9443/x?a=b", time.Minute, ca, ""},
		{"ok/longest", "https://h", webhook.MaxBefore, "", ""},
		{"fail/http", "http://hooks.example/in", time.Hour, "", "https://"},
		{"fail/no-host", "https:///in", time.Hour, "", "https://"},
		{"fail/user", "https://u:p@hooks.example/", time.Hour, "", "no user"},
		{"fail/not-a-url", "://", time.Hour, "", "https://"},
		{"fail/zero-before", "https://h", 0, "", "before must be"},
		{"fail/negative-before", "https://h", -time.Hour, "", "before must be"},
		{"fail/too-long", "https://h", webhook.MaxBefore + time.Second, "", "before must be"},
		{"fail/ca-not-pem", "https://h", time.Hour, "hello", "PEM certificate"},
		{"fail/ca-garbage", "https://h", time.Hour, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := webhook.New("v", tc.url, tc.before, tc.ca, t0)
			if tc.err != "" {
				var inv *webhook.InvalidError
				if !errors.As(err, &inv) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("New = %v, want an InvalidError with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.ID == "" || len(s.Secret) != 43 || s.Vault != "v" || s.URL != tc.url || time.Duration(s.Before) != tc.before || !s.Created.Equal(t0) {
				t.Fatalf("New = %+v", s)
			}
			if p := s.Public(); p.Secret != "" || p.ID != s.ID {
				t.Fatalf("Public = %+v", p)
			}
			b, _ := json.Marshal(s.Public())
			var back webhook.Subscription
			if err := json.Unmarshal(b, &back); err != nil || back.Before != s.Before || strings.Contains(string(b), "secret") {
				t.Fatalf("round trip %s: %v", b, err)
			}
		})
	}
	a, _ := webhook.New("v", "https://h", time.Hour, "", t0)
	b, _ := webhook.New("v", "https://h", time.Hour, "", t0)
	if a.ID == b.ID || a.Secret == b.Secret {
		t.Fatal("two subscriptions share an id or secret")
	}
}

func TestWarnAt(t *testing.T) {
	deleted := t0
	purge := t0.Add(7 * 24 * time.Hour)
	sub := func(before time.Duration, created time.Time) webhook.Subscription {
		return webhook.Subscription{Before: webhook.Duration(before), Created: created}
	}
	for _, tc := range []struct {
		name string
		sub  webhook.Subscription
		want time.Time
	}{
		{"ok/window", sub(72*time.Hour, t0.Add(-time.Hour)), purge.Add(-72 * time.Hour)},
		{"ok/window-longer-than-retention", sub(30*24*time.Hour, t0.Add(-time.Hour)), deleted},
		{"ok/created-after-delete", sub(time.Hour, t0.Add(2*time.Hour)), purge.Add(-time.Hour)},
		{"ok/created-in-window", sub(72*time.Hour, purge.Add(-time.Hour)), purge.Add(-time.Hour)},
		{"ok/whole-seconds", sub(72*time.Hour, purge.Add(-time.Hour+300*time.Millisecond)), purge.Add(-time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.sub.WarnAt(deleted, purge); !got.Equal(tc.want) {
				t.Fatalf("WarnAt = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStoreAndIndex(t *testing.T) {
	st := storagetest.OpenMemory(t)
	ctx := t.Context()
	a, _ := webhook.New("Alpha", "https://a", time.Hour, "", t0)
	b, _ := webhook.New("beta", "https://b", time.Hour, "", t0)
	c, _ := webhook.New("alpha", "https://c", time.Hour, "", t0)
	err := st.Update(ctx, func(tx storage.Tx) error {
		for _, s := range []webhook.Subscription{a, b, c} {
			if err := webhook.Put(tx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st.View(ctx, func(tx storage.Tx) error {
		all, err := webhook.List(tx)
		if err != nil || len(all) != 3 {
			t.Fatalf("List = %d, %v", len(all), err)
		}
		alpha, err := webhook.ForVault(tx, "ALPHA")
		if err != nil || len(alpha) != 2 {
			t.Fatalf("ForVault(ALPHA) = %v, %v", alpha, err)
		}
		if none, err := webhook.ForVault(tx, "gamma"); err != nil || len(none) != 0 {
			t.Fatalf("ForVault(gamma) = %v, %v", none, err)
		}
		got, err := webhook.Get(tx, strings.ToUpper(a.ID))
		if err != nil || got.Secret != a.Secret {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		return nil
	})
	st.Update(ctx, func(tx storage.Tx) error {
		if _, err := webhook.Delete(tx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := webhook.Delete(tx, a.ID); !errors.Is(err, webhook.ErrNotFound) {
			t.Fatalf("second Delete = %v", err)
		}
		if alpha, _ := webhook.ForVault(tx, "alpha"); len(alpha) != 1 || alpha[0].ID != c.ID {
			t.Fatalf("ForVault after delete = %v", alpha)
		}
		return nil
	})
}

// TestOutboxClaims: a delivery is claimed by one owner at a time, retried after its
// backoff, taken over when a lease runs out, removed when delivered, and dropped when
// its subscription is gone.
func TestOutboxClaims(t *testing.T) {
	st := storagetest.OpenMemory(t)
	ctx := t.Context()
	sub, _ := webhook.New("v", "https://a", time.Hour, "", t0)
	gone, _ := webhook.New("v", "https://gone", time.Hour, "", t0)
	ev := webhook.NewEvent(webhook.PurgeImminent, webhook.KindSecret, t0)
	update := func(fn func(tx storage.Tx) error) {
		t.Helper()
		if err := st.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx storage.Tx) error {
		if err := webhook.Put(tx, sub); err != nil {
			return err
		}
		if err := webhook.Enqueue(tx, ev, nil); err != nil { // no subscription: nothing
			return err
		}
		return webhook.Enqueue(tx, ev, []webhook.Subscription{sub, gone})
	})
	claim := func(seq int64, owner string, now time.Time) (ok, dropped bool) {
		t.Helper()
		update(func(tx storage.Tx) error {
			var err error
			_, _, ok, dropped, err = webhook.Claim(tx, seq, owner, now, time.Minute)
			return err
		})
		return ok, dropped
	}
	st.View(ctx, func(tx storage.Tx) error {
		ds, _ := webhook.Pending(tx, 0, 0)
		seq, _ := webhook.LastSeq(tx)
		if len(ds) != 2 || seq != 2 || ds[0].Seq != 1 || ds[0].Webhook != sub.ID || ds[0].Event.ID != ev.ID {
			t.Fatalf("outbox %+v, seq %d", ds, seq)
		}
		if after, _ := webhook.Pending(tx, 1, 0); len(after) != 1 || after[0].Seq != 2 {
			t.Fatalf("Pending after 1 = %+v", after)
		}
		return nil
	})
	if ok, dropped := claim(2, "a", t0); ok || !dropped {
		t.Fatalf("claim of a deleted subscription's delivery: ok %v dropped %v", ok, dropped)
	}
	if ok, _ := claim(1, "a", t0); !ok {
		t.Fatal("first claim refused")
	}
	if ok, _ := claim(1, "b", t0.Add(30*time.Second)); ok {
		t.Fatal("b claimed during a's lease")
	}
	update(func(tx storage.Tx) error { return webhook.Retry(tx, 1, "b", t0.Add(time.Hour), "not b's") }) // ignored
	update(func(tx storage.Tx) error { return webhook.Retry(tx, 1, "a", t0.Add(10*time.Second), "503") })
	if ok, _ := claim(1, "b", t0.Add(5*time.Second)); ok {
		t.Fatal("claimed before the backoff ended")
	}
	if ok, _ := claim(1, "b", t0.Add(10*time.Second)); !ok {
		t.Fatal("b could not claim after the backoff")
	}
	// b dies; its lease runs out and a takes over.
	if ok, _ := claim(1, "a", t0.Add(10*time.Second+time.Minute)); !ok {
		t.Fatal("a could not take over after b's lease")
	}
	st.View(ctx, func(tx storage.Tx) error {
		ds, _ := webhook.Pending(tx, 0, 0)
		if len(ds) != 1 || ds[0].Attempts != 3 || ds[0].LastError != "503" || ds[0].LeaseOwner != "a" ||
			!ds[0].ReadyAt().Equal(t0.Add(10*time.Second+2*time.Minute)) {
			t.Fatalf("delivery %+v", ds)
		}
		return nil
	})
	update(func(tx storage.Tx) error { return webhook.Delivered(tx, 1) })
	if ok, dropped := claim(1, "a", t0.Add(time.Hour)); ok || dropped {
		t.Fatal("claimed a delivered event")
	}
	st.View(ctx, func(tx storage.Tx) error {
		if ds, _ := webhook.Pending(tx, 0, 0); len(ds) != 0 {
			t.Fatalf("outbox %+v", ds)
		}
		return nil
	})
}

func TestCloudEvent(t *testing.T) {
	e := webhook.NewEvent(webhook.PurgeImminent, webhook.KindSecret, t0)
	e.Subscription, e.ResourceGroup, e.Location, e.Vault = "sub", "rg", "westus", "Prod"
	e.Name, e.DeletedDate, e.ScheduledPurgeDate = "db-pass", t0.Add(-24*time.Hour), t0.Add(72*time.Hour)
	vaultURL := func(v string) string { return "https://" + strings.ToLower(v) + ".localhost:8443/" }
	body := e.Body(vaultURL)
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"specversion": "1.0", "id": e.ID, "type": "Coffer.KeyVault.SecretPurgeImminent", "subject": "db-pass",
		"source": "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/Prod",
		"time":   "2026-03-01T12:00:00Z", "datacontenttype": "application/json",
		"data": map[string]any{
			"vaultName": "Prod", "objectName": "db-pass", "objectType": "Secret",
			"deletedDate": "2026-02-28T12:00:00Z", "scheduledPurgeDate": "2026-03-04T12:00:00Z",
			"id": "https://prod.localhost:8443/secrets/db-pass", "recoveryId": "https://prod.localhost:8443/deletedsecrets/db-pass",
		},
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Fatalf("CloudEvent\n got %s\nwant %s", gb, wb)
	}
	v := webhook.NewEvent(webhook.Purged, webhook.KindVault, t0)
	v.Subscription, v.ResourceGroup, v.Location, v.Vault, v.Name = "sub", "rg", "westus", "Prod", "Prod"
	ce := v.CloudEvent(vaultURL)
	if ce.Type != "Coffer.KeyVault.VaultPurged" || ce.Data.ObjectType != "Vault" || ce.Data.ID != ce.Source ||
		ce.Data.RecoveryID != "/subscriptions/sub/providers/Microsoft.KeyVault/locations/westus/deletedVaults/Prod" {
		t.Fatalf("vault event %+v", ce)
	}
	for kind, typ := range map[string]string{"key": "Coffer.KeyVault.KeyPurged", "certificate": "Coffer.KeyVault.CertificatePurged"} {
		if got := webhook.TypeName(kind, webhook.Purged); got != typ {
			t.Errorf("TypeName(%s) = %s", kind, got)
		}
	}

	sig := webhook.Sign("s3cret", body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != 7+64 || !webhook.Verify("s3cret", body, sig) {
		t.Fatalf("signature %s", sig)
	}
	// Known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
	if got := webhook.Sign("key", []byte("The quick brown fox jumps over the lazy dog")); got != "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8" {
		t.Fatalf("Sign known answer = %s", got)
	}
	if webhook.Verify("other", body, sig) || webhook.Verify("s3cret", append(body, ' '), sig) {
		t.Fatal("a wrong secret or body verifies")
	}
}

// TestNewBoundsEchoedURL: a refused URL of 100 KB is shown in the message cut to 128
// characters.
func TestNewBoundsEchoedURL(t *testing.T) {
	_, err := webhook.New("v", "http://"+strings.Repeat("x", 100_000), time.Hour, "", time.Unix(0, 0))
	if err == nil || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "…") {
		t.Fatalf("error of %d bytes: %.300v", len(fmt.Sprint(err)), err)
	}
}
