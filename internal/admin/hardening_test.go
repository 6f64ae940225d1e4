package admin_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/admin"
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
