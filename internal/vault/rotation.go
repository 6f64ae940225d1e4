package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sosodev/duration"

	"github.com/coffer/coffer/internal/storage"
)

// Lifetime action types of a key rotation policy.
const (
	ActionRotate = "Rotate"
	ActionNotify = "Notify"
)

// RotationPolicy is a key's rotation policy, as Azure Key Vault defines it. Durations are
// ISO 8601 (P90D, P1Y, P18M, PT12H) and are applied on the vault clock.
type RotationPolicy struct {
	LifetimeActions []LifetimeAction `json:"lifetimeActions"`
	ExpiryTime      string           `json:"expiryTime,omitempty"`
	Created         time.Time        `json:"created,omitzero"`
	Updated         time.Time        `json:"updated,omitzero"`
}

// LifetimeAction is one trigger → action pair; exactly one trigger is set.
type LifetimeAction struct {
	Type             string `json:"type"`
	TimeAfterCreate  string `json:"timeAfterCreate,omitempty"`
	TimeBeforeExpiry string `json:"timeBeforeExpiry,omitempty"`
}

// defaultNotify is what Azure adds to a policy without a Notify action.
var defaultNotify = LifetimeAction{Type: ActionNotify, TimeBeforeExpiry: "P30D"}

func rotationPolicy(o *Object) (RotationPolicy, error) {
	var p RotationPolicy
	if len(o.Policy) == 0 {
		return RotationPolicy{LifetimeActions: []LifetimeAction{defaultNotify}}, nil
	}
	err := json.Unmarshal(o.Policy, &p)
	return p, err
}

// addISODuration returns t + d for an ISO 8601 duration of whole units.
func addISODuration(t time.Time, d string) (time.Time, error) {
	p, err := duration.Parse(d)
	if err != nil || p.Negative {
		return t, fmt.Errorf("%q is not an ISO 8601 duration such as P90D, P1Y or PT12H", d)
	}
	whole := func(f float64) (int, bool) { return int(f), f == math.Trunc(f) && f >= 0 && f < 1e6 }
	y, ok1 := whole(p.Years)
	m, ok2 := whole(p.Months)
	w, ok3 := whole(p.Weeks)
	dd, ok4 := whole(p.Days)
	if !(ok1 && ok2 && ok3 && ok4) {
		return t, fmt.Errorf("%q: years, months, weeks and days must be whole numbers", d)
	}
	rest := time.Duration(p.Hours*float64(time.Hour) + p.Minutes*float64(time.Minute) + p.Seconds*float64(time.Second))
	return t.AddDate(y, m, 7*w+dd).Add(rest), nil
}

// validate applies Azure's rules and fills in what Azure fills in (a default Notify).
func (p *RotationPolicy) validate(name string) error {
	bad := func(format string, args ...any) error {
		return badParam(KindKey, name, "Invalid rotation policy: "+fmt.Sprintf(format, args...))
	}
	ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if p.ExpiryTime != "" {
		at, err := addISODuration(ref, p.ExpiryTime)
		if err != nil {
			return bad("expiryTime %v", err)
		}
		if at.Before(ref.AddDate(0, 0, 28)) {
			return bad("expiryTime must be at least 28 days (P28D), not %s.", p.ExpiryTime)
		}
	}
	seen := map[string]bool{}
	for i, a := range p.LifetimeActions {
		switch strings.ToLower(a.Type) {
		case "rotate":
			p.LifetimeActions[i].Type = ActionRotate
		case "notify":
			p.LifetimeActions[i].Type = ActionNotify
		default:
			return bad("action type %q is not Rotate or Notify.", a.Type)
		}
		a = p.LifetimeActions[i]
		if seen[a.Type] {
			return bad("at most one %s action is allowed.", a.Type)
		}
		seen[a.Type] = true
		if (a.TimeAfterCreate == "") == (a.TimeBeforeExpiry == "") {
			return bad("each lifetime action needs exactly one trigger: timeAfterCreate or timeBeforeExpiry.")
		}
		if a.Type == ActionNotify && a.TimeAfterCreate != "" {
			return bad("a Notify action takes timeBeforeExpiry only.")
		}
		for _, d := range []string{a.TimeAfterCreate, a.TimeBeforeExpiry} {
			if d == "" {
				continue
			}
			if _, err := addISODuration(ref, d); err != nil {
				return bad("trigger %v", err)
			}
		}
		if a.TimeBeforeExpiry != "" && p.ExpiryTime == "" && a.Type == ActionRotate {
			return bad("a Rotate action before expiry needs the policy's expiryTime.")
		}
	}
	if !seen[ActionNotify] {
		p.LifetimeActions = append(p.LifetimeActions, defaultNotify)
	}
	return nil
}

