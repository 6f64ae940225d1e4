package server

import (
	"context"
	"io"
	"log/slog"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
)

// StoreOf exposes a server's storage (behind the barrier) to the external tests, which
// edit it by hand to show that tampering is detected.
func StoreOf(s *Server) storage.Backend { return s.store }

// OpenStoreForTest opens a stopped server's storage (behind the barrier), as someone
// holding the data dir and its key could.
func OpenStoreForTest(ctx context.Context, dataDir string) (storage.Backend, error) {
	return OpenStoreForTestOn(ctx, dataDir, "")
}

// OpenStoreForTestOn is OpenStoreForTest with --storage st ("" → the embedded file).
func OpenStoreForTestOn(ctx context.Context, dataDir, st string) (storage.Backend, error) {
	cfg := Config{DataDir: dataDir, Storage: st}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	b, _, err := openStorage(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		return nil, err // a nil *Barrier is not a nil Backend
	}
	return b, nil
}

// StartCheckReport is what the start's bounded check of the embedded store read.
func StartCheckReport(s *Server) *bbolt.Report { return s.embedded.Verified() }
