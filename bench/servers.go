package main

// The Coffer processes under measurement. Building, starting, waiting for /healthz,
// reading the bootstrap credentials, getting a token and stopping are
// internal/testenv/cofferproc's, the start-up the tests use, so the benchmark measures a
// server started the way the tests start it; this file adds what only the benchmark
// wants: a log file and data dir per process in the run's temp dir, and the shared
// storage, master key and public URL of -storage and -servers.

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/testenv/cofferproc"
)

// cofferBinary returns -coffer, or builds cmd/coffer into tmp when a selected workload
// needs the server and -coffer is empty ("" when none needs it).
func cofferBinary(ctx context.Context, cfg *config, tmp string) (string, error) {
	if cfg.cofferBin != "" || !cfg.needCoffer() {
		return cfg.cofferBin, nil
	}
	bin := filepath.Join(tmp, "coffer")
	fmt.Fprintln(os.Stderr, "building coffer …")
	if err := cofferproc.Build(ctx, bin, false, os.Stderr); err != nil {
		return "", err
	}
	return bin, nil
}

// servers are the coffer processes of a run, one unless -servers; they share the
// storage, the CA and the public URL.
type servers struct {
	procs      []*cofferproc.Process
	logs       []*os.File // each process's stdout and stderr
	publicPort int        // the port of the public URL (vault and token URLs)
	tag        string     // names its data dirs and logs apart from another run's (data-TAG, coffer-TAG.log)
}

// startEmbedded starts, for -compare-embedded, one coffer of bin on the embedded bbolt
// file with the run's other flags, its data dir and log tagged "embedded".
func startEmbedded(ctx context.Context, cfg *config, bin, tmp string) (*servers, error) {
	c := *cfg
	c.storage, c.servers = "", 1
	s := &servers{tag: "embedded"}
	return s, s.start(ctx, &c, bin, tmp)
}

// start starts cfg.servers processes of bin, one after the other, each with a data dir
// and a log in tmp (data, coffer.log; data-2, coffer-2.log; …). What started is in s
// even when a later one fails, for stop.
func (s *servers) start(ctx context.Context, cfg *config, bin, tmp string) error {
	args, env := strings.Fields(cfg.serverArgs), strings.Fields(cfg.serverEnv)
	if cfg.storage != "" {
		// On a shared storage every server must unseal the same keys.
		kek := make([]byte, 32)
		rand.Read(kek)
		env = append(env, "COFFER_MASTER_KEY="+base64.StdEncoding.EncodeToString(kek))
		args = append(args, "--storage", cfg.storage)
	}
	if cfg.servers > 1 {
		// One public URL on a port nothing listens on, as behind a load balancer: the
		// clients pin their connections to the servers.
		port, err := cofferproc.FreePort()
		if err != nil {
			return err
		}
		s.publicPort = port
		args = append(args, "--public-url", fmt.Sprintf("https://127.0.0.1:%d", port))
	}
	for i := range cfg.servers {
		fmt.Fprintf(os.Stderr, "starting coffer %d/%d %s…\n", i+1, cfg.servers, s.tag)
		dataDir, logPath := filepath.Join(tmp, "data"), filepath.Join(tmp, "coffer.log")
		if s.tag != "" {
			dataDir, logPath = filepath.Join(tmp, "data-"+s.tag), filepath.Join(tmp, "coffer-"+s.tag+".log")
		} else if i > 0 {
			dataDir, logPath = filepath.Join(tmp, fmt.Sprintf("data-%d", i+1)), filepath.Join(tmp, fmt.Sprintf("coffer-%d.log", i+1))
		}
		logf, err := os.Create(logPath)
		if err != nil {
			return err
		}
		p, err := cofferproc.Start(ctx, cofferproc.Config{Bin: bin, DataDir: dataDir, Args: args, Env: env, Output: logf})
		if err != nil {
			logf.Close()
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("coffer did not become healthy (%v); its log:\n%s", err, log)
		}
		s.procs = append(s.procs, p)
		s.logs = append(s.logs, logf)
	}
	if s.publicPort == 0 {
		s.publicPort, _ = strconv.Atoi(s.procs[0].Port)
	}
	return nil
}

// trustIn adds to roots the CA the servers' certificates chain to (the first server's:
// on a shared storage they share it).
func (s *servers) trustIn(roots *x509.CertPool) error {
	ca, err := os.ReadFile(s.procs[0].CAPath())
	if err != nil {
		return err
	}
	if !roots.AppendCertsFromPEM(ca) {
		return errors.New("no certificate in coffer's ca.crt")
	}
	return nil
}

// token gets a data-plane token of the administrator from the first server, for the
// vaults of the public URL's port (every server of the run accepts it).
func (s *servers) token(ctx context.Context) (string, error) {
	return s.procs[0].Token(ctx, fmt.Sprintf("https://localhost:%d/.default", s.publicPort))
}

// vaultURL is the default vault on the public URL's port.
func (s *servers) vaultURL() string {
	return fmt.Sprintf("https://default.localhost:%d", s.publicPort)
}

// exitedLog returns the log path of a server that has exited, or "".
func (s *servers) exitedLog() string {
	for i, p := range s.procs {
		if p.Exited() {
			return s.logs[i].Name()
		}
	}
	return ""
}

// stop stops every server (SIGTERM, then SIGKILL after 15 s) and closes its log.
func (s *servers) stop() {
	for i, p := range s.procs {
		p.Stop(15 * time.Second)
		s.logs[i].Close()
	}
}

// logFiles returns the processes' logs; none for a nil s (no such servers in the run).
func (s *servers) logFiles() []*os.File {
	if s == nil {
		return nil
	}
	return s.logs
}
