// Package server is Coffer's composition root: it turns a Config into a running HTTPS
// server — data directory, storage, barrier, identity, TLS, the vault service and its
// sweeper, and the planes — and routes each request by Host and path. Nothing imports it
// but the CLI.
package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/admin"
	"github.com/coffer/coffer/internal/arm"
	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/azapi"
	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/console"
	"github.com/coffer/coffer/internal/delivery"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/pki"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/vault"
)

// Server is a running Coffer.
type Server struct {
	cfg         Config
	log         *slog.Logger
	ln          net.Listener
	publicURL   *url.URL
	store       *barrier.Barrier
	embedded    *bbolt.DB // the store under the barrier when it is the embedded one, else nil
	storageChk  storageCheck
	vclock      *clock.Shifted
	id          *identity.Service
	vaults      *vault.Service
	api         *azapi.API
	arm         *arm.API
	rbac        *rbac.Service
	dataPlane   *plane.Plane
	armPlane    *plane.Plane
	graphPlane  *plane.Plane
	adminPlane  *plane.Plane
	adminRoutes *admin.Admin
	console     *console.Console
	http        *http.Server

	// Audit: auditFile is the log Coffer opened (nil when Config.Audit was given or the
	// log is off); each plane's records go through its own observedSink, which stamps
	// the plane and feeds the metrics.
	auditFile                                                   *audit.File
	auditData, auditARM, auditIdentity, auditAdmin, auditLedger audit.Sink
	auditConsole                                                audit.Sink
	metrics                                                     *metrics
	// anchor is the ledger head last copied into the audit log; startAnchor the last
	// one the log held when this server started (what the ledger was at the previous
	// shutdown). POST /admin/ledger/verify checks both.
	anchor      atomic.Pointer[ledger.Anchor]
	startAnchor *ledger.Anchor

	stopSweeper context.CancelFunc
	sweeperDone chan struct{}
	webhookDone chan struct{} // the webhook delivery worker (package delivery) has stopped
	closeOnce   sync.Once
	inFlight    atomic.Int64
	// dataRequests counts the data-plane requests begun: the sweeper paces itself while
	// it grows.
	dataRequests atomic.Int64
}

// Files the data directory holds besides the storage file.
const (
	credentialsFile = "bootstrap-credentials.json"
	masterKeyFile   = "master.key"
	storageFile     = "coffer.db"
	storageIDFile   = "storage-id"
	tlsDir          = "tls"
)

