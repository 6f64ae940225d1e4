package postgres

import "context"

// LatestVersion is the schema version Open migrates to.
var LatestVersion = latestVersion

// Prepares reports whether db's reads without a snapshot prepare their statement.
func Prepares(db *DB) bool { return db.prepares }

// Retries returns how many Update attempts db has retried.
func Retries(db *DB) int64 { return db.retries.Load() }

// SyncCommit returns synchronous_commit as a connection of db's pool sees it.
func SyncCommit(ctx context.Context, db *DB) (string, error) {
	var mode string
	err := db.pool.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&mode)
	return mode, err
}
