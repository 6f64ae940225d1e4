package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/storage/postgres"
	"github.com/coffer/coffer/internal/storage/postgres/pgtest"
	"github.com/coffer/coffer/internal/testenv"
	"github.com/coffer/coffer/internal/testenv/cofferproc"
)

// These tests run Coffer on PostgreSQL: several servers on one database, the copy of an
// embedded deployment to PostgreSQL, and the secret lifecycle once on PostgreSQL. They
// need COFFER_TEST_POSTGRES_DSN (the README's test command, scripts/test.sh, starts a
// throw-away PostgreSQL and sets it); each test works in a schema of its own.

// freshPostgres creates an empty schema, dropped when t ends (after the servers of t have
// stopped: cleanups run last-registered first), and returns a postgres:// URL whose
// search_path is that schema, as --storage takes it.
func freshPostgres(t *testing.T) string {
	t.Helper()
	if !pgtest.IsURL(pgtest.DSN(t)) {
		t.Fatalf("%s must be a postgres:// URL here (it is passed to --storage)", pgtest.DSNEnv)
	}
	return pgtest.FreshSchema(t, "coffer_ms_")
}

// cluster is several servers on one database behind one public URL, as behind a load
// balancer: they share --public-url (the tokens' issuer), COFFER_MASTER_KEY and
// --storage; each has its own data dir and listen address. A Stack's clients are pinned
// to its own server, so a test chooses which server answers.
type cluster struct {
	dsn, kek, public string
}

func newCluster(t *testing.T, dsn string) *cluster {
	t.Helper()
	kek, err := barrier.GenerateKEK()
	if err != nil {
		t.Fatal(err)
	}
	// The load balancer's address: nothing listens there, every client dials a server.
	return &cluster{dsn: dsn, kek: kek, public: "https://" + freeAddr(t)}
}

// start runs one more server of c on dataDir.
func (c *cluster) start(t *testing.T, dataDir string) *testenv.Stack {
	t.Helper()
	addr := freeAddr(t)
	st := testenv.NewStack(t, testenv.Options{DataDir: dataDir, Config: func(cfg *server.Config) {
		cfg.Addr = addr
		cfg.PublicURL = c.public
		cfg.Storage = c.dsn
		cfg.MasterKey = c.kek
	}})
	st.HTTP = pinnedClient(t, st.Server.CAPath(), addr)
	st.Cred = testenv.Credential(t, st.Creds, st.HTTP)
	return st
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// pinnedClient trusts the CA at caPath and sends every request to addr, whatever the
// URL's host and port (TLS still names the URL's host).
func pinnedClient(t *testing.T, caPath, addr string) *http.Client {
	t.Helper()
	hc := testenv.HTTPClient(t, caPath)
	tr, ok := hc.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("testenv.HTTPClient's transport is a %T, not an *http.Transport to pin", hc.Transport)
	}
	tr.DialContext = cofferproc.LoopbackDial(&net.Dialer{}, addr)
	return hc
}

