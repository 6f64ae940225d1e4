package vault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// The counts of deleted objects awaiting purge, by vault and kind, that the metrics show.
// They are kept, not counted: every transition adds or takes one in its own transaction
// (change.count, called by change.after), so a scrape reads a few records whatever the
// number of deleted objects, and the counts are right after a restart, on several servers
// sharing one database, and whatever the sweeper is doing.
//
//	stats/deleted/<vault>/<kind>/<shard>   decimal count, may be negative (kind: secret, key, certificate, vault)
//	stats/ready                            present once the counts are kept (see backfillStats)
//
// A count is split over statsShards records, each change adding to or taking from one
// chosen at random, so that concurrent transitions in one vault on PostgreSQL rarely
// write the same record (a change locks the record it adds to until its commit; with 16
// records chosen by the object's name, 64 clients deleting spent most of their time
// waiting for those locks). A record may therefore go below zero — an object deleted
// counted on one, recovered on another — and only the sum of a vault's and kind's
// records is its count; a scrape adds them up. A record that reaches zero is removed.
// The key and secret behind a certificate are not counted (the certificate is). A vault's
// purge removes every count under it.
const (
	statsPrefix = "stats/deleted/"
	statsReady  = "stats/ready"
	statsShards = 128
)

func statsVaultPrefix(v string) string { return statsPrefix + lower(v) + "/" }

// statsKey is one of the count records of kind in vault v, at random. (Storage may run
// a transaction's function again: another record then, which is as good.)
func statsKey(v string, k Kind) string {
	return fmt.Sprintf("%s%s/%03d", statsVaultPrefix(v), k, rand.IntN(statsShards))
}

// count updates the deleted counts for the change: +1 for a delete, -1 for a recover or
// a purge; a vault's purge removes the vault's counts (itself and everything inside).
func (c change) count(tx storage.Tx) error {
	if c.backing {
		return nil
	}
	if c.kind == kindVault && (c.action == ledger.ActionPurge || c.action == ledger.ActionAutoPurge) {
		es, err := tx.Scan(statsVaultPrefix(c.vault.Name), "", 0)
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := tx.Delete(e.Key); err != nil {
				return err
			}
		}
		return nil
	}
	delta := int64(-1)
	if c.action == ledger.ActionDelete {
		delta = 1
	}
	if c.batch != nil {
		c.batch.addCount(c.vault.Name, c.kind, delta)
		return nil
	}
	return addCount(tx, statsKey(c.vault.Name, c.kind), delta)
}

func addCount(tx storage.Tx, key string, delta int64) error {
	n, err := readCount(tx, key)
	if err != nil {
		return err
	}
	if n += delta; n == 0 {
		return tx.Delete(key) // zero is no record
	}
	return tx.Put(key, []byte(strconv.FormatInt(n, 10)))
}

func readCount(tx storage.Tx, key string) (int64, error) {
	b, err := tx.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("vault: count %s: %w", key, err)
	}
	return n, nil
}

// backfillStats makes the counts of a store written before they were kept, once: it counts
// the deleted vaults and objects there are, in the transaction that marks the counts kept
// (so a transition on another server is either counted by it or comes after it). A store
// that has the mark costs one read.
func (s *Service) backfillStats(ctx context.Context) error {
	var counted int64
	var ran bool
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		counted, ran = 0, false
		if _, err := tx.Get(statsReady); err == nil {
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		ran = true
		old, err := tx.Scan(statsPrefix, "", 0)
		if err != nil {
			return err
		}
		for _, e := range old {
			if err := tx.Delete(e.Key); err != nil {
				return err
			}
		}
		vs, err := tx.Scan(vaultsPrefix, "", 0)
		if err != nil {
			return err
		}
		for _, e := range vs {
			var v Vault
			if err := kvjson.Decode(e, &v); err != nil {
				return err
			}
			if !v.DeletedDate.IsZero() {
				counted++
				if err := addCount(tx, statsKey(v.Name, kindVault), 1); err != nil {
					return err
				}
			}
			for _, kind := range objectKinds {
				after := ""
				for {
					es, err := tx.Scan(deletedPrefix(v.Name, kind), after, 1000)
					if err != nil {
						return err
					}
					for _, e := range es {
						var o Object
						if err := kvjson.Decode(e, &o); err != nil {
							return err
						}
						if o.backsCertificate() {
							continue
						}
						counted++
						if err := addCount(tx, statsKey(v.Name, kind), 1); err != nil {
							return err
						}
					}
					if len(es) < 1000 {
						break
					}
					after = es[len(es)-1].Key
				}
			}
		}
		return tx.Put(statsReady, []byte("1"))
	})
	if err != nil {
		return fmt.Errorf("vault: count the deleted objects: %w", err)
	}
	if ran && counted > 0 {
		s.log.Info("counted the deleted objects awaiting purge, once: from now on every change keeps the counts", "count", counted)
	}
	return nil
}