// New prepares a server: it listens on cfg.Addr and opens (or on first start creates)
// everything under cfg.DataDir. Serve starts answering.
func New(ctx context.Context, cfg Config) (_ *Server, err error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := prepareDataDir(cfg, s.log); err != nil {
		return nil, err
	}
	base, err := s.openAudit()
	if err != nil {
		return nil, err
	}
	if s.store, s.embedded, err = openStorage(ctx, cfg, s.log, s.auditFile); err != nil {
		return nil, err
	}
	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	if s.publicURL, err = cfg.publicURL(port); err != nil {
		return nil, err
	}

	offset, err := loadTimeShift(ctx, s.store)
	if err != nil {
		return nil, err
	}
	s.vclock = &clock.Shifted{Base: cfg.Clock}
	s.vclock.SetOffset(offset)

	s.id, err = identity.Open(ctx, s.store, identity.Options{PublicURL: s.publicURL, VaultDomain: cfg.VaultDomain, Clock: cfg.Clock,
		Throttle: identity.ThrottleOptions{Throttled: func(by string) { s.metrics.tokenThrottled.WithLabelValues(by).Inc() }}})
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if s.auditFile != nil {
		s.auditFile.SetTenant(s.id.TenantID()) // its principals' records leave the tenant out
	}
	if err := writeCredentials(filepath.Join(cfg.DataDir, credentialsFile), s.id.AdminCredentials()); err != nil {
		return nil, err
	}
	tlsConf, err := s.tlsConfig(ctx)
	if err != nil {
		return nil, err
	}
	if s.vaults, err = vault.Open(ctx, vault.Options{Storage: s.store, Clock: s.vclock, Log: s.log, TenantID: s.id.TenantID(), LedgerRetention: cfg.LedgerRetention,
		ConcurrentWriters: cfg.postgres()}); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(s.vaults, &s.storageChk)
	plane := func(name string) audit.Sink { return &observedSink{plane: name, next: base, m: s.metrics} }
	s.auditData, s.auditARM, s.auditIdentity, s.auditAdmin, s.auditLedger = plane("data"), plane("arm"), plane("identity"), plane("admin"), plane("ledger")
	s.auditConsole = plane("console")
	if _, created, err := s.vaults.EnsureVault(ctx, vault.Vault{
		Name: cfg.DefaultVault, RetentionDays: vault.DefaultRetentionDays,
		Subscription: DefaultSubscription, ResourceGroup: DefaultGroup, Location: DefaultLocation,
		TenantID: s.id.TenantID(), SKU: "standard",
	}); err != nil {
		return nil, fmt.Errorf("default vault: %w", err)
	} else if created {
		s.log.Info("created the default vault", "vault", cfg.DefaultVault)
	}
	if err := s.openRBAC(ctx); err != nil {
		return nil, err
	}
	s.api = azapi.New(azapi.Options{Vaults: s.vaults, RBAC: s.rbac})
	s.dataPlane = s.newDataPlane()
	s.arm = arm.New(arm.Options{Vaults: s.vaults, PublicURL: s.publicURL, VaultDomain: cfg.VaultDomain,
		TenantID: s.id.TenantID(), Clock: s.vclock, Log: s.log, Directory: graphDirectory{s.id}, RBAC: s.rbac})
	s.armPlane, s.graphPlane = s.newARMPlanes()
	if s.console, err = s.newConsole(); err != nil {
		return nil, err
	}
	s.adminPlane, s.adminRoutes = s.newAdminPlane()
	if s.auditFile != nil && s.auditFile.Path() != AuditLogStdout {
		s.startAnchor = lastCheckpoint(s.auditFile.Path(), s.log)
	}
	s.checkpointLedger(ctx)
	// No ReadTimeout or WriteTimeout: net/http would cancel a handler's context once
	// they pass. Bodies have their own deadline (limitBody), connections a cap.
	limiter := newConnLimiter(s.ln, cfg.MaxConnections, cfg.HeaderTimeout, s.metrics)
	s.ln = limiter
	s.http = &http.Server{
		Handler:           s,
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: cfg.HeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ConnState:         limiter.connState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Serve answers requests until ctx ends (then shuts down gracefully) or the listener
// fails. The sweeper and the webhook delivery worker run meanwhile.
func (s *Server) Serve(ctx context.Context) error {
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopSweeper, s.sweeperDone, s.webhookDone = stop, make(chan struct{}), make(chan struct{})
	var seen atomic.Int64 // the sweeper gives way while data-plane requests come in
	s.vaults.SetBusy(func() bool { n := s.dataRequests.Load(); return seen.Swap(n) != n || s.inFlight.Load() > 0 })
	go func() {
		defer close(s.sweeperDone)
		s.vaults.RunSweeper(sctx, s.cfg.SweepInterval, s.log)
	}()
	go s.followTimeShift(sctx)
	go func() {
		defer close(s.webhookDone)
		delivery.Run(sctx, delivery.Options{Store: s.store, Clock: s.cfg.Clock, Log: s.log, RetryBase: s.cfg.WebhookRetryBase,
			VaultURL: func(name string) string { return vaultURL(s.publicURL, name, s.cfg.VaultDomain) },
			Result:   s.metrics.webhookResult})
	}()
	go s.checkpointLedgerEvery(sctx, s.cfg.LedgerCheckpointInterval)
	s.storageChk.start(sctx, s)
	errc := make(chan error, 1)
	go func() { errc <- s.http.ServeTLS(s.ln, "", "") }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.http.Shutdown(shutdownCtx)
	s.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close stops the sweeper and closes the storage. Serve calls it on shutdown.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.stopSweeper != nil {
			s.stopSweeper()
			<-s.sweeperDone
			<-s.webhookDone // it writes to storage, closed below
			s.storageChk.wait()
		}
		if s.http != nil {
			s.http.Close()
		} else if s.ln != nil {
			s.ln.Close()
		}
		if s.vaults != nil && s.auditLedger != nil {
			s.checkpointLedger(context.Background())
		}
		// The storage first: its last checkpoint syncs the audit log (see openStorage).
		if s.store != nil {
			if err := s.store.Close(); err != nil {
				s.log.Error("close storage", "err", err)
			}
		}
		if s.auditFile != nil {
			s.auditFile.Close()
		}
	})
}

// URL is the bare address clients use (--public-url).
func (s *Server) URL() string { return s.publicURL.String() }

// VaultURL is the data-plane URL of vault name.
func (s *Server) VaultURL(name string) string {
	return vaultURL(s.publicURL, name, s.cfg.VaultDomain)
}

func vaultURL(public *url.URL, name, domain string) string {
	host := name + "." + domain
	if p := public.Port(); p != "" && p != "443" {
		host = net.JoinHostPort(host, p)
	}
	return "https://" + host + "/"
}

// CredentialsPath is the administrator's credentials file.
func (s *Server) CredentialsPath() string { return filepath.Join(s.cfg.DataDir, credentialsFile) }

// CAPath is the CA certificate clients trust (empty with --tls-cert).
func (s *Server) CAPath() string {
	if s.cfg.TLSCert != "" {
		return ""
	}
	return filepath.Join(s.cfg.DataDir, tlsDir, pki.CAFile)
}

// DefaultVault is the name of the default vault.
func (s *Server) DefaultVault() string { return s.cfg.DefaultVault }

func (s *Server) tlsConfig(ctx context.Context) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
		return conf, nil
	}
	ca, err := loadCA(ctx, s.store, s.cfg.Clock.Now())
	if err != nil {
		return nil, err
	}
	names := pki.ServerSANs(s.publicURL.Hostname(), s.cfg.VaultDomain)
	cert, err := pki.EnsureServerCert(filepath.Join(s.cfg.DataDir, tlsDir), ca, names, s.cfg.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	sni, err := pki.NewSNICerts(ca, cert, s.cfg.VaultDomain, s.cfg.Clock.Now)
	if err != nil {
		return nil, err
	}
	conf.GetCertificate = sni.GetCertificate
	return conf, nil
}

