package main

// The ceiling: a bare net/http TLS server that answers {"ok":true} to anything, the
// most any Go HTTPS server can do on this machine. It is this program re-executed in a
// hidden mode rather than a goroutine, so that, like Coffer, it is a process apart from
// the load generator and competes with it for the cores the same way.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/testenv/cofferproc"
)

// ceilingProc is the ceiling server's process, which this program started.
type ceilingProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	addr    string // localhost:PORT
	certPEM []byte
	done    chan struct{}
}

// startCeiling re-executes this program as the ceiling server on a directory of tmp and
// waits for the address it prints. Its stdin is a pipe that only closes when this
// program stops it or dies, so it never outlives the benchmark.
func startCeiling(ctx context.Context, tmp string) (*ceilingProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(tmp, "ceiling")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &ceilingProc{done: make(chan struct{})}
	p.cmd = exec.Command(self, ceilingMode, dir)
	p.cmd.SysProcAttr = cofferproc.ChildAttr() // it dies with the benchmark, like Coffer
	p.cmd.Stderr = os.Stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case l, ok := <-line:
		addr, found := strings.CutPrefix(l, "LISTEN ")
		if !ok || !found {
			p.stop()
			return nil, fmt.Errorf("ceiling server: unexpected first line %q", l)
		}
		_, port, _ := net.SplitHostPort(addr)
		p.addr = "localhost:" + port
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, errors.New("ceiling server did not start")
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
	if p.certPEM, err = os.ReadFile(filepath.Join(dir, "cert.pem")); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *ceilingProc) stop() {
	p.stdin.Close() // the server exits when its stdin closes
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// ceilingServer serves {"ok":true} over TLS (ECDSA P-256, like Coffer's certificates)
// until stdin closes. It writes DIR/cert.pem, then prints "LISTEN addr".
func ceilingServer(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	body := []byte(`{"ok":true}`)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write(body)
		}),
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		srv.Close()
	}()
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