// TestMultiServerSharedState: two servers on one database serve one deployment — the same
// administrator and tenant, a secret written through one is read through the other at
// once, a token issued by one is accepted by the other, and a time shift made through one
// holds for the other within about a second.
func TestMultiServerSharedState(t *testing.T) {
	c := newCluster(t, freshPostgres(t))
	a := c.start(t, t.TempDir())
	b := c.start(t, t.TempDir())
	ctx := t.Context()

	// One administrator, one tenant, one CA: the credentials files are the same bytes.
	fa, _ := os.ReadFile(a.Server.CredentialsPath())
	fb, _ := os.ReadFile(b.Server.CredentialsPath())
	if diff := cmp.Diff(string(fa), string(fb)); diff != "" || a.Creds.TenantID == "" {
		t.Fatalf("credentials files differ (-A +B):\n%s", diff)
	}
	caA, _ := os.ReadFile(a.Server.CAPath())
	caB, _ := os.ReadFile(b.Server.CAPath())
	if string(caA) != string(caB) {
		t.Fatal("the servers have different CAs")
	}

	// A token issued by A, used on B, which has issued none.
	tok := token(t, a.Cred, dataPlane(a))
	sa, sb := a.Secrets(t, "default"), b.Secrets(t, "default")
	set := setValue(t, sa, "shared", "through-a")
	if status, _ := call(t, b, "GET", b.Server.VaultURL("default")+"secrets/shared?api-version=7.6", tok, ""); status != 200 {
		t.Fatalf("B answered %d to A's token", status)
	}

	// Written through A, read through B at once; and the other way round.
	got, err := sb.GetSecret(ctx, "shared", "", nil)
	if err != nil || *got.Value != "through-a" || got.ID.Version() != set.ID.Version() {
		t.Fatalf("B reads %v, %v", got.Value, err)
	}
	setValue(t, sb, "shared", "through-b")
	if got, err := sa.GetSecret(ctx, "shared", "", nil); err != nil || *got.Value != "through-b" {
		t.Fatalf("A reads %v, %v", got.Value, err)
	}
	deleteSecret(t, sb, "shared")
	if _, err := sa.GetDeletedSecret(ctx, "shared", nil); err != nil {
		t.Fatalf("A does not see B's delete: %v", err)
	}

	// A time shift through A: A's dates move at once, B's within about a second (B reads
	// the stored offset every second).
	const shift = 30 * 24 * time.Hour
	a.ShiftTime(t, shift)
	shifted := func(s azsecrets.SetSecretResponse) bool {
		return s.Attributes.Created.After(time.Now().Add(shift - time.Hour))
	}
	if !shifted(setValue(t, sa, "probe-a", "x")) {
		t.Fatal("A's own time shift did not hold at once")
	}
	took := pollUntil(t, 10*time.Second, "B follows A's time shift", func() bool {
		return shifted(setValue(t, sb, "probe-b", "x"))
	})
	t.Logf("B followed A's time shift after %s", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("B followed A's time shift only after %s, want about a second", took)
	}
}

