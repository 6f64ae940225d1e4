package server

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/vault"
)

// Config is everything `coffer server` is started with (docs/api.md and the README list the flags).
type Config struct {
	DataDir        string
	Addr           string // HTTPS listen address
	PublicURL      string // "" → https://127.0.0.1:PORT with PORT from Addr
	VaultDomain    string
	DefaultVault   string
	TLSCert        string
	TLSKey         string
	Storage        string // "" or "embedded" → bbolt under DataDir
	AllowTimeShift bool

	// MasterKey is COFFER_MASTER_KEY ("" → DataDir/master.key). An environment
	// variable, never a flag: flags show in ps.
	MasterKey string

	// Clock is the real clock (tokens, TLS); the vault clock is it plus the stored
	// time shift. Nil → clock.Real.
	Clock clock.Clock
	Log   *slog.Logger
	// Audit receives the audit records; nil → the log named by AuditLog.
	Audit audit.Sink
	// AuditLog is --audit-log: "" → DataDir/audit/audit.log, "-" → stdout, "off" → no
	// audit log, else a file path. Files rotate at 64 MiB, 10 kept. Used when Audit is nil.
	AuditLog string
	// LedgerRetention is --ledger-retention: how long deletion-ledger entries are kept;
	// 0 → 8760h.
	LedgerRetention time.Duration
	// LedgerCheckpointInterval is how often the ledger's head is copied into the audit
	// log when it has changed (also at start and shutdown); 0 → 1 minute.
	LedgerCheckpointInterval time.Duration
	SweepInterval            time.Duration // 0 → 5s
	// WebhookRetryBase is the first wait after a failed webhook delivery; each further
	// failure doubles it, up to 5 minutes. The worker also looks for new events this
	// often (at most every second). 0 → 1s; tests make it short.
	WebhookRetryBase time.Duration
}

// Defaults for the flags.
const (
	AuditLogDir    = "audit"     // under DataDir
	AuditLogFile   = "audit.log" // in AuditLogDir
	AuditLogStdout = "-"
	AuditLogOff    = "off"
	// DefaultLedgerRetention is --ledger-retention's default: a year.
	DefaultLedgerRetention = vault.DefaultLedgerRetention
	DefaultDataDir         = "./coffer-data"
	DefaultAddr            = "127.0.0.1:8443"
	DefaultVaultDomain     = "localhost"
	DefaultVaultName       = "default"
	DefaultSubscription    = "c0ffe000-0000-4000-8000-000000000000"
	DefaultGroup           = "coffer"
	DefaultLocation        = "local"
)

func (c *Config) setDefaults() error {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.VaultDomain == "" {
		c.VaultDomain = DefaultVaultDomain
	}
	c.VaultDomain = strings.ToLower(strings.Trim(c.VaultDomain, "."))
	if c.DefaultVault == "" {
		c.DefaultVault = DefaultVaultName
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = 5 * time.Second
	}
	if c.WebhookRetryBase <= 0 {
		c.WebhookRetryBase = time.Second
	}
	if c.LedgerCheckpointInterval <= 0 {
		c.LedgerCheckpointInterval = time.Minute
	}
	if c.LedgerRetention < 0 {
		return fmt.Errorf("--ledger-retention must not be negative")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together: give both or neither")
	}
	if c.Storage != "" && c.Storage != "embedded" && !c.postgres() {
		return fmt.Errorf("--storage: expected \"embedded\" or a postgres:// URL")
	}
	return nil
}

// publicURL is --public-url, or https://127.0.0.1:PORT from the listen port.
func (c *Config) publicURL(listenPort string) (*url.URL, error) {
	s := c.PublicURL
	if s == "" {
		s = "https://" + net.JoinHostPort("127.0.0.1", listenPort)
	}
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("--public-url %q: want https://HOST[:PORT] with no path", c.PublicURL)
	}
	return u, nil
}

// postgres says whether --storage names a PostgreSQL database.
func (c *Config) postgres() bool {
	return strings.HasPrefix(c.Storage, "postgres://") || strings.HasPrefix(c.Storage, "postgresql://")
}
