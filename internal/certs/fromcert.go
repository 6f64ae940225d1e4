package certs

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"slices"
	"time"
)

// PolicyFromCertificate returns the policy an imported certificate implies, as Key Vault
// derives it for an import that carries no policy: the subject as in the certificate, its
// DNS, email and UPN SANs, EKUs and key usage (empty, not nil, when the certificate has
// none, so that [Policy.Normalize] adds no defaults), validity
// months computed from its validity period, basic_constraints.ca, key props from its public
// key (RSA with its size; EC with its curve and the curve's size), issuer Unknown and one
// lifetime action, EmailContacts at 80 %. exportable and contentType are the import's.
// The result is normalized.
func PolicyFromCertificate(leaf *x509.Certificate, exportable bool, contentType string) Policy {
	p := Policy{
		Exportable:      ptr(exportable),
		ContentType:     contentType,
		Subject:         subjectOf(leaf),
		DNSNames:        slices.Clone(leaf.DNSNames),
		Emails:          slices.Clone(leaf.EmailAddresses),
		UPNs:            upnsOf(leaf),
		EKUs:            []string{},
		KeyUsage:        []string{},
		ValidityMonths:  validityMonths(leaf.NotBefore, leaf.NotAfter),
		CA:              leaf.BasicConstraintsValid && leaf.IsCA,
		LifetimeActions: []LifetimeAction{{LifetimePercentage: 80, Action: ActionEmailContacts}},
		IssuerName:      IssuerUnknown,
		Enabled:         ptr(true),
	}
	if ct, ok := canonicalContentType(contentType); ok {
		p.ContentType = ct
	}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		p.KeyType, p.KeySize = KtyRSA, k.N.BitLen()
	case *ecdsa.PublicKey:
		p.KeyType, p.Curve, p.KeySize = KtyEC, k.Curve.Params().Name, k.Curve.Params().BitSize
	}
	for _, eku := range leaf.ExtKeyUsage {
		for _, k := range extKeyUsages {
			if k.eku == eku {
				p.EKUs = append(p.EKUs, k.oid)
			}
		}
	}
	for _, oid := range leaf.UnknownExtKeyUsage {
		p.EKUs = append(p.EKUs, oid.String())
	}
	for _, ku := range keyUsages {
		if leaf.KeyUsage&ku.bit != 0 {
			p.KeyUsage = append(p.KeyUsage, ku.name)
		}
	}
	return p
}

// subjectOf formats the certificate's subject from its raw DER, which keeps the order and
// the grouping of multi-valued RDNs that pkix.Name loses.
func subjectOf(c *x509.Certificate) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(c.RawSubject, &rdns); err != nil || len(rest) != 0 {
		rdns = c.Subject.ToRDNSequence()
	}
	return formatSubject(rdns)
}

// validityMonths is the validity period in whole calendar months, rounded to the nearest
// (half a month is 15 days), between 1 and MaxValidityMonths: a certificate valid for 12
// months and 10 minutes is 12, one for 90 days is 3.
func validityMonths(notBefore, notAfter time.Time) int {
	m := 0
	for m < MaxValidityMonths && !notBefore.AddDate(0, m+1, 0).After(notAfter) {
		m++
	}
	if m < MaxValidityMonths && notAfter.Sub(notBefore.AddDate(0, m, 0)) >= 15*24*time.Hour {
		m++
	}
	return max(m, 1)
}
