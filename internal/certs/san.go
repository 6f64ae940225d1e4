package certs

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
)

var (
	oidSubjectAltName   = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}

	// oidUPN is Microsoft's user principal name otherName (szOID_NT_PRINCIPAL_NAME).
	oidUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
)

// otherName is RFC 5280's OtherName with a UTF8String value, as a UPN is written:
//
//	OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT ANY }
type otherName struct {
	TypeID asn1.ObjectIdentifier
	Value  string `asn1:"explicit,tag:0,utf8"`
}

// GeneralName tags (RFC 5280, section 4.2.1.6), context-specific and implicit.
const (
	tagOtherName = 0
	tagRFC822    = 1
	tagDNSName   = 2
)

// sanExtension builds the subjectAltName extension for names crypto/x509 cannot write alone:
// DNS names and email addresses as crypto/x509 writes them (IA5String with an implicit tag),
// then each UPN as an otherName. RFC 5280 makes the extension critical when the subject is
// empty. The values were checked by Normalize (DNS names and emails are ASCII).
func sanExtension(dnsNames, emails, upns []string, emptySubject bool) (pkix.Extension, error) {
	var names []asn1.RawValue
	for _, n := range dnsNames {
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagDNSName, Bytes: []byte(n)})
	}
	for _, e := range emails {
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagRFC822, Bytes: []byte(e)})
	}
	for _, u := range upns {
		// [0] IMPLICIT OtherName: the SEQUENCE's tag replaced by context-specific 0.
		b, err := asn1.MarshalWithParams(otherName{TypeID: oidUPN, Value: u}, "tag:0")
		if err != nil {
			return pkix.Extension{}, err
		}
		names = append(names, asn1.RawValue{FullBytes: b})
	}
	v, err := asn1.Marshal(names)
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidSubjectAltName, Critical: emptySubject, Value: v}, nil
}

// upnsOf returns the UPN otherNames of a certificate's subjectAltName extension, which
// crypto/x509 parses but does not expose. A malformed extension yields none (crypto/x509
// has already refused a certificate whose SAN it cannot parse).
func upnsOf(cert *x509.Certificate) []string {
	var upns []string
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var names []asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &names); err != nil || len(rest) != 0 {
			return nil
		}
		for _, n := range names {
			if n.Class != asn1.ClassContextSpecific || n.Tag != tagOtherName || !n.IsCompound {
				continue
			}
			var on otherName
			if rest, err := asn1.UnmarshalWithParams(n.FullBytes, &on, "tag:0"); err == nil && len(rest) == 0 && on.TypeID.Equal(oidUPN) {
				upns = append(upns, on.Value)
			}
		}
	}
	return upns
}
