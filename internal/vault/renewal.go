package vault

import (
	"crypto/x509"
	"time"

	"github.com/coffer/coffer/internal/certs"
	"github.com/coffer/coffer/internal/storage"
)

// Certificate lifetime actions run on the scheduler: AutoRenew issues a new version of a
// self-issued certificate; EmailContacts is recorded as an event (Coffer sends no mail).
const (
	actionRenewCert  = "renew"
	actionNotifyCert = "cert-notify"
)

// renewalTimes computes when the policy's lifetime actions fall due for version ver.
func renewalTimes(p certs.Policy, ver CertificateVersion) map[string]time.Time {
	out := map[string]time.Time{}
	life := ver.Expires.Sub(ver.NotBefore)
	for _, a := range p.LifetimeActions {
		var at time.Time
		switch {
		case a.LifetimePercentage > 0:
			at = wireTime(ver.NotBefore.Add(life * time.Duration(a.LifetimePercentage) / 100))
		case a.DaysBeforeExpiry > 0:
			at = ver.Expires.AddDate(0, 0, -a.DaysBeforeExpiry)
		default:
			continue
		}
		action := actionNotifyCert
		if a.Action == "AutoRenew" {
			action = actionRenewCert
		}
		out[action] = at
	}
	return out
}

func scheduleRenewal(tx storage.Tx, v, name string, p certs.Policy, ver CertificateVersion) error {
	return schedule(tx, v, KindCertificate, name, renewalTimes(p, ver))
}

// dueCertAction renews or notifies for a live certificate whose time has come.
func (s *Service) dueCertAction(tx storage.Tx, e dueEntry, now time.Time) (bool, error) {
	d, ok, err := dueLatest[CertificateVersion](s, tx, e, certPolicy)
	if err != nil || !ok {
		return false, err
	}
	vlt, o, ver, pol := d.vlt, d.o, d.latest, d.policy
	if at, ok := renewalTimes(pol.Policy, ver)[e.action]; !ok || at.Unix() != e.at {
		return false, nil // stale: the policy or the certificate moved on
	}
	if e.action == actionNotifyCert || !equalFold(pol.IssuerName, "Self") {
		s.log.Info("certificate lifetime action: contacts to be told it nears expiry", "vault", vlt.Name, "certificate", o.Name,
			"version", ver.ID, "expires", ver.Expires, "action", e.action)
		return true, nil
	}
	key, err := s.certKey(tx, vlt, o.Name, pol.Policy)
	if err != nil {
		return false, err
	}
	der, err := certs.SelfSigned(pol.Policy, key.Signer(), now)
	if err != nil {
		return false, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return false, err
	}
	nv, err := s.putCertVersionTx(tx, vlt, o.Name, pol.Policy, key, []*x509.Certificate{leaf}, CertParams{Tags: ver.Tags}, now)
	if err == nil {
		s.log.Info("certificate renewed by its lifetime action", "vault", vlt.Name, "certificate", o.Name, "version", nv.ID)
	}
	return err == nil, err
}
