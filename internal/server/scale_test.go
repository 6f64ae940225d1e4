package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"golang.org/x/sys/unix"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
	"github.com/coffer/coffer/internal/vault"
)

// TestDeletedPagerEndsDuringBacklog: with more deleted secrets past their purge date
// than a page reads in a row (the sweeper has not reached them), the SDK's deleted-secret
// pager ends, every nextLink it follows moves forward, and it lists exactly the
// recoverable secrets around them.
func TestDeletedPagerEndsDuringBacklog(t *testing.T) {
	st := testenv.NewStack(t) // the sweeper runs once at start, then every hour
	c := st.Secrets(t, "default")
	setDel := func(names []string) {
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(names); i += 16 {
					if _, err := c.SetSecret(t.Context(), names[i], azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil); err != nil {
						t.Error(err)
						return
					}
					if _, err := c.DeleteSecret(t.Context(), names[i], nil); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	var overdue []string
	for i := range 1100 { // more than twice the 500 records a page leaves out at most
		overdue = append(overdue, fmt.Sprintf("m%04d", i))
	}
	setDel(overdue)
	st.ShiftTime(t, 91*24*time.Hour) // past every retention; no sweep
	recoverable := []string{"a-first", "m0550-between", "z-last"}
	setDel(recoverable)

	p := c.NewListDeletedSecretPropertiesPager(nil)
	var got []string
	seen := map[string]bool{}
	for n := 0; p.More(); n++ {
		if n > 200 {
			t.Fatal("the pager does not end")
		}
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Value {
			got = append(got, s.ID.Name())
		}
		if page.NextLink != nil {
			if seen[*page.NextLink] {
				t.Fatalf("nextLink %s came twice: the pager would spin", *page.NextLink)
			}
			seen[*page.NextLink] = true
			if len(page.Value) == 0 && n > 0 && len(seen) < 2 {
				t.Fatalf("an empty page whose nextLink does not advance")
			}
		}
	}
	if !slices.Equal(got, recoverable) {
		t.Fatalf("listed %v, want %v", got, recoverable)
	}
	// Exact to the second whatever the backlog: an overdue secret reads as purged.
	if _, err := c.GetDeletedSecret(t.Context(), "m0007", nil); !strings.Contains(fmt.Sprint(err), "404") {
		t.Fatalf("an overdue deleted secret, not yet swept: %v, want 404", err)
	}
}

// residentPages is how many pages of the file at path are in the page cache, and how
// many it has.
func residentPages(t *testing.T, path string) (resident, total int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	ps := os.Getpagesize()
	vec := make([]byte, (len(m)+ps-1)/ps)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	for _, b := range vec {
		resident += int(b & 1)
	}
	return resident, len(vec)
}

// evict drops the file at path from the page cache (its pages are clean once synced).
func evict(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
}

// TestStartAtScaleReadsLittle: a start on a store of 50,000 secrets (1 KiB values, a
// file of ~100 MB) reads a bounded part of it, not every page: with the file evicted from
// the page cache, a server's start (New: open, checks, keyring, identity, vault service;
// the background check only begins with Serve) leaves under a tenth of the file's pages
// in the cache — and the start's own structural check reports no more pages than its
// bound. (Before, bbolt rebuilt its free list by reading every page, the start verified
// every page and opened every value: the whole file.) A benchmark times it (bench/).
func TestStartAtScaleReadsLittle(t *testing.T) {
	if testing.Short() {
		t.Skip("populates 50,000 secrets")
	}
	dir := t.TempDir()
	st := testenv.NewStack(t, testenv.Options{DataDir: dir})
	st.Stop()
	store, err := server.OpenStoreForTest(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := vault.Open(t.Context(), vault.Options{Storage: store, Clock: clock.Real{}, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	value := strings.Repeat("x", 1024)
	const n, writers = 50000, 64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				if _, err := vs.Internal().SetSecret(t.Context(), "default", fmt.Sprintf("s%06d", i), vault.SecretParams{Value: value}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	store.Close()
	if t.Failed() {
		return
	}
	path := filepath.Join(dir, "coffer.db")
	evict(t, path)
	if res, total := residentPages(t, path); res > total/20 {
		t.Skipf("the page cache keeps %d of %d pages after FADV_DONTNEED: cannot tell what a start reads", res, total)
	}
	start := time.Now()
	srv, err := server.New(t.Context(), server.Config{DataDir: dir, Addr: "127.0.0.1:0", Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	res, total := residentPages(t, path)
	rep := server.StartCheckReport(srv)
	srv.Close()
	t.Logf("start on %d secrets (%d pages): %v; %d pages in the page cache after it; its check read %d pages (complete: %v)", n, total, took, res, rep.Pages, rep.Complete)
	if res > total/10 {
		t.Errorf("the start read %d of the file's %d pages: more than a bounded part", res, total)
	}
	if rep.Complete || rep.Pages > 1024 {
		t.Errorf("the start's check read %d pages (complete: %v): want a bounded part", rep.Pages, rep.Complete)
	}
}
