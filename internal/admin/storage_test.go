package admin_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/admin"
	"github.com/coffer/coffer/internal/storage"
)

// TestStorageRefusals: a route whose storage refused the work for now and wrote nothing
// answers 503 with Retry-After (conflicting writers: 1 s; a full disk: 5 s), saying what
// could not be done; any other storage failure stays a 500.
func TestStorageRefusals(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{"busy", fmt.Errorf("postgres: update: %w", storage.ErrBusy), 503, "ServiceUnavailable", "1"},
		{"disk-full", fmt.Errorf("bbolt: commit: %w: %w", storage.ErrUnavailable, syscall.ENOSPC), 503, "ServiceUnavailable", "5"},
		{"broken", errors.New("disk on fire"), 500, "InternalError", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := admin.New(admin.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				ShiftTime: func(*http.Request, int64) (time.Duration, time.Time, error) { return 0, time.Time{}, tc.err }})
			w, _ := serve(t, a, administrator, "POST", "/admin/time-shift", `{"seconds":5}`)
			if w.Code != tc.status || code(t, w) != tc.code || w.Header().Get("Retry-After") != tc.retryAfter {
				t.Errorf("got %d %s Retry-After %q, want %d %s Retry-After %q", w.Code, code(t, w), w.Header().Get("Retry-After"), tc.status, tc.code, tc.retryAfter)
			}
			if !strings.Contains(w.Body.String(), "the clock did not move") {
				t.Errorf("the answer does not say what could not be done: %s", w.Body)
			}
		})
	}
}
