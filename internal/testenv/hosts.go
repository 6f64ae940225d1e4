package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// hostsFile is the file ResolveLoopback edits.
const hostsFile = "/etc/hosts"

// hostsUsers counts, per host, the tests of this process that rely on its line, so the
// line goes only when the last of them ends.
var (
	hostsMu    sync.Mutex
	hostsUsers = map[string]int{}
	hostsAdded = map[string]string{} // host → the bytes appended for it
)

// ResolveLoopback makes host (e.g. "default.localhost") resolve to 127.0.0.1 for programs
// that use the C library's resolver: Python, the az CLI, curl. Go clients do not need it
// (HTTPClient maps *.localhost in its dialer).
//
// A stock Debian image resolves `localhost` but not `V.localhost` (hosts: files dns, no
// nss-myhostname), while every vault's URL is https://V.localhost:PORT. If the name does not resolve yet, ResolveLoopback
// appends "127.0.0.1 host" to /etc/hosts and removes exactly that line when the test
// ends. The file is edited in place under an exclusive flock, since /etc/hosts is often
// a bind mount that cannot be replaced by a rename and test binaries run in parallel.
// Without the right to write /etc/hosts (not root) the test is skipped with the fix.
func ResolveLoopback(t testing.TB, host string) {
	t.Helper()
	hostsMu.Lock()
	defer hostsMu.Unlock()
	if n := hostsUsers[host]; n > 0 {
		hostsUsers[host] = n + 1
		t.Cleanup(func() { releaseHost(t, host) })
		return
	}
	if resolvesToLoopback(host) {
		return
	}
	added := hostsLine(host) + "\n"
	if err := editHosts(func(b []byte) []byte {
		if len(b) > 0 && b[len(b)-1] != '\n' {
			added = "\n" + added
		}
		return append(b, added...)
	}); err != nil {
		t.Skipf("%s does not resolve and %s cannot be edited (%v): run as root, add \"127.0.0.1 %s\" to %s, or install libnss-myhostname",
			host, hostsFile, err, host, hostsFile)
	}
	hostsUsers[host] = 1
	hostsAdded[host] = added
	t.Cleanup(func() { releaseHost(t, host) })
	if haveGetent() && !resolvesToLoopback(host) {
		t.Skipf("%s still does not resolve to 127.0.0.1 after adding it to %s (does /etc/nsswitch.conf list \"files\" for hosts?)", host, hostsFile)
	}
}

// hostsLine is the line this process adds for host.
func hostsLine(host string) string {
	return fmt.Sprintf("127.0.0.1 %s # coffer test, pid %d", host, os.Getpid())
}

// releaseHost drops one user of host's line and removes the line with the last one.
func releaseHost(t testing.TB, host string) {
	hostsMu.Lock()
	defer hostsMu.Unlock()
	if hostsUsers[host]--; hostsUsers[host] > 0 {
		return
	}
	added := hostsAdded[host]
	delete(hostsUsers, host)
	delete(hostsAdded, host)
	line := hostsLine(host)
	if err := editHosts(func(b []byte) []byte {
		if rest, ok := bytes.CutSuffix(b, []byte(added)); ok {
			return rest // the file as it was
		}
		var out []byte
		for _, l := range bytes.SplitAfter(b, []byte("\n")) {
			if strings.TrimRight(string(l), "\n") != line {
				out = append(out, l...)
			}
		}
		return out
	}); err != nil {
		t.Errorf("remove %q from %s: %v", line, hostsFile, err)
	}
}

// editHosts rewrites /etc/hosts in place with edit's result, under an exclusive flock.
func editHosts(edit func([]byte) []byte) error {
	f, err := os.OpenFile(hostsFile, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	var old bytes.Buffer
	if _, err := old.ReadFrom(f); err != nil {
		return err
	}
	b := edit(bytes.Clone(old.Bytes()))
	if bytes.Equal(b, old.Bytes()) {
		return nil
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(b)))
}

// resolvesToLoopback asks the C library (getent ahosts) whether host resolves to a
// loopback address. Go's own resolver is not asked: it is not what Python and az use.
// Without getent it reports false, so the line is added (a duplicate does no harm).
func resolvesToLoopback(host string) bool {
	getent, err := exec.LookPath("getent")
	if err != nil {
		getent = "/usr/bin/getent"
	}
	out, err := exec.Command(getent, "ahosts", host).Output()
	if err != nil {
		return false
	}
	for _, f := range strings.Fields(string(out)) {
		if ip := net.ParseIP(f); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	return false
}

// haveGetent reports whether resolvesToLoopback can ask the C library at all.
func haveGetent() bool {
	if _, err := exec.LookPath("getent"); err == nil {
		return true
	}
	_, err := os.Stat("/usr/bin/getent")
	return err == nil
}
