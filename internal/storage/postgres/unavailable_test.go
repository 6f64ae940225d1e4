package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/coffer/coffer/internal/storage"
)

// TestMarkUnavailable: PostgreSQL's refusals that pass by themselves and leave nothing
// written become storage.ErrUnavailable (the planes' 503 with Retry-After); the rest keep
// their own meaning.
func TestMarkUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"disk-full", &pgconn.PgError{Code: "53100"}, true},
		{"out-of-memory", &pgconn.PgError{Code: "53200"}, true},
		{"too-many-connections", fmt.Errorf("postgres: begin: %w", &pgconn.PgError{Code: "53300"}), true},
		{"starting-up", &pgconn.PgError{Code: "57P03"}, true},
		{"unreachable", fmt.Errorf("postgres: begin: %w", &pgconn.ConnectError{}), true},
		{"unique-violation", &pgconn.PgError{Code: "23505"}, false},
		{"admin-shutdown", &pgconn.PgError{Code: "57P01"}, false},
		{"other", errors.New("connection reset by peer"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := markUnavailable(tc.err)
			if errors.Is(got, storage.ErrUnavailable) != tc.want || !errors.Is(got, tc.err) {
				t.Errorf("markUnavailable(%v) = %v; want ErrUnavailable %v, the cause kept", tc.err, got, tc.want)
			}
		})
	}
	if markUnavailable(nil) != nil {
		t.Error("markUnavailable(nil) is not nil")
	}
}