// PendingPurge counts the deleted objects (or vaults) of one kind in one vault that
// await their purge.
type PendingPurge struct {
	Vault string
	Kind  string // vault, secret, key or certificate
	Count int
}

// lagScan bounds the scheduler entries PendingPurges reads to find the most overdue purge.
const lagScan = 256

// PendingPurges returns, for every stored vault and each kind (vault, secret, key,
// certificate), the deleted objects awaiting purge — zero included, so no series comes
// and goes — and how far past its scheduledPurgeDate the most overdue one is (0 when
// none is): the sweeper's lag. It reads the kept counts and the first entries of the
// scheduler's index, a cost that does not grow with the number of deleted objects.
func (s *Service) PendingPurges(ctx context.Context) (out []PendingPurge, lag time.Duration, err error) {
	err = s.st.View(ctx, func(tx storage.Tx) error {
		now := s.Now()
		out, lag = out[:0], 0
		vs, err := tx.Scan(vaultsPrefix, "", 0)
		if err != nil {
			return err
		}
		idx := map[[2]string]int{}
		for _, e := range vs {
			var v Vault
			if err := kvjson.Decode(e, &v); err != nil {
				return err
			}
			for _, kind := range []Kind{kindVault, KindSecret, KindKey, KindCertificate} {
				idx[[2]string{lower(v.Name), string(kind)}] = len(out)
				out = append(out, PendingPurge{Vault: v.Name, Kind: string(kind)})
			}
		}
		cs, err := tx.Scan(statsPrefix, "", 0)
		if err != nil {
			return err
		}
		for _, e := range cs {
			p := strings.Split(strings.TrimPrefix(e.Key, statsPrefix), "/")
			n, err := strconv.Atoi(string(e.Value))
			if len(p) != 3 || err != nil {
				continue // CheckStore reports it
			}
			if i, ok := idx[[2]string{p[0], p[1]}]; ok {
				out[i].Count += n
			}
		}
		lag, err = overdue(tx, now)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("pending purges: %w", err)
	}
	return out, lag, nil
}

// overdue is how far past its purge date the first purge in the scheduler's index is
// (entries are in time order), skipping stale entries; it reads at most lagScan entries.
func overdue(tx storage.Tx, now time.Time) (time.Duration, error) {
	es, err := tx.Scan(duePrefix, "", lagScan)
	if err != nil {
		return 0, err
	}
	for _, kv := range es {
		e, ok := parseDueKey(kv.Key)
		if !ok || e.action != actionPurge && e.action != actionPurgeVault {
			continue
		}
		if e.at >= now.Unix() {
			return 0, nil
		}
		if e.action == actionPurgeVault {
			v, err := getVaultRecord(tx, e.vault)
			if err != nil || v.ScheduledPurgeDate.Unix() != e.at {
				continue // stale: recovered or purged meanwhile
			}
		} else {
			var o Object
			if err := kvjson.Get(tx, deletedKey(e.vault, e.kind, e.name), &o); err != nil || o.ScheduledPurgeDate.Unix() != e.at {
				continue
			}
		}
		return now.Sub(time.Unix(e.at, 0)), nil
	}
	return 0, nil
}