// TestMultiServerLifecycleRace: delete, recover and purge of the same secrets through
// two servers from many goroutines at once. Every transition happens exactly once, so the
// successful calls and the final state agree: deletes = recovers (+1 unless live), at most
// one purge, and only from the deleted state. The clients do not retry, so a server error
// (say, a transaction that gave up after too many serialization failures) shows.
func TestMultiServerLifecycleRace(t *testing.T) {
	c := newCluster(t, freshPostgres(t))
	a := c.start(t, t.TempDir())
	b := c.start(t, t.TempDir())
	clients := []*azsecrets.Client{noRetryDefault(t, a), noRetryDefault(t, b)}
	ctx := t.Context()

	const objects, workers, ops = 6, 6, 8
	type counts struct{ deletes, recovers, purges atomic.Int64 }
	var got [objects]counts
	for i := range objects {
		setValue(t, clients[i%2], fmt.Sprintf("race-%d", i), fmt.Sprintf("value-%d", i))
	}
	var slowest atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range objects {
		name := fmt.Sprintf("race-%d", i)
		for w := range workers {
			cl := clients[w%2]
			wg.Go(func() {
				<-start
				rng := mrand.New(mrand.NewPCG(uint64(i), uint64(w)))
				for range ops {
					var err error
					var n *atomic.Int64
					t0 := time.Now()
					// Purges are rare, so that the secrets go back and forth for a while.
					switch r := rng.IntN(16); {
					case r < 7:
						_, err = cl.DeleteSecret(ctx, name, nil)
						n = &got[i].deletes
					case r < 15:
						_, err = cl.RecoverDeletedSecret(ctx, name, nil)
						n = &got[i].recovers
					default:
						_, err = cl.PurgeDeletedSecret(ctx, name, nil)
						n = &got[i].purges
					}
					for d := int64(time.Since(t0)); ; {
						cur := slowest.Load()
						if d <= cur || slowest.CompareAndSwap(cur, d) {
							break
						}
					}
					switch s := statusOf(err); s {
					case 0:
						n.Add(1)
					case 404, 409:
						// not in the state this operation needs (any more)
					default:
						t.Errorf("%s: unexpected answer %d: %v", name, s, err)
						return
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	t.Logf("slowest call: %s", time.Duration(slowest.Load()).Round(time.Millisecond))

	for i := range objects {
		name := fmt.Sprintf("race-%d", i)
		d, r, p := got[i].deletes.Load(), got[i].recovers.Load(), got[i].purges.Load()
		cl := clients[(i+1)%2]
		state := "purged"
		if live, err := cl.GetSecret(ctx, name, "", nil); err == nil {
			state = "live"
			if *live.Value != fmt.Sprintf("value-%d", i) {
				t.Errorf("%s: value %q after the race", name, *live.Value)
			}
		} else if _, err := cl.GetDeletedSecret(ctx, name, nil); err == nil {
			state = "deleted"
		}
		t.Logf("%s: %d deletes, %d recovers, %d purges → %s", name, d, r, p, state)
		ok := false
		switch state {
		case "live":
			ok = d == r && p == 0
		case "deleted":
			ok = d == r+1 && p == 0
		case "purged":
			ok = d == r+1 && p == 1
		}
		if !ok {
			t.Errorf("%s ended %s after %d deletes, %d recovers, %d purges: some transition happened twice or was lost", name, state, d, r, p)
		}
	}
}

// noRetry is an azsecrets client for vaultURL that does not retry, so that every answer
// shows.
func noRetry(t *testing.T, vaultURL string, creds identity.Credentials, cred azcore.TokenCredential, hc *http.Client) *azsecrets.Client {
	t.Helper()
	o := testenv.ClientOptions(creds, hc)
	o.Retry.MaxRetries = -1
	c, err := azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{ClientOptions: o})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// noRetryDefault is noRetry for the default vault of st.
func noRetryDefault(t *testing.T, st *testenv.Stack) *azsecrets.Client {
	t.Helper()
	return noRetry(t, st.Server.VaultURL("default"), st.Creds, st.Cred, st.HTTP)
}

// TestMultiServerSweepOnce: the sweepers of two servers, run together after a time shift
// past retention, purge each overdue secret exactly once between them, and never one that
// was recovered, or deleted again later (whose first purge date is stale).
func TestMultiServerSweepOnce(t *testing.T) {
	c := newCluster(t, freshPostgres(t))
	a := c.start(t, t.TempDir())
	b := c.start(t, t.TempDir())
	sa, sb := a.Secrets(t, "default"), b.Secrets(t, "default")
	clients := []*azsecrets.Client{sa, sb}
	ctx := t.Context()

	const overdue, recovered, redeleted = 40, 10, 6
	name := func(kind string, i int) string { return fmt.Sprintf("%s-%02d", kind, i) }
	for i := range overdue {
		setValue(t, clients[i%2], name("old", i), "v")
		if _, err := clients[(i+1)%2].DeleteSecret(ctx, name("old", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range recovered {
		setValue(t, sa, name("back", i), "kept")
		if _, err := sa.DeleteSecret(ctx, name("back", i), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := sb.RecoverDeletedSecret(ctx, name("back", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range redeleted {
		setValue(t, sb, name("again", i), "v")
		if _, err := sb.DeleteSecret(ctx, name("again", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	// 60 days on (through A, followed by B): recover through B and delete again through
	// A, so the second deletion is due 60 days after the first one's date.
	a.ShiftTime(t, 60*24*time.Hour)
	pollUntil(t, 10*time.Second, "B follows the 60-day shift", func() bool {
		return setValue(t, sb, "probe", "x").Attributes.Created.After(time.Now().Add(59 * 24 * time.Hour))
	})
	for i := range redeleted {
		if _, err := sb.RecoverDeletedSecret(ctx, name("again", i), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := sa.DeleteSecret(ctx, name("again", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	// 91 days after the first deletions: every first purge date has passed.
	a.ShiftTime(t, 31*24*time.Hour)
	pollUntil(t, 10*time.Second, "B follows the 91-day shift", func() bool {
		_, err := sb.GetDeletedSecret(ctx, name("old", 0), nil)
		return statusOf(err) == 404 // reads treat it as purged from its purge date on
	})

	// Both servers sweep at once, from several goroutines each.
	var total atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		srv := []*testenv.Stack{a, b}[g%2].Server
		wg.Go(func() {
			<-start
			n, err := srv.Sweep(ctx)
			if err != nil {
				t.Errorf("sweep: %v", err)
			}
			total.Add(int64(n))
		})
	}
	close(start)
	wg.Wait()
	if got := total.Load(); got != overdue {
		t.Fatalf("the sweepers purged %d secrets between them, want each of the %d overdue ones once", got, overdue)
	}
	for _, st := range []*testenv.Stack{a, b} {
		wantSweep(t, st, 0, "a later sweep")
	}

	for i := range recovered {
		if got, err := sa.GetSecret(ctx, name("back", i), "", nil); err != nil || *got.Value != "kept" {
			t.Fatalf("recovered %s: %v", name("back", i), err)
		}
	}
	var want []string
	for i := range redeleted {
		want = append(want, name("again", i))
	}
	if got := listDeleted(t, sb); !cmp.Equal(got, want) {
		t.Fatalf("deleted secrets after the sweep: %v, want %v (deleted again, not yet due)", got, want)
	}
	for i := range overdue {
		setValue(t, clients[i%2], name("old", i), "reused") // the name is free
	}
}

// snapshot describes what a deployment serves, independent of the server's URL: per
// vault, every secret version with its value and attributes, every deleted secret with
// its dates, and the EC key "signer" (public part; dates).
func snapshot(t *testing.T, st *testenv.Stack, vaults ...string) []string {
	t.Helper()
	ctx := t.Context()
	var out []string
	date := func(p *time.Time) string {
		if p == nil {
			return "-"
		}
		return p.UTC().Format(time.RFC3339)
	}
	for _, v := range vaults {
		c := st.Secrets(t, v)
		for _, n := range listNames(t, c) {
			p := c.NewListSecretPropertiesVersionsPager(n, nil)
			for p.More() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range page.Value {
					got, err := c.GetSecret(ctx, n, s.ID.Version(), nil)
					if err != nil {
						t.Fatal(err)
					}
					a := got.Attributes
					out = append(out, fmt.Sprintf("%s secret %s/%s value=%q type=%s tags=%v enabled=%v created=%s updated=%s expires=%s",
						v, n, s.ID.Version(), *got.Value, strOr(got.ContentType), tagsOf(got.Tags),
						*a.Enabled, date(a.Created), date(a.Updated), date(a.Expires)))
				}
			}
		}
		for _, n := range listDeleted(t, c) {
			d, err := c.GetDeletedSecret(ctx, n, nil)
			if err != nil {
				t.Fatal(err)
			}
			rid, _ := url.Parse(*d.RecoveryID)
			out = append(out, fmt.Sprintf("%s deleted %s/%s recovery=%s deleted=%s purge=%s created=%s",
				v, n, d.ID.Version(), rid.Path, date(d.DeletedDate), date(d.ScheduledPurgeDate), date(d.Attributes.Created)))
		}
		k, err := st.Keys(t, v).GetKey(ctx, "signer", "", nil)
		if statusOf(err) == 404 {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s key signer/%s x=%x y=%x created=%s", v, k.Key.KID.Version(), k.Key.X, k.Key.Y, date(k.Attributes.Created)))
	}
	slices.Sort(out)
	return out
}

func tagsOf(m map[string]*string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+*v)
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

// signWith signs a digest with key "signer" of vault v through st and checks the
// signature against the key's public part (which snapshot compares with the original's),
// proving that the private key came along.
func signWith(t *testing.T, st *testenv.Stack, v string) {
	t.Helper()
	kc := st.Keys(t, v)
	k, err := kc.GetKey(t.Context(), "signer", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("moved to PostgreSQL"))
	sig, err := kc.Sign(t.Context(), "signer", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: digest[:]}, nil)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(k.Key.X), Y: new(big.Int).SetBytes(k.Key.Y)}
	r, s := new(big.Int).SetBytes(sig.Result[:32]), new(big.Int).SetBytes(sig.Result[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatal("the signature does not verify with the key's public part")
	}
}

// TestMultiServerStorageCopy: an embedded deployment (two vaults; secrets live, with
// several versions, and deleted, before and after a time shift; a key) is stopped, copied
// to PostgreSQL with CopyStorage, and started on the same data dir with --storage: it
// serves the same things with the same dates and versions. A second server, with another
// data dir and COFFER_MASTER_KEY from the first one's master.key, serves them too.
func TestMultiServerStorageCopy(t *testing.T) {
	dsn := freshPostgres(t)
	dir := filepath.Join(t.TempDir(), "data")
	ctx := t.Context()

	old := testenv.NewStack(t, testenv.Options{DataDir: dir})
	createVault(t, old.Vaults(t, testenv.DefaultSubscription), "coffer", "second", vaultParams(old, "local", 7, false))
	s1, s2 := old.Secrets(t, "default"), old.Secrets(t, "second")
	exp := time.Now().Add(240 * time.Hour).Truncate(time.Second)
	if _, err := s1.SetSecret(ctx, "db-Password", azsecrets.SetSecretParameters{
		Value: to.Ptr("v1"), ContentType: to.Ptr("text/plain"), Tags: map[string]*string{"env": to.Ptr("prod")},
		SecretAttributes: &azsecrets.SecretAttributes{Expires: &exp},
	}, nil); err != nil {
		t.Fatal(err)
	}
	setValue(t, s1, "db-password", "v2")
	setValue(t, s1, "gone", "bye")
	setValue(t, s2, "other", "in the second vault")
	setValue(t, s2, "gone-too", "bye")
	for _, d := range []struct {
		c    *azsecrets.Client
		name string
	}{{s1, "gone"}, {s2, "gone-too"}} {
		deleteSecret(t, d.c, d.name)
	}
	if _, err := old.Keys(t, "default").CreateKey(ctx, "signer", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP256)}, nil); err != nil {
		t.Fatal(err)
	}
	old.ShiftTime(t, 3*24*time.Hour)
	setValue(t, s1, "later", "after the shift")
	deleteSecret(t, s1, "later")
	want := snapshot(t, old, "default", "second")

	// The copy is offline: bbolt's lock stops it while the server runs.
	if _, err := server.CopyStorage(ctx, dir, dsn); err == nil || !strings.Contains(err.Error(), "data dir in use") {
		t.Fatalf("copy from a running server: %v, want data dir in use", err)
	}
	old.Stop()
	n, err := server.CopyStorage(ctx, dir, dsn)
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	t.Logf("copied %d keys", n)
	if _, err := server.CopyStorage(ctx, dir, dsn); !errors.Is(err, server.ErrTargetNotEmpty) {
		t.Fatalf("second copy into the same database: %v, want %v", err, server.ErrTargetNotEmpty)
	}

	// The same data dir, now on PostgreSQL (its storage id matches the copy's).
	moved := testenv.NewStack(t, testenv.Options{DataDir: dir, Config: func(c *server.Config) { c.Storage = dsn }})
	if diff := cmp.Diff(want, snapshot(t, moved, "default", "second")); diff != "" {
		t.Fatalf("after the copy (-embedded +postgres):\n%s", diff)
	}
	if moved.Creds.TenantID != old.Creds.TenantID || moved.Creds.ClientID != old.Creds.ClientID || moved.Creds.ClientSecret != old.Creds.ClientSecret {
		t.Fatal("the administrator or tenant changed in the copy")
	}
	signWith(t, moved, "default")
	// The time shift came along: new dates are 3 days ahead.
	if got := setValue(t, moved.Secrets(t, "default"), "after-copy", "x"); !got.Attributes.Created.After(time.Now().Add(71 * time.Hour)) {
		t.Fatalf("the time shift was lost: created %s", got.Attributes.Created)
	}
	if _, err := moved.Secrets(t, "default").DeleteSecret(ctx, "after-copy", nil); err != nil {
		t.Fatal(err)
	}

	// A second server: another data dir, the KEK from the first one's master.key.
	kek, err := os.ReadFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	second := testenv.NewStack(t, testenv.Options{DataDir: t.TempDir(), Config: func(c *server.Config) {
		c.Storage = dsn
		c.MasterKey = strings.TrimSpace(string(kek))
	}})
	if diff := cmp.Diff(snapshot(t, moved, "default", "second"), snapshot(t, second, "default", "second")); diff != "" {
		t.Fatalf("second server (-first +second):\n%s", diff)
	}
	signWith(t, second, "default")
}

// TestMultiServerPostgresSecretLifecycle runs the spine's secret flow once on PostgreSQL
// (the full flow runs on the embedded store in secrets_e2e_test.go): set, versions, get,
// delete, recover, purge, backup and restore, retention and the sweeper.
func TestMultiServerPostgresSecretLifecycle(t *testing.T) {
	dsn := freshPostgres(t)
	st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) { c.Storage = dsn }})
	c := st.Secrets(t, "default")
	ctx := t.Context()

	v1, err := c.SetSecret(ctx, "db-Password", azsecrets.SetSecretParameters{Value: to.Ptr("v1"), Tags: map[string]*string{"env": to.Ptr("dev")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v2 := setValue(t, c, "db-password", "v2")
	if got, err := c.GetSecret(ctx, "DB-PASSWORD", "", nil); err != nil || *got.Value != "v2" {
		t.Fatalf("get latest: %v", err)
	}
	if got, err := c.GetSecret(ctx, "db-password", v1.ID.Version(), nil); err != nil || *got.Value != "v1" || *got.Tags["env"] != "dev" {
		t.Fatalf("get v1: %v", err)
	}
	if vs := listVersions(t, c, "db-password"); len(vs) != 2 {
		t.Fatalf("versions %v", vs)
	}

	del, err := c.DeleteSecret(ctx, "db-password", nil)
	if err != nil || del.ScheduledPurgeDate.Sub(*del.DeletedDate) != 90*24*time.Hour {
		t.Fatalf("delete: %v", err)
	}
	_, err = c.GetSecret(ctx, "db-password", "", nil)
	wantCode(t, err, 404, "SecretNotFound")
	_, err = c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	wantCode(t, err, 409, "Conflict")
	if rec, err := c.RecoverDeletedSecret(ctx, "db-password", nil); err != nil || rec.ID.Version() != v2.ID.Version() {
		t.Fatalf("recover: %v", err)
	}
	if got, err := c.GetSecret(ctx, "db-password", v1.ID.Version(), nil); err != nil || *got.Value != "v1" {
		t.Fatalf("v1 after recover: %v", err)
	}

	backup, err := c.BackupSecret(ctx, "db-password", nil)
	if err != nil {
		t.Fatal(err)
	}
	lifecycle(t, c, "db-password", "delete", "purge")
	_, err = c.GetDeletedSecret(ctx, "db-password", nil)
	wantCode(t, err, 404, "SecretNotFound")
	if r, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: backup.Value}, nil); err != nil || r.ID.Version() != v2.ID.Version() {
		t.Fatalf("restore: %v", err)
	}
	if got, err := c.GetSecret(ctx, "db-password", v1.ID.Version(), nil); err != nil || *got.Value != "v1" {
		t.Fatalf("v1 after restore: %v", err)
	}

	// Retention: deleted, then 90 days later gone for reads at once and for the sweeper.
	deleteSecret(t, c, "db-password")
	st.ShiftTime(t, 90*24*time.Hour)
	_, err = c.GetDeletedSecret(ctx, "db-password", nil)
	wantCode(t, err, 404, "SecretNotFound")
	wantSweep(t, st, 1, "past the retention")
	if got := setValue(t, c, "db-password", "new"); len(listVersions(t, c, "db-password")) != 1 || got.ID.Version() == v2.ID.Version() {
		t.Fatal("old versions survived the purge")
	}
}

func strOr(p *string) string {
	if p == nil {
		return "-"
	}
	return *p
}

// TestMultiServerConcurrentFirstStart: servers started at the same moment on one empty
// database all start, agree on one storage id (each data dir records the one the
// database holds, so each restarts) and share one administrator.
func TestMultiServerConcurrentFirstStart(t *testing.T) {
	pgtest.DSN(t)
	for round := range 8 {
		dsn := freshPostgres(t)
		c := newCluster(t, dsn)
		dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, dir := range dirs {
			wg.Go(func() {
				<-start
				s, err := server.New(t.Context(), server.Config{DataDir: dir, Addr: "127.0.0.1:0", PublicURL: c.public,
					Storage: c.dsn, MasterKey: c.kek, Log: discardLog(), SweepInterval: time.Hour})
				if err != nil {
					t.Errorf("round %d: server %d: %v", round, i, err)
					return
				}
				s.Close()
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		want := map[string]bool{}
		creds := map[string]bool{}
		for _, dir := range dirs {
			id, _ := os.ReadFile(filepath.Join(dir, "storage-id"))
			want[string(id)] = true
			cr, _ := os.ReadFile(filepath.Join(dir, "bootstrap-credentials.json"))
			creds[string(cr)] = true
		}
		if len(want) != 1 || len(creds) != 1 {
			t.Fatalf("round %d: the servers recorded %d storage ids and %d administrators, want one each", round, len(want), len(creds))
		}
		for _, dir := range dirs { // each restarts: its storage-id matches the database's
			s, err := server.New(t.Context(), server.Config{DataDir: dir, Addr: "127.0.0.1:0", PublicURL: c.public,
				Storage: c.dsn, MasterKey: c.kek, Log: discardLog(), SweepInterval: time.Hour})
			if err != nil {
				t.Fatalf("round %d: restart: %v", round, err)
			}
			s.Close()
		}
	}
}

// TestMultiServerDeletedPrincipal: a principal deleted through one server loses access
// through every server, also where its token was already verified and cached.
func TestMultiServerDeletedPrincipal(t *testing.T) {
	pgtest.DSN(t)
	c := newCluster(t, freshPostgres(t))
	a := c.start(t, t.TempDir())
	b := c.start(t, t.TempDir())
	creds := newPrincipal(t, a, "ci")
	tok := token(t, testenv.Credential(t, creds, a.HTTP), dataPlane(a))
	list := b.Server.VaultURL("default") + "secrets?api-version=7.6"
	if s, _ := call(t, b, "GET", list, tok, ""); s != 403 { // authenticated (and cached), no rights
		t.Fatalf("B before the delete: %d, want 403", s)
	}
	if s, _, body := a.ARM(t, "DELETE", "/admin/principals/"+creds.ObjectID, nil); s != 204 {
		t.Fatalf("delete principal: %d %s", s, body)
	}
	took := pollUntil(t, 10*time.Second, "B refuses the deleted principal's token", func() bool {
		s, _ := call(t, b, "GET", list, tok, "")
		return s == 401
	})
	if took > 3*time.Second {
		t.Errorf("B refused the deleted principal's token only after %s", took)
	}
}

// TestMultiServerCopyRaw: CopyStorage copies every key and value byte for byte, across
// several transactions (by key count and by size), the keyring and meta/ included; it
// refuses a store without a storage id.
func TestMultiServerCopyRaw(t *testing.T) {
	dsn := freshPostgres(t)
	dir := t.TempDir()
	src, err := bbolt.Open(filepath.Join(dir, "coffer.db"), bbolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"barrier/keyring": []byte("sealed keyring")}
	for i := range 2500 {
		v := make([]byte, 10+i%50)
		if i%100 == 0 {
			v = make([]byte, 200<<10) // some big values: a batch also ends at 8 MiB
		}
		rand.Read(v)
		want[fmt.Sprintf("v/vault-%d/secret/s-%04d\x00\xff", i%3, i)] = v
	}
	put := func(m map[string][]byte) {
		t.Helper()
		err := src.Update(t.Context(), func(tx storage.Tx) error {
			for k, v := range m {
				if err := tx.Put(k, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(want)
	src.Close()
	if _, err := server.CopyStorage(t.Context(), dir, dsn); err == nil || !strings.Contains(err.Error(), "no Coffer storage id") {
		t.Fatalf("copy without a storage id: %v", err)
	}

	src, err = bbolt.Open(filepath.Join(dir, "coffer.db"), bbolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string][]byte{"meta/storage-id": []byte("0f0e0d0c-0000-4000-8000-000000000001"), "meta/format": []byte("1")}
	put(meta)
	src.Close()
	maps.Copy(want, meta)

	n, err := server.CopyStorage(t.Context(), dir, dsn)
	if err != nil || n != len(want) {
		t.Fatalf("copy: %d keys, %v; want %d", n, err, len(want))
	}
	dst, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	got := map[string][]byte{}
	err = dst.View(t.Context(), func(tx storage.Tx) error {
		es, err := tx.Scan("", "", 0)
		for _, e := range es {
			got[e.Key] = e.Value
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("target holds %d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if !bytes.Equal(got[k], v) {
			t.Fatalf("key %q differs after the copy", k)
		}
	}
}
