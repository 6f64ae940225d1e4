package cli

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/coffer/coffer/internal/server"
)

type serverOptions struct {
	cfg       server.Config
	logJSON   bool
	pprofAddr string
}

func (o *serverOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.cfg.DataDir, "data-dir", server.DefaultDataDir, "directory of this server's files (created on first start)")
	fs.StringVar(&o.cfg.Addr, "addr", server.DefaultAddr, "HTTPS listen address")
	fs.StringVar(&o.cfg.PublicURL, "public-url", "", "URL clients use for the bare address (default https://127.0.0.1:PORT)")
	fs.StringVar(&o.cfg.TLSCert, "tls-cert", "", "serve this certificate (PEM) instead of Coffer's own")
	fs.StringVar(&o.cfg.TLSKey, "tls-key", "", "key (PEM) of --tls-cert")
	fs.StringVar(&o.cfg.VaultDomain, "vault-domain", server.DefaultVaultDomain, "vaults are reached at V.DOMAIN")
	fs.StringVar(&o.cfg.DefaultVault, "default-vault", server.DefaultVaultName, "vault served on the bare address; created when missing")
	fs.StringVar(&o.cfg.Storage, "storage", "", "storage: embedded (default, a file under --data-dir), or postgres://USER@HOST:PORT/DB?sslmode=… (password in PGPASSWORD, not here: flags show in ps)")
	fs.BoolVar(&o.cfg.AllowTimeShift, "allow-time-shift", false, "enable POST /admin/time-shift to move the vault clock (tests only)")
	fs.StringVar(&o.cfg.AuditLog, "audit-log", "", "audit log: a file (JSON lines, rotated at 64 MiB, 10 kept), - for stdout, or off (default DATA-DIR/audit/audit.log)")
	fs.DurationVar(&o.cfg.LedgerRetention, "ledger-retention", server.DefaultLedgerRetention, "how long the deletion ledger keeps its entries")
	fs.IntVar(&o.cfg.MaxConnections, "max-connections", server.DefaultMaxConnections, "client connections served at once; beyond, the idlest is closed or new ones wait")
	fs.DurationVar(&o.cfg.HeaderTimeout, "header-timeout", server.DefaultHeaderTimeout, "time for a TLS handshake and a request's headers")
	fs.DurationVar(&o.cfg.BodyTimeout, "body-timeout", server.DefaultBodyTimeout, "time for a request body, plus one second per --min-body-rate bytes received")
	fs.IntVar(&o.cfg.MinBodyRate, "min-body-rate", server.DefaultMinBodyRate, "bytes per second a request body must keep arriving at after --body-timeout")
	fs.DurationVar(&o.cfg.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "close a keep-alive connection idle this long")
	fs.IntVar(&o.cfg.MaxHeaderBytes, "max-header-bytes", server.DefaultMaxHeaderBytes, "larger request headers are answered 431")
	fs.BoolVar(&o.logJSON, "log-json", false, "log JSON lines instead of text")
	fs.StringVar(&o.pprofAddr, "debug-pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this loopback HOST:PORT, plain HTTP without authentication (off by default; for profiling only)")
}

func newServerCommand() *cobra.Command {
	o := &serverOptions{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Coffer server",
		Long: `Run the Coffer server. On first start it creates the data dir with a CA, a server
certificate, an embedded database, an encryption keyring and an administrator.

The key-encryption key is COFFER_MASTER_KEY (base64 of 32 bytes) when set, else
DATA-DIR/master.key. Without it the stored secrets cannot be read.`,
		Example: `  coffer server
  coffer server --audit-log - --ledger-retention 2160h
  coffer server --data-dir /var/lib/coffer --addr 0.0.0.0:8443 --public-url https://vault.example.com:8443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var h slog.Handler = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
			if o.logJSON {
				h = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
			}
			o.cfg.Log = slog.New(h)
			setGCPercent()
			if o.pprofAddr != "" {
				if err := startPprof(o.pprofAddr, o.cfg.Log); err != nil {
					return err
				}
			}
			o.cfg.MasterKey = os.Getenv("COFFER_MASTER_KEY")
			srv, err := server.New(cmd.Context(), o.cfg)
			if err != nil {
				return err
			}
			printWelcome(cmd, srv)
			return srv.Serve(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func printWelcome(cmd *cobra.Command, srv *server.Server) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Coffer is serving.\n")
	fmt.Fprintf(out, "  vault:        %s  (vault %q; also on %s)\n", srv.VaultURL(srv.DefaultVault()), srv.DefaultVault(), srv.URL())
	fmt.Fprintf(out, "  credentials:  %s  (administrator: tenantId, clientId, clientSecret, authorityHost)\n", srv.CredentialsPath())
	fmt.Fprintf(out, "  console:      %s  (in a browser; coffer console opens it signed in)\n", srv.ConsoleURL())
	if ca := srv.CAPath(); ca != "" {
		fmt.Fprintf(out, "  CA to trust:  %s\n", ca)
		fmt.Fprintf(out, "\nTry it (token, then a secret):\n")
		fmt.Fprintf(out, "  C=%s; T=$(curl -s --cacert %s $(jq -r .authorityHost $C)$(jq -r .tenantId $C)/oauth2/v2.0/token \\\n", srv.CredentialsPath(), ca)
		fmt.Fprintf(out, "      -d grant_type=client_credentials -d client_id=$(jq -r .clientId $C) -d client_secret=$(jq -r .clientSecret $C) \\\n")
		fmt.Fprintf(out, "      -d scope=https://localhost:%s/.default | jq -r .access_token)\n", portOf(srv.URL()))
		fmt.Fprintf(out, "  curl -s --cacert %s -H \"Authorization: Bearer $T\" -X PUT -H 'Content-Type: application/json' \\\n", ca)
		fmt.Fprintf(out, "      -d '{\"value\":\"hello\"}' '%ssecrets/greeting?api-version=7.6'\n", srv.URL()+"/")
		fmt.Fprintf(out, "Go programs: azidentity.NewClientSecretCredential + azsecrets.NewClient(%q, …); see README.md.\n", srv.VaultURL(srv.DefaultVault()))
	}
}

func portOf(u string) string {
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == ':' {
			return u[i+1:]
		}
	}
	return "443"
}

// serverGCPercent is the server's GOGC unless the environment sets one. A request
// allocates about 20 KB (a get) to 35 KB (a set) of short-lived memory over a small live
// heap, so the collector ran often: at 200 it runs half as often as Go's default, which
// cut the CPU of a get by 11–23% and of a set by 17–22% (go test ./internal/server/ -bench
// Handler, cpu-ns/op); at 400 a quarter as often, which took gets at c=64 end to end from
// 50.9% to 53.7% of the bare TLS server (go run ./bench -server-env GOGC=…), for some
// tens of MB more heap at most (the live heap is a few tens of MB, even at a million
// objects).
const serverGCPercent = 400

// setGCPercent applies serverGCPercent when GOGC is not set: GOGC (and GOMEMLIMIT) in the
// environment still decide.
func setGCPercent() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}
