package plane_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/plane"
)

// sink records events; fail makes request records fail.
type sink struct {
	mu     sync.Mutex
	events []audit.Event
	fail   bool
}

func (s *sink) Record(_ context.Context, e audit.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail && e.Phase == "request" {
		return errors.New("disk full")
	}
	s.events = append(s.events, e)
	return nil
}

var alice = plane.Principal{TenantID: "t", ClientID: "c-alice", ObjectID: "o-alice"}

func newPlane(s *sink, render func(*http.Request, string, error) *plane.Error) *plane.Plane {
	return plane.New(plane.Config{
		Name: "test", Audit: s, Clock: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), Denied: "denied: no token",
		Verify: func(_ context.Context, tok string) (plane.Principal, error) {
			if tok == "good" {
				return alice, nil
			}
			return plane.Principal{}, errors.New("bad token")
		},
		Unauthorized: func(w http.ResponseWriter, _ *http.Request) {
			plane.WriteError(w, &plane.Error{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: "no"})
		},
		Render: render,
		Header: http.Header{"Cache-Control": {"no-cache"}},
	})
}

func serve(p *plane.Plane, token string, h plane.Handler) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "https://x/thing", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	p.Serve(w, r, h)
	return w
}

func errorBody(t *testing.T, w *httptest.ResponseRecorder) (code, inner, msg string) {
	t.Helper()
	var b struct {
		Error struct {
			Code, Message string
			InnerError    *struct{ Code string }
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if w.Header().Get("x-ms-error-code") != b.Error.Code {
		t.Errorf("x-ms-error-code %q, body %q", w.Header().Get("x-ms-error-code"), b.Error.Code)
	}
	if b.Error.InnerError != nil {
		inner = b.Error.InnerError.Code
	}
	return b.Error.Code, inner, b.Error.Message
}

func TestUnauthenticatedNeverReachesTheHandler(t *testing.T) {
	for _, tok := range []string{"", "bad"} {
		s := &sink{}
		w := serve(newPlane(s, nil), tok, func(http.ResponseWriter, *http.Request, *plane.Call) error {
			t.Fatal("handler ran without a valid token")
			return nil
		})
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("token %q: %d", tok, w.Code)
		}
		if len(s.events) != 1 || s.events[0].Operation != "Authenticate" || s.events[0].Decision != "denied: no token" ||
			s.events[0].Status != 401 || s.events[0].Phase != "outcome" || s.events[0].RequestID == "" {
			t.Fatalf("records %+v", s.events)
		}
	}
}

func TestOneOutcomeRecordWithTheStatusSent(t *testing.T) {
	s := &sink{}
	w := serve(newPlane(s, nil), "good", func(w http.ResponseWriter, _ *http.Request, c *plane.Call) error {
		if c.Principal != alice {
			t.Errorf("principal %+v", c.Principal)
		}
		c.Event.Operation, c.Event.Decision = "Make", "allowed: test"
		return plane.WriteJSON(w, http.StatusCreated, map[string]int{"n": 1})
	})
	if w.Code != http.StatusCreated || w.Body.String() != `{"n":1}` {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	id := w.Header().Get("X-Ms-Request-Id")
	if len(s.events) != 1 {
		t.Fatalf("records %+v", s.events)
	}
	e := s.events[0]
	if e.RequestID != id || e.Status != 201 || e.Operation != "Make" || e.Principal != alice.Audit() || e.Phase != "outcome" {
		t.Fatalf("record %+v (request id %q)", e, id)
	}
}

func TestBeforeChangeFailsClosed(t *testing.T) {
	s := &sink{fail: true}
	changed := false
	w := serve(newPlane(s, nil), "good", func(w http.ResponseWriter, r *http.Request, c *plane.Call) error {
		if err := c.BeforeChange(r.Context()); err != nil {
			return err
		}
		changed = true
		return nil
	})
	code, _, _ := errorBody(t, w)
	if changed || w.Code != http.StatusServiceUnavailable || code != "ServiceUnavailable" {
		t.Fatalf("changed %v, %d %s", changed, w.Code, w.Body)
	}
	if len(s.events) != 1 || s.events[0].Status != 503 {
		t.Fatalf("records %+v", s.events)
	}

	s = &sink{}
	serve(newPlane(s, nil), "good", func(w http.ResponseWriter, r *http.Request, c *plane.Call) error {
		c.Event.Operation = "Change"
		return c.BeforeChange(r.Context())
	})
	if len(s.events) != 2 || s.events[0].Phase != "request" || s.events[0].Operation != "Change" || s.events[1].Phase != "outcome" ||
		s.events[0].RequestID != s.events[1].RequestID {
		t.Fatalf("records %+v", s.events)
	}
}

func TestErrorsRenderedInOnePlace(t *testing.T) {
	domain := errors.New("domain says no")
	render := func(_ *http.Request, _ string, err error) *plane.Error {
		if errors.Is(err, domain) {
			return &plane.Error{Status: http.StatusConflict, Code: "Conflict", Inner: "Taken", Message: "taken"}
		}
		return nil
	}
	for _, tc := range []struct {
		name               string
		err                error
		status             int
		code, inner, retry string
	}{
		{"own error", &plane.Error{Status: 429, Code: "Throttled", Message: "slow down", RetryAfter: "1"}, 429, "Throttled", "", "1"},
		{"the plane's table", domain, 409, "Conflict", "Taken", ""},
		{"unknown", errors.New("disk on fire"), 500, "InternalError", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{}
			w := serve(newPlane(s, render), "good", func(http.ResponseWriter, *http.Request, *plane.Call) error { return tc.err })
			code, inner, msg := errorBody(t, w)
			if w.Code != tc.status || code != tc.code || inner != tc.inner || w.Header().Get("Retry-After") != tc.retry ||
				w.Header().Get("Cache-Control") != "no-cache" || s.events[0].Status != tc.status {
				t.Fatalf("%d %s %s %q, headers %v", w.Code, code, inner, msg, w.Header())
			}
			if tc.status == 500 && (msg == "" || !strings.Contains(msg, w.Header().Get("X-Ms-Request-Id")) || strings.Contains(msg, "fire")) {
				t.Fatalf("500 message %q must name the request id and hide the cause", msg)
			}
		})
	}
}
