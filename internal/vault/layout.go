package vault

import (
	"fmt"
	"strconv"
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
//	due/<unix seconds, 12 digits>/<action>/<vault>/<kind>/<name>   the scheduler's index, in time order
//	importing/<vault>                            an import staging under v/<vault>/ (import.go)
//	sys/backup-key                               the deployment's backup key
//	sys/webhooks/…, sys/outbox/…                 webhook subscriptions and outbox (package webhook)
const (
	vaultsPrefix = "vaults/"
	duePrefix    = "due/"
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

// Scheduled actions.
const (
	actionPurge      = "purge"       // a deleted object reaches its scheduledPurgeDate
	actionPurgeVault = "purge-vault" // a deleted vault reaches its scheduledPurgeDate
)

// dueKey is the scheduler's index entry for action on an object at time at.
func dueKey(at time.Time, action string, v string, k Kind, name string) string {
	t := at.Unix()
	if t < 0 || t > 999_999_999_999 {
		return fmt.Sprintf("%s%012d/%s/%s/%s/%s", duePrefix, t, action, lower(v), k, lower(name))
	}
	v, name = lower(v), lower(name)
	// As the Sprintf above, without its cost: the sweeper makes one per purge.
	b := make([]byte, 0, len(duePrefix)+12+len(action)+len(v)+len(k)+len(name)+5)
	b = append(b, duePrefix...)
	var digits [12]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + t%10)
		t /= 10
	}
	b = append(b, digits[:]...)
	for _, part := range []string{action, v, string(k), name} {
		b = append(b, '/')
		b = append(b, part...)
	}
	return string(b)
}

func purgeKey(at time.Time, v string, k Kind, name string) string {
	return dueKey(at, actionPurge, v, k, name)
}

// dueEntry is a parsed scheduler index key.
type dueEntry struct {
	key    string
	at     int64
	action string
	vault  string
	kind   Kind
	name   string
}

// parseDueKey splits a scheduler index key; ok is false for a malformed key.
func parseDueKey(key string) (e dueEntry, ok bool) {
	rest, found := strings.CutPrefix(key, duePrefix)
	if !found {
		return e, false
	}
	var parts [5]string
	for i := range 4 {
		if parts[i], rest, found = strings.Cut(rest, "/"); !found {
			return e, false
		}
	}
	if strings.Contains(rest, "/") {
		return e, false
	}
	parts[4] = rest
	at, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return e, false
	}
	return dueEntry{key: key, at: at, action: parts[1], vault: parts[2], kind: Kind(parts[3]), name: parts[4]}, true
}