// GetRotationPolicy returns a live key's rotation policy; a key that never had one has
// the default (notify 30 days before expiry).
func (s Request) GetRotationPolicy(ctx context.Context, vaultName, name string) (RotationPolicy, error) {
	return onPolicy(s, ctx, vaultName, KindKey, name, "", rotationPolicy, nil)
}

// SetRotationPolicy replaces a live key's rotation policy and schedules what it asks for.
func (s Request) SetRotationPolicy(ctx context.Context, vaultName, name string, p RotationPolicy) (RotationPolicy, error) {
	if err := checkName(KindKey, name); err != nil {
		return RotationPolicy{}, err
	}
	if err := p.validate(name); err != nil {
		return RotationPolicy{}, err
	}
	return onPolicy(s, ctx, vaultName, KindKey, name, "setrotationpolicy", rotationPolicy,
		func(tx storage.Tx, vlt Vault, o *Object, old RotationPolicy, now time.Time) (RotationPolicy, error) {
			out := p
			out.Created, out.Updated = policyDates(old.Created, now)
			o.Policy = mustJSON(out)
			if err := tx.Put(liveKey(vlt.Name, KindKey, o.Name), mustJSON(o)); err != nil {
				return out, err
			}
			return out, rescheduleKey(tx, vlt, o, now)
		})
}

// actionTimes computes when the policy's actions fall due for the latest version.
func actionTimes(p RotationPolicy, latest KeyVersion) map[string]time.Time {
	out := map[string]time.Time{}
	for _, a := range p.LifetimeActions {
		var at time.Time
		var err error
		switch {
		case a.TimeAfterCreate != "":
			at, err = addISODuration(latest.Created, a.TimeAfterCreate)
		case a.TimeBeforeExpiry != "" && !latest.Expires.IsZero():
			// Expires minus the duration: add it, then mirror the offset.
			var later time.Time
			later, err = addISODuration(latest.Expires, a.TimeBeforeExpiry)
			at = latest.Expires.Add(-later.Sub(latest.Expires))
		default:
			continue
		}
		if err == nil {
			out[a.Type] = at
		}
	}
	return out
}

// Scheduled key actions.
const (
	actionRotateKey = "rotate"
	actionNotifyKey = "notify"
)

// scheduleRotation puts the policy's next actions for the latest version in the
// scheduler's index. Entries made for an older state become stale and are dropped when
// they come due (the handler recomputes the time and compares).
func scheduleRotation(tx storage.Tx, v string, o *Object, latest KeyVersion, now time.Time) error {
	if len(o.Policy) == 0 {
		return nil
	}
	p, err := rotationPolicy(o)
	if err != nil {
		return err
	}
	due := map[string]time.Time{}
	for typ, at := range actionTimes(p, latest) {
		switch {
		case typ == ActionRotate:
			due[actionRotateKey] = at
		case !at.Before(now): // a notice already past warns of nothing
			due[actionNotifyKey] = at
		}
	}
	return schedule(tx, v, KindKey, o.Name, due)
}

// dueKeyAction rotates or notifies for a live key whose policy time has come.
func (s *Service) dueKeyAction(tx storage.Tx, e dueEntry, now time.Time) (bool, error) {
	d, ok, err := dueLatest[KeyVersion](s, tx, e, rotationPolicy)
	if err != nil || !ok {
		return false, err
	}
	vlt, o, latest, p := d.vlt, d.o, d.latest, d.policy
	typ := ActionRotate
	if e.action == actionNotifyKey {
		typ = ActionNotify
	}
	if at, ok := actionTimes(p, latest)[typ]; !ok || at.Unix() != e.at {
		return false, nil // stale: the policy or the key moved on
	}
	if typ == ActionNotify {
		s.log.Info("key near expiry (rotation policy Notify)", "vault", vlt.Name, "key", o.Name, "version", latest.ID, "expires", latest.Expires)
		return true, nil
	}
	ver, err := s.rotateTx(tx, vlt, o, now)
	if err == nil {
		s.log.Info("key rotated by its rotation policy", "vault", vlt.Name, "key", o.Name, "version", ver.ID)
	}
	return err == nil, err
}
