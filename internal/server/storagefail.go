package server

import (
	"log/slog"

	"github.com/coffer/coffer/internal/storage/bbolt"
)

// embeddedOptions are the options the embedded store of data dir dir is opened with: the
// committer logs to log (a full disk, and its end).
func embeddedOptions(dir string, log *slog.Logger) bbolt.Options {
	return bbolt.Options{Log: log}
}
