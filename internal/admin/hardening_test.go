package admin_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/admin"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/vault"
)

// TestBodyMustBeUTF8JSONText: an admin body that is not UTF-8 JSON text is refused with a
// 400 that says so, before anything is done.
func TestBodyMustBeUTF8JSONText(t *testing.T) {
	shifts := 0
	a := admin.New(admin.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ShiftTime: func(*http.Request, int64) (time.Duration, time.Time, error) {
			shifts++
			return 0, time.Unix(0, 0), nil
		}})
	for _, body := range []string{"{\"seconds\":5,\"note\":\"\xff\"}", `{"seconds":5,"note":"\udc00"}`} {
		w, _ := serve(t, a, administrator, "POST", "/admin/time-shift", body)
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != 400 || e.Error.Code != "BadRequest" || !strings.Contains(e.Error.Message, "must be UTF-8 JSON text") {
			t.Errorf("%q: %d %s", body, w.Code, w.Body)
		}
	}
	if shifts != 0 {
		t.Errorf("the clock was shifted %d times by refused bodies", shifts)
	}
}

// TestEchoedInputIsBounded: a 100 KB path is shown in the 404's message cut to 128
// characters and "…".
func TestEchoedInputIsBounded(t *testing.T) {
	a := admin.New(admin.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	long := strings.Repeat("x", 100_000)
	w, _ := serve(t, a, administrator, "GET", "/admin/"+long, "")
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != 404 ||
		!strings.Contains(e.Error.Message, "/admin/"+strings.Repeat("x", 121)+"….") || len(e.Error.Message) > 1000 {
		t.Errorf("%d, a message of %d bytes: %.300s", w.Code, len(e.Error.Message), e.Error.Message)
	}
}

// TestRecycleBinHidesWhichVaultsExist: for a principal other than the administrator,
// ?vault= naming a vault that does not exist answers as one it may not list, live or
// deleted: 200 and an empty list. The administrator still gets 404 VaultNotFound.
func TestRecycleBinHidesWhichVaultsExist(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "coffer.db"), bbolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	vs, err := vault.Open(t.Context(), vault.Options{Storage: db, Clock: clock.NewFake(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"live", "gone"} {
		if _, _, err := vs.EnsureVault(t.Context(), vault.Vault{Name: name, RetentionDays: 90, Location: "local"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := vs.Internal().DeleteVault(t.Context(), "gone"); err != nil {
		t.Fatal(err)
	}
	a := admin.New(admin.Options{Vaults: vs, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		VaultURL: func(name string) string { return "https://" + name + ".vault.test/" }})

	answers := map[string]string{}
	for _, v := range []string{"live", "gone", "nosuch"} {
		w, _ := serve(t, a, someone, "GET", "/admin/recycle-bin?vault="+v, "")
		if w.Code != 200 {
			t.Errorf("?vault=%s: %d %s", v, w.Code, w.Body)
		}
		answers[v] = w.Body.String()
	}
	if answers["nosuch"] != answers["live"] || answers["gone"] != answers["live"] {
		t.Errorf("the answers tell the vaults apart: %q", answers)
	}
	if w, _ := serve(t, a, administrator, "GET", "/admin/recycle-bin?vault=nosuch", ""); w.Code != 404 || code(t, w) != "VaultNotFound" {
		t.Errorf("administrator, ?vault=nosuch: %d %s", w.Code, w.Body)
	}
	if w, _ := serve(t, a, administrator, "GET", "/admin/recycle-bin?vault=gone", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"kind":"vault"`) {
		t.Errorf("administrator, ?vault=gone: %d %s", w.Code, w.Body)
	}
}