// Sweep runs the sweeper once now (tests; the server also sweeps on its own).
func (s *Server) Sweep(ctx context.Context) (int, error) { return s.vaults.Sweep(ctx) }

// graphDirectory lets the Graph stand-in look principals up by client id.
type graphDirectory struct{ id *identity.Service }

func (d graphDirectory) ObjectID(ctx context.Context, clientID string) (string, bool, error) {
	p, err := d.id.PrincipalByClientID(ctx, clientID)
	if errors.Is(err, identity.ErrPrincipalNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return p.ObjectID, true, nil
}

// followTimeShift picks up time shifts made through other servers on the same storage
// (a server's own shifts take effect at once).
func (s *Server) followTimeShift(ctx context.Context) {
	every(ctx, time.Second, func() {
		if d, err := loadTimeShift(ctx, s.store); err == nil {
			s.vclock.SetOffset(d)
		}
	})
}

// every calls f every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// openAudit returns the sink every plane records to: Config.Audit when given, else the
// log --audit-log names (DIR/audit/audit.log by default), or nothing when it is "off".
func (s *Server) openAudit() (audit.Sink, error) {
	if s.cfg.Audit != nil {
		return s.cfg.Audit, nil
	}
	path := s.cfg.AuditLog
	switch path {
	case AuditLogOff:
		s.log.Warn("the audit log is off (--audit-log off): requests are not recorded")
		return audit.Discard{}, nil
	case "":
		path = filepath.Join(s.cfg.DataDir, AuditLogDir, AuditLogFile)
	}
	f, err := audit.OpenFile(audit.FileOptions{Path: path, HandOffOutcomes: true})
	if err != nil {
		return nil, fmt.Errorf("--audit-log: %w", err)
	}
	s.auditFile = f
	return f, nil
}

// AuditLogPath is the audit log file ("-" for stdout, "" when Coffer writes none).
func (s *Server) AuditLogPath() string {
	if s.auditFile == nil {
		return ""
	}
	return s.auditFile.Path()
}

// checkpointLedgerEvery copies the ledger's head into the audit log every interval
// when it has changed.
func (s *Server) checkpointLedgerEvery(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() { s.checkpointLedger(ctx) })
}

// checkpointLedger writes the deletion ledger's head (seq, count, hash) into the audit
// log as a LedgerCheckpoint record, unless it is the one written last. A copy of the head
// outside storage is what tells a rewrite of the whole chain (and its head) from its
// history; the last one written is also checked by POST /admin/ledger/verify.
func (s *Server) checkpointLedger(ctx context.Context) {
	h, err := s.vaults.LedgerHead(ctx)
	if err != nil {
		s.log.Error("read the ledger head for its checkpoint", "err", err)
		return
	}
	if a := s.anchor.Load(); h.Seq == 0 || a != nil && a.Seq == h.Seq && a.Hash == h.Hash {
		return
	}
	ev := audit.Event{Time: s.cfg.Clock.Now().UTC(), Phase: "checkpoint", RequestID: uuid.NewString(), Operation: "LedgerCheckpoint",
		ObjectID: "ledger", Ledger: &audit.LedgerHead{Seq: h.Seq, Count: h.Count, Hash: h.Hash}}
	if err := s.auditLedger.Record(ctx, ev); err != nil {
		s.log.Error("write the ledger checkpoint to the audit log", "err", err)
		return
	}
	s.anchor.Store(&ledger.Anchor{Seq: h.Seq, Hash: h.Hash})
}

// CheckpointLedger copies the ledger's head into the audit log now (tests; the server
// does it every --ledger-checkpoint-interval, at start and at shutdown).
func (s *Server) CheckpointLedger(ctx context.Context) { s.checkpointLedger(ctx) }

// lastCheckpoint finds the newest LedgerCheckpoint record in the audit log (its last
// 4 MiB, or the newest rotated file's when the current one has none): the ledger's head
// when the previous server stopped, so that a ledger rewritten in storage meanwhile
// fails verification. Nil when there is none.
func lastCheckpoint(path string, log *slog.Logger) *ledger.Anchor {
	for _, p := range []string{path, path + ".1"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		off := max(fi.Size()-4<<20, 0)
		b := make([]byte, fi.Size()-off)
		_, err = f.ReadAt(b, off)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			log.Warn("read the audit log for the last ledger checkpoint", "file", p, "err", err)
			continue
		}
		lines := bytes.Split(b, []byte{'\n'})
		for i := len(lines) - 1; i >= 0; i-- {
			if !bytes.Contains(lines[i], []byte(`"LedgerCheckpoint"`)) {
				continue
			}
			var e audit.Event
			if json.Unmarshal(lines[i], &e) == nil && e.Operation == "LedgerCheckpoint" && e.Ledger != nil {
				return &ledger.Anchor{Seq: e.Ledger.Seq, Hash: e.Ledger.Hash}
			}
		}
	}
	return nil
}
