package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/admin"
	"github.com/coffer/coffer/internal/plane"
)

var (
	administrator = plane.Principal{ClientID: "admin", ObjectID: "o-admin", Admin: true}
	someone       = plane.Principal{ClientID: "someone", ObjectID: "o-someone"}
)

// serve runs one request through the route table as who, behind the plane adapter.
func serve(t *testing.T, a *admin.Admin, who plane.Principal, method, path, body string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	p := plane.New(plane.Config{Name: "admin", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Verify: func(context.Context, string) (plane.Principal, error) { return who, nil }})
	r := httptest.NewRequest(method, "https://127.0.0.1:8443"+path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer x")
	w := httptest.NewRecorder()
	var op string
	p.Serve(w, r, func(w http.ResponseWriter, r *http.Request, c *plane.Call) error {
		err := a.Serve(w, r, c)
		op = c.Event.Operation
		return err
	})
	return w, op
}

func code(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an error answer: %d %s", w.Code, w.Body)
	}
	return e.Error.Code
}

func TestRouteTable(t *testing.T) {
	var shifted int64
	on := admin.New(admin.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ShiftTime: func(_ *http.Request, s int64) (time.Duration, time.Time, error) {
			shifted += s
			return time.Duration(shifted) * time.Second, time.Unix(1000+shifted, 0), nil
		}})
	off := admin.New(admin.Options{})
	for _, tc := range []struct {
		name               string
		a                  *admin.Admin
		who                plane.Principal
		method, path, body string
		status             int
		code, op, allow    string
	}{
		{"unknown route, administrator", on, administrator, "GET", "/admin/nothing", "", 404, "NotFound", "AdminUnknown", ""},
		{"unknown route, anyone else", on, someone, "GET", "/admin/nothing", "", 403, "Forbidden", "AdminUnknown", ""},
		{"administrator only", on, someone, "GET", "/admin/principals", "", 403, "Forbidden", "PrincipalList", ""},
		{"wrong method lists the right ones", on, administrator, "PUT", "/admin/principals", "", 405, "MethodNotAllowed", "PrincipalList", "GET, POST"},
		{"an id takes one segment", on, administrator, "DELETE", "/admin/principals/a/b", "", 404, "NotFound", "AdminUnknown", ""},
		{"no empty id", on, administrator, "DELETE", "/admin/webhooks/", "", 404, "NotFound", "AdminUnknown", ""},
		{"ledger verify is POST", on, administrator, "GET", "/admin/ledger/verify", "", 405, "MethodNotAllowed", "LedgerVerify", "POST"},
		{"time shift off", off, administrator, "POST", "/admin/time-shift", `{"seconds":5}`, 404, "NotFound", "TimeShift", ""},
		{"time shift off says so before the method", off, administrator, "GET", "/admin/time-shift", "", 404, "NotFound", "TimeShift", ""},
		{"time shift bad body", on, administrator, "POST", "/admin/time-shift", `{"seconds":-1}`, 400, "BadRequest", "TimeShift", ""},
		{"time shift, not the administrator", on, someone, "POST", "/admin/time-shift", `{"seconds":5}`, 403, "Forbidden", "TimeShift", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, op := serve(t, tc.a, tc.who, tc.method, tc.path, tc.body)
			if w.Code != tc.status || code(t, w) != tc.code || op != tc.op || w.Header().Get("Allow") != tc.allow {
				t.Fatalf("%d %s (op %s, Allow %q)", w.Code, w.Body, op, w.Header().Get("Allow"))
			}
		})
	}
	if shifted != 0 {
		t.Fatalf("a refused shift moved the clock by %d s", shifted)
	}
	w, _ := serve(t, on, administrator, "POST", "/admin/time-shift", `{"seconds":60}`)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"offsetSeconds":60`) || shifted != 60 {
		t.Fatalf("shift: %d %s (shifted %d)", w.Code, w.Body, shifted)
	}
}
