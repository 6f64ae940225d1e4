package certs

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxSubjectLen bounds a subject string before any parsing.
const maxSubjectLen = 4096

// attrType is an X.500 attribute type a subject string may name.
type attrType struct {
	names []string // accepted names, matched without regard to case; the first is written
	oid   asn1.ObjectIdentifier
	// str is the ASN.1 string type the value is written as: 0 lets encoding/asn1 choose
	// (PrintableString when possible, else UTF8String), as crypto/x509 does.
	str int
}

// attrTypes are the names of Windows' X500DistinguishedName and RFC 4514.
var attrTypes = []attrType{
	{[]string{"CN"}, asn1.ObjectIdentifier{2, 5, 4, 3}, 0},
	{[]string{"SN", "SURNAME"}, asn1.ObjectIdentifier{2, 5, 4, 4}, 0},
	{[]string{"SERIALNUMBER"}, asn1.ObjectIdentifier{2, 5, 4, 5}, asn1.TagPrintableString},
	{[]string{"C"}, asn1.ObjectIdentifier{2, 5, 4, 6}, asn1.TagPrintableString},
	{[]string{"L"}, asn1.ObjectIdentifier{2, 5, 4, 7}, 0},
	{[]string{"S", "ST"}, asn1.ObjectIdentifier{2, 5, 4, 8}, 0},
	{[]string{"STREET"}, asn1.ObjectIdentifier{2, 5, 4, 9}, 0},
	{[]string{"O"}, asn1.ObjectIdentifier{2, 5, 4, 10}, 0},
	{[]string{"OU"}, asn1.ObjectIdentifier{2, 5, 4, 11}, 0},
	{[]string{"T", "TITLE"}, asn1.ObjectIdentifier{2, 5, 4, 12}, 0},
	{[]string{"POSTALCODE"}, asn1.ObjectIdentifier{2, 5, 4, 17}, 0},
	{[]string{"G", "GN", "GIVENNAME"}, asn1.ObjectIdentifier{2, 5, 4, 42}, 0},
	{[]string{"I", "INITIALS"}, asn1.ObjectIdentifier{2, 5, 4, 43}, 0},
	{[]string{"DC"}, asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, asn1.TagIA5String},
	{[]string{"UID"}, asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, 0},
	{[]string{"E", "EMAIL", "EMAILADDRESS"}, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, asn1.TagIA5String},
}

func attrNames() string {
	var names []string
	for _, a := range attrTypes {
		names = append(names, a.names...)
	}
	return strings.Join(names, ", ")
}

// lookupAttr resolves an attribute name: a known name, "OID.1.2.3" or "1.2.3".
func lookupAttr(name string) (attrType, error) {
	for _, a := range attrTypes {
		for _, n := range a.names {
			if strings.EqualFold(name, n) {
				return a, nil
			}
		}
	}
	dotted := name
	if len(name) > 4 && strings.EqualFold(name[:4], "OID.") {
		dotted = name[4:]
	}
	if oid, ok := parseOID(dotted); ok {
		for _, a := range attrTypes {
			if a.oid.Equal(oid) {
				return a, nil
			}
		}
		return attrType{oid: oid}, nil
	}
	if name == "" {
		return attrType{}, fmt.Errorf("a component has no attribute name before '='")
	}
	return attrType{}, fmt.Errorf("attribute %s is not known; use %s, or an OID such as OID.2.5.4.3", quote(name), attrNames())
}

