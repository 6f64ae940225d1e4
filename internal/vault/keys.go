package vault

import (
	"fmt"
	"strings"
	"time"
)

// Storage layout. Names and vaults are lower-cased in keys (Key Vault names are
// case-insensitive); records keep the case they were created with.
//
//	vaults/<vault>                               Vault
//	v/<vault>/<kind>/live/<name>                 Object, active
//	v/<vault>/<kind>/deleted/<name>              Object, soft-deleted
//	v/<vault>/<kind>/ver/<name>/<version>        version record (kind-specific)
//	purgeq/<unix seconds, 12 digits>/<vault>/<kind>/<name>   sweeper index, ordered by purge date
//	sys/backup-key                               the deployment's backup key
const (
	vaultsPrefix = "vaults/"
	purgePrefix  = "purgeq/"
	backupKeyKey = "sys/backup-key"
)

func vaultKey(v string) string { return vaultsPrefix + lower(v) }

func livePrefix(v string, k Kind) string { return "v/" + lower(v) + "/" + string(k) + "/live/" }

func deletedPrefix(v string, k Kind) string {
	return "v/" + lower(v) + "/" + string(k) + "/deleted/"
}

func liveKey(v string, k Kind, name string) string    { return livePrefix(v, k) + lower(name) }
func deletedKey(v string, k Kind, name string) string { return deletedPrefix(v, k) + lower(name) }

func versionPrefix(v string, k Kind, name string) string {
	return "v/" + lower(v) + "/" + string(k) + "/ver/" + lower(name) + "/"
}

func versionKey(v string, k Kind, name, version string) string {
	return versionPrefix(v, k, name) + lower(version)
}

func purgeKey(at time.Time, v string, k Kind, name string) string {
	return fmt.Sprintf("%s%012d/%s/%s/%s", purgePrefix, at.Unix(), lower(v), k, lower(name))
}

// parsePurgeKey splits a sweeper index key; ok is false for a malformed key.
func parsePurgeKey(key string) (at int64, v string, k Kind, name string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(key, purgePrefix), "/")
	if len(parts) != 4 {
		return 0, "", "", "", false
	}
	if _, err := fmt.Sscanf(parts[0], "%d", &at); err != nil {
		return 0, "", "", "", false
	}
	return at, parts[1], Kind(parts[2]), parts[3], true
}
