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
	// ConsoleIdleTimeout and ConsoleMaxLifetime end a browser console session after so
	// long without a request, and so long after sign-in (0 → 30 minutes and 12 hours).
	ConsoleIdleTimeout, ConsoleMaxLifetime time.Duration
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

	// Connections and slow clients (conns.go). Zero → the Default… value.
	//
	// MaxConnections is --max-connections: connections served at once.
	MaxConnections int
	// HeaderTimeout is --header-timeout: the TLS handshake and a request's headers must
	// arrive within it.
	HeaderTimeout time.Duration
	// BodyTimeout and MinBodyRate are --body-timeout and --min-body-rate (bytes per
	// second): a request body must keep arriving, BodyTimeout from the first read plus one
	// second for each MinBodyRate bytes received.
	BodyTimeout time.Duration
	MinBodyRate int
	// IdleTimeout is --idle-timeout: a keep-alive connection idle this long is closed.
	IdleTimeout time.Duration
	// MaxHeaderBytes is --max-header-bytes: larger request headers are answered 431.
	MaxHeaderBytes int

	// StartCheckPages bounds the pages of the embedded store's file a start checks before
	// serving (bbolt.Options.StartPages; 0 → bbolt.DefaultStartPages): the rest is checked
	// in the background once the server serves (storagecheck.go). Tests make it small.
	StartCheckPages int
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

	// DefaultMaxConnections is --max-connections' default: plenty for the clients of a
	// vault, and about 50 MB of TLS state when all are open.
	DefaultMaxConnections = 1024
	// DefaultHeaderTimeout is --header-timeout's default.
	DefaultHeaderTimeout = 10 * time.Second
	// DefaultBodyTimeout and DefaultMinBodyRate are --body-timeout's and
	// --min-body-rate's: a body gets 10 s, then must keep coming at 1 KiB/s (8 kbit/s,
	// slower than any real link: a 4 MiB restore still passes on it, a client that stops
	// is cut off after 10 s).
	DefaultBodyTimeout = 10 * time.Second
	DefaultMinBodyRate = 1024
	// DefaultIdleTimeout is --idle-timeout's default.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxHeaderBytes is --max-header-bytes' default: 64 KiB, far above what Azure's
	// SDKs send (a bearer token is at most 8 KiB).
	DefaultMaxHeaderBytes = 64 << 10
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
	for _, d := range []struct {
		v    *time.Duration
		def  time.Duration
		flag string
	}{{&c.HeaderTimeout, DefaultHeaderTimeout, "--header-timeout"}, {&c.BodyTimeout, DefaultBodyTimeout, "--body-timeout"},
		{&c.IdleTimeout, DefaultIdleTimeout, "--idle-timeout"}} {
		if *d.v < 0 {
			return fmt.Errorf("%s must not be negative", d.flag)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	for _, n := range []struct {
		v    *int
		def  int
		flag string
	}{{&c.MaxConnections, DefaultMaxConnections, "--max-connections"}, {&c.MinBodyRate, DefaultMinBodyRate, "--min-body-rate"},
		{&c.MaxHeaderBytes, DefaultMaxHeaderBytes, "--max-header-bytes"}} {
		if *n.v < 0 {
			return fmt.Errorf("%s must not be negative", n.flag)
		}
		if *n.v == 0 {
			*n.v = n.def
		}
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