// parseSubject parses a subject in the string form Key Vault takes, the form of Windows'
// X500DistinguishedName and RFC 4514: components "NAME=value" separated by ',' or ';', the
// values of a multi-valued RDN joined by '+'. A value may be quoted ("O=\"Contoso, Ltd\"", a
// quote inside doubled or written \") or use RFC 4514 escapes (\, \+ \\ \4C). The first
// component is the most specific, so the RDN sequence is the reverse of the string's order.
// The empty string is the empty name.
func parseSubject(s string) (pkix.RDNSequence, error) {
	if strings.TrimSpace(s) == "" {
		return pkix.RDNSequence{}, nil
	}
	if len(s) > maxSubjectLen {
		return nil, invalid("x509_props.subject is longer than %d characters", maxSubjectLen)
	}
	if !utf8.ValidString(s) {
		return nil, invalid("x509_props.subject is not valid UTF-8")
	}
	var rdns pkix.RDNSequence
	var rdn pkix.RelativeDistinguishedNameSET
	fail := func(format string, args ...any) (pkix.RDNSequence, error) {
		return nil, invalid("x509_props.subject %s is not a valid X.500 name: %s (write it as \"CN=example.com, O=Contoso, C=US\")",
			quote(s), fmt.Sprintf(format, args...))
	}
	i := 0
	for {
		j := i
		for j < len(s) && s[j] != '=' && !isSubjectSep(s[j]) {
			j++
		}
		if j == len(s) || s[j] != '=' {
			return fail("component %s has no '='", quote(strings.TrimSpace(s[i:j])))
		}
		name := strings.TrimSpace(s[i:j])
		at, err := lookupAttr(name)
		if err != nil {
			return fail("%v", err)
		}
		i = j + 1
		for i < len(s) && s[i] == ' ' {
			i++
		}
		var val []byte
		if i < len(s) && s[i] == '"' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				switch {
				case c == '"' && i+1 < len(s) && s[i+1] == '"':
					val = append(val, '"')
					i += 2
				case c == '"':
					i++
					closed = true
				case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
					val = append(val, s[i+1])
					i += 2
				default:
					val = append(val, c)
					i++
				}
				if closed {
					break
				}
			}
			if !closed {
				return fail("the value of %s has no closing quote", name)
			}
			for i < len(s) && s[i] == ' ' {
				i++
			}
			if i < len(s) && !isSubjectSep(s[i]) {
				return fail("text follows the quoted value of %s; separate components with ','", name)
			}
		} else {
			kept := 0 // length of val without trailing unescaped spaces
			for i < len(s) && !isSubjectSep(s[i]) {
				c := s[i]
				if c == '\\' {
					if i+1 >= len(s) {
						return fail("the value of %s ends with a lone backslash", name)
					}
					if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
						val = append(val, unhex(s[i+1])<<4|unhex(s[i+2]))
						i += 3
					} else {
						val = append(val, s[i+1])
						i += 2
					}
					kept = len(val)
					continue
				}
				val = append(val, c)
				i++
				if c != ' ' {
					kept = len(val)
				}
			}
			val = val[:kept]
		}
		if len(val) == 0 {
			return fail("%s has an empty value", name)
		}
		if !utf8.Valid(val) {
			return fail("the value of %s is not valid UTF-8", name)
		}
		atv, err := attrValue(at, name, string(val))
		if err != nil {
			return fail("%v", err)
		}
		rdn = append(rdn, atv)
		if i == len(s) {
			rdns = append(rdns, rdn)
			break
		}
		sep := s[i]
		i++
		if sep != '+' {
			rdns = append(rdns, rdn)
			rdn = nil
		}
		if strings.TrimSpace(s[i:]) == "" {
			return fail("it ends with %q; remove the trailing separator", string(sep))
		}
	}
	slices.Reverse(rdns)
	return rdns, nil
}

func isSubjectSep(c byte) bool { return c == ',' || c == ';' || c == '+' }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// attrValue types a value: C is a two-letter PrintableString, SERIALNUMBER a PrintableString,
// E and DC an IA5String (ASCII), others what encoding/asn1 chooses for a Go string.
func attrValue(at attrType, name, v string) (pkix.AttributeTypeAndValue, error) {
	atv := pkix.AttributeTypeAndValue{Type: at.oid, Value: v}
	switch at.str {
	case asn1.TagPrintableString:
		for i := 0; i < len(v); i++ {
			if !isPrintable(v[i]) {
				return atv, fmt.Errorf("the value of %s may hold only letters, digits, spaces and '()+,-./:=?", name)
			}
		}
		if at.oid.Equal(asn1.ObjectIdentifier{2, 5, 4, 6}) && (len(v) != 2 || !isLetter(v[0]) || !isLetter(v[1])) {
			return atv, fmt.Errorf("C must be a two-letter country code such as US, not %s", quote(v))
		}
		atv.Value = asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(v)}
	case asn1.TagIA5String:
		for i := 0; i < len(v); i++ {
			if v[i] >= utf8.RuneSelf {
				return atv, fmt.Errorf("the value of %s may hold only ASCII characters", name)
			}
		}
		atv.Value = asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(v)}
	}
	return atv, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isPrintable reports whether c is in the PrintableString alphabet (X.680).
func isPrintable(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || strings.IndexByte(" '()+,-./:=?", c) >= 0
}

// formatSubject writes an RDN sequence in the form parseSubject reads, most specific first,
// with Windows' short names ("CN=web, O=Contoso, S=WA, C=US"); unknown attribute types are
// written as OID.1.2.3. parseSubject(formatSubject(n)) gives n back for string values.
func formatSubject(rdns pkix.RDNSequence) string {
	parts := make([]string, 0, len(rdns))
	for i := len(rdns) - 1; i >= 0; i-- {
		atvs := make([]string, 0, len(rdns[i]))
		for _, atv := range rdns[i] {
			atvs = append(atvs, attrName(atv.Type)+"="+formatValue(atv.Value))
		}
		parts = append(parts, strings.Join(atvs, " + "))
	}
	return strings.Join(parts, ", ")
}

func attrName(oid asn1.ObjectIdentifier) string {
	for _, a := range attrTypes {
		if a.oid.Equal(oid) {
			return a.names[0]
		}
	}
	return "OID." + oid.String()
}

// formatValue quotes a value when it holds a character the parser treats specially or has
// spaces at either end; inside quotes a backslash is written \\ and a quote is doubled.
func formatValue(v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case asn1.RawValue: // as parseSubject types IA5String and PrintableString values
		s = string(v.Bytes)
	default:
		s = fmt.Sprint(v)
	}
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || strings.ContainsAny(s, ",;+\"\\=#<>\n\r") {
		return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `""`) + `"`
	}
	return s
}
