package keyops

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// ErrInvalid is wrapped by every error the request caused. The error's own text (not this
// sentinel's) is the message for the client.
var ErrInvalid = errors.New("keyops: invalid request")

// clientError is a client-caused error: its text is meant for the client, and errors.Is
// matches its kind (a package's ErrInvalid).
type clientError struct {
	msg  string
	kind error
}

func (e *clientError) Error() string        { return e.msg }
func (e *clientError) Is(target error) bool { return target == e.kind }

// Invalid returns a client-caused error of kind (this package's [ErrInvalid], or another
// domain's, as the certificates' errors are): its text, formatted as by fmt.Sprintf, is the
// message for the client, and errors.Is matches kind.
func Invalid(kind error, format string, args ...any) error {
	return &clientError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// Quote shows a caller-supplied value in a message, cut to max bytes so a message stays
// readable.
func Quote(s string, max int) string {
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}

func invalid(format string, args ...any) error { return Invalid(ErrInvalid, format, args...) }

// quote shows a caller-supplied name in a message.
func quote(s string) string { return Quote(s, 40) }

// Key types, as Key Vault names them.
const (
	KtyRSA    = "RSA"
	KtyRSAHSM = "RSA-HSM"
	KtyEC     = "EC"
	KtyECHSM  = "EC-HSM"
	KtyOct    = "oct"
	KtyOctHSM = "oct-HSM"
)

// Curve names.
const (
	CurveP256  = "P-256"
	CurveP384  = "P-384"
	CurveP521  = "P-521"
	CurveP256K = "P-256K"
)

const allKtys = "RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM"

// family is the kind of key behind a kty, HSM or not.
type family int

const (
	famRSA family = iota + 1
	famEC
	famOct
)

func familyOf(kty string) family {
	switch kty {
	case KtyRSA, KtyRSAHSM:
		return famRSA
	case KtyEC, KtyECHSM:
		return famEC
	case KtyOct, KtyOctHSM:
		return famOct
	}
	return 0
}

func (f family) String() string {
	switch f {
	case famRSA:
		return "an RSA"
	case famEC:
		return "an EC"
	default:
		return "an oct (AES)"
	}
}

// curveInfo describes a supported NIST curve.
type curveInfo struct {
	name  string
	curve elliptic.Curve
	bits  int // curve size in bits: 256, 384, 521
	size  int // coordinate and scalar size in bytes: 32, 48, 66
}

var curves = []curveInfo{
	{CurveP256, elliptic.P256(), 256, 32},
	{CurveP384, elliptic.P384(), 384, 48},
	{CurveP521, elliptic.P521(), 521, 66},
}

const allCurves = "P-256, P-384, P-521"

func curveByName(crv string) (curveInfo, error) {
	for _, c := range curves {
		if c.name == crv {
			return c, nil
		}
	}
	if crv == CurveP256K {
		return curveInfo{}, invalid("P-256K is not supported by this server; use %s", allCurves)
	}
	return curveInfo{}, invalid("curve %s is not valid; use %s", quote(crv), allCurves)
}

func curveOf(c elliptic.Curve) curveInfo {
	for _, ci := range curves {
		if ci.curve == c {
			return ci
		}
	}
	panic("keyops: key on an unsupported curve")
}

// JWK is a JSON Web Key (RFC 7517/7518) as Key Vault uses it, with raw bytes: the HTTP layer
// does base64url. Integers are unsigned big-endian; EC coordinates and d are fixed-length.
// key_ops and kid are not here: they belong to the stored key version, not to the material.
type JWK struct {
	Kty string
	Crv string
	// RSA members.
	N, E, D, P, Q, DP, DQ, QI []byte
	// EC members (D above is the EC private scalar too).
	X, Y []byte
	// oct member.
	K []byte
}

// Key is a private key of one of the Key Vault key types. It is immutable and safe for
// concurrent use.
type Key struct {
	kty string // as requested: RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	oct []byte
}

// Generate creates a new key. size is the RSA modulus size (2048 when 0, 3072, 4096) or the AES
// key size for oct (256 when 0, 128, 192); publicExponent is 0 or 65537 (the only exponent
// the standard library generates); crv is for EC only (P-256 when "", P-384, P-521).
// A parameter that does not apply to kty must be zero, except an EC size that matches the curve.
func Generate(kty string, size int, publicExponent int, crv string) (*Key, error) {
	fam := familyOf(kty)
	if fam == 0 {
		return nil, invalid("key type %s is not valid; use one of %s", quote(kty), allKtys)
	}
	if fam != famRSA && publicExponent != 0 {
		return nil, invalid("public_exponent applies to RSA keys only, not to %s key", fam)
	}
	if fam != famEC && crv != "" {
		return nil, invalid("crv applies to EC keys only, not to %s key", fam)
	}
	switch fam {
	case famRSA:
		if size == 0 {
			size = 2048
		}
		if size != 2048 && size != 3072 && size != 4096 {
			return nil, invalid("RSA key size %d is not valid; use 2048, 3072 or 4096", size)
		}
		if publicExponent != 0 && publicExponent != 65537 {
			return nil, invalid("public exponent %d is not supported; use 65537", publicExponent)
		}
		priv, err := rsa.GenerateKey(rand.Reader, size)
		if err != nil {
			return nil, fmt.Errorf("generate RSA key: %w", err)
		}
		return &Key{kty: kty, rsa: priv}, nil
	case famEC:
		if crv == "" {
			crv = CurveP256
		}
		c, err := curveByName(crv)
		if err != nil {
			return nil, err
		}
		if size != 0 && size != c.bits {
			return nil, invalid("key size %d does not match curve %s (%d bits); omit key_size for EC keys", size, c.name, c.bits)
		}
		priv, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate EC key: %w", err)
		}
		return &Key{kty: kty, ec: priv}, nil
	default:
		if size == 0 {
			size = 256
		}
		if size != 128 && size != 192 && size != 256 {
			return nil, invalid("oct key size %d is not valid; use 128, 192 or 256", size)
		}
		k := make([]byte, size/8)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("generate oct key: %w", err)
		}
		return &Key{kty: kty, oct: k}, nil
	}
}

// Limits on imported members, so an absurd input is refused before any arithmetic.
const maxRSABytes = 4096 / 8

// Import builds a key from a JWK with its private members: RSA needs n, e, d, p, q (dp, dq, qi
// are optional and checked when given), EC needs crv, x, y, d, oct needs k (16, 24 or 32 bytes).
// The key is checked: n = p·q and d matches e, the EC point is on the curve and is d·G.
// RSA moduli must be 2048, 3072 or 4096 bits. Leading zero bytes are tolerated everywhere.
// To import with HSM protection, set Kty to the -HSM type.
func Import(j JWK) (*Key, error) {
	switch familyOf(j.Kty) {
	case famRSA:
		return importRSA(j)
	case famEC:
		return importEC(j)
	case famOct:
		switch len(j.K) {
		case 16, 24, 32:
		case 0:
			return nil, invalid("an oct key import needs k (16, 24 or 32 bytes)")
		default:
			return nil, invalid("oct key k must be 16, 24 or 32 bytes (AES-128, -192, -256), got %d", len(j.K))
		}
		return &Key{kty: j.Kty, oct: bytes.Clone(j.K)}, nil
	case 0:
		if j.Kty == "" {
			return nil, invalid("the key has no kty; use one of %s", allKtys)
		}
	}
	return nil, invalid("key type %s is not valid; use one of %s", quote(j.Kty), allKtys)
}

func importRSA(j JWK) (*Key, error) {
	n, e := trimZeros(j.N), trimZeros(j.E)
	if len(n) == 0 || len(e) == 0 {
		return nil, invalid("an RSA key needs n and e")
	}
	if len(j.D) == 0 || len(j.P) == 0 || len(j.Q) == 0 {
		return nil, invalid("an RSA key import needs the private members d, p and q (dp, dq and qi are optional)")
	}
	nBits := new(big.Int).SetBytes(n).BitLen()
	if len(n) > maxRSABytes || (nBits != 2048 && nBits != 3072 && nBits != 4096) {
		return nil, invalid("RSA modulus n of %d bits is not supported; use 2048, 3072 or 4096 bits", nBits)
	}
	if len(e) > 4 {
		return nil, invalid("RSA public exponent e is too large (at most 4 bytes)")
	}
	var eInt int64
	for _, b := range e {
		eInt = eInt<<8 | int64(b)
	}
	if eInt < 3 || eInt%2 == 0 || eInt >= 1<<31 {
		return nil, invalid("RSA public exponent e must be odd, at least 3 and below 2^31")
	}
	for _, m := range []struct {
		name string
		v    []byte
	}{{"d", j.D}, {"p", j.P}, {"q", j.Q}, {"dp", j.DP}, {"dq", j.DQ}, {"qi", j.QI}} {
		if len(trimZeros(m.v)) > len(n) {
			return nil, invalid("RSA member %s is longer than the modulus", m.name)
		}
	}
	crt := len(j.DP) + len(j.DQ) + len(j.QI)
	if crt != 0 && (len(j.DP) == 0 || len(j.DQ) == 0 || len(j.QI) == 0) {
		return nil, invalid("RSA members dp, dq and qi go together: give all three or none")
	}
	priv := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(eInt)},
		D:         new(big.Int).SetBytes(j.D),
		Primes:    []*big.Int{new(big.Int).SetBytes(j.P), new(big.Int).SetBytes(j.Q)},
	}
	// The CRT values are always computed from d, so a wrong d cannot hide behind right CRT values.
	if err := priv.Validate(); err != nil {
		return nil, invalid("the RSA private key is inconsistent: n must be p·q and d must be the private exponent for e")
	}
	priv.Precompute()
	if crt != 0 {
		pc := priv.Precomputed
		if pc.Dp.Cmp(new(big.Int).SetBytes(j.DP)) != 0 || pc.Dq.Cmp(new(big.Int).SetBytes(j.DQ)) != 0 ||
			pc.Qinv.Cmp(new(big.Int).SetBytes(j.QI)) != 0 {
			return nil, invalid("the RSA private key is inconsistent: dp, dq or qi does not match d, p and q")
		}
	}
	return &Key{kty: j.Kty, rsa: priv}, nil
}

func importEC(j JWK) (*Key, error) {
	if j.Crv == "" {
		return nil, invalid("an EC key needs crv; use %s", allCurves)
	}
	c, err := curveByName(j.Crv)
	if err != nil {
		return nil, err
	}
	if len(j.X) == 0 || len(j.Y) == 0 {
		return nil, invalid("an EC key needs x and y")
	}
	if len(j.D) == 0 {
		return nil, invalid("an EC key import needs the private member d")
	}
	x, okX := leftPad(j.X, c.size)
	y, okY := leftPad(j.Y, c.size)
	d, okD := leftPad(j.D, c.size)
	if !okX || !okY || !okD {
		return nil, invalid("EC members x, y and d for %s must be %d bytes", c.name, c.size)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(c.curve, append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, invalid("the point (x, y) is not on curve %s", c.name)
	}
	priv, err := ecdsa.ParseRawPrivateKey(c.curve, d)
	if err != nil {
		return nil, invalid("EC private member d is not valid for %s: it must be between 1 and the curve order", c.name)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, invalid("the EC private key is inconsistent: d does not match the point (x, y)")
	}
	return &Key{kty: j.Kty, ec: priv}, nil
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// leftPad returns b as exactly size bytes, accepting shorter input (leading zeros dropped by
// some encoders) and longer input only when the excess is zeros.
func leftPad(b []byte, size int) ([]byte, bool) {
	b = trimZeros(b)
	if len(b) > size {
		return nil, false
	}
	out := make([]byte, size)
	copy(out[size-len(b):], b)
	return out, true
}

// Kty returns the key type as requested or imported: RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM.
func (k *Key) Kty() string { return k.kty }

// Size returns the RSA modulus size, the EC curve size (256, 384, 521) or the AES key size,
// in bits.
func (k *Key) Size() int {
	switch {
	case k.rsa != nil:
		return k.rsa.N.BitLen()
	case k.ec != nil:
		return curveOf(k.ec.Curve).bits
	default:
		return len(k.oct) * 8
	}
}

// Curve returns the curve name of an EC key, "" for other keys.
func (k *Key) Curve() string {
	if k.ec == nil {
		return ""
	}
	return curveOf(k.ec.Curve).name
}

// Public returns the public JWK members: kty, n and e for RSA (e minimal: 65537 is 01 00 01);
// kty, crv, x and y for EC (fixed length: 32, 48, 66 bytes); kty alone for oct.
// It never contains a private member.
func (k *Key) Public() JWK {
	j := JWK{Kty: k.kty}
	switch {
	case k.rsa != nil:
		j.N = k.rsa.N.Bytes()
		j.E = big.NewInt(int64(k.rsa.E)).Bytes()
	case k.ec != nil:
		c := curveOf(k.ec.Curve)
		j.Crv = c.name
		pt, err := k.ec.PublicKey.Bytes()
		if err != nil {
			panic("keyops: encode EC public key: " + err.Error())
		}
		j.X = pt[1 : 1+c.size]
		j.Y = pt[1+c.size:]
	}
	return j
}

// Private returns every member, private ones included, for sealed storage and backup;
// [Import] of the result gives the same key. The slices are the caller's.
func (k *Key) Private() JWK {
	j := k.Public()
	switch {
	case k.rsa != nil:
		j.D = k.rsa.D.Bytes()
		j.P = k.rsa.Primes[0].Bytes()
		j.Q = k.rsa.Primes[1].Bytes()
		j.DP = k.rsa.Precomputed.Dp.Bytes()
		j.DQ = k.rsa.Precomputed.Dq.Bytes()
		j.QI = k.rsa.Precomputed.Qinv.Bytes()
	case k.ec != nil:
		d, err := k.ec.Bytes()
		if err != nil {
			panic("keyops: encode EC private key: " + err.Error())
		}
		j.D = d
	default:
		j.K = bytes.Clone(k.oct)
	}
	return j
}

// DefaultOps returns the key_ops a new key gets when the request names none: RSA encrypt,
// decrypt, sign, verify, wrapKey, unwrapKey; EC sign, verify; oct encrypt, decrypt, wrapKey,
// unwrapKey.
func (k *Key) DefaultOps() []string {
	switch {
	case k.rsa != nil:
		return []string{OpEncrypt, OpDecrypt, OpSign, OpVerify, OpWrapKey, OpUnwrapKey}
	case k.ec != nil:
		return []string{OpSign, OpVerify}
	default:
		return []string{OpEncrypt, OpDecrypt, OpWrapKey, OpUnwrapKey}
	}
}

// Key operation names, as key_ops spells them.
const (
	OpEncrypt   = "encrypt"
	OpDecrypt   = "decrypt"
	OpSign      = "sign"
	OpVerify    = "verify"
	OpWrapKey   = "wrapKey"
	OpUnwrapKey = "unwrapKey"
	OpImport    = "import"
	OpExport    = "export"
)

var allOps = []string{OpEncrypt, OpDecrypt, OpSign, OpVerify, OpWrapKey, OpUnwrapKey, OpImport, OpExport}

// ValidOps checks key_ops names: each must be one of encrypt, decrypt, sign, verify, wrapKey,
// unwrapKey, import, export, in exactly that case. Duplicates are allowed.
func ValidOps(ops []string) error {
	for _, op := range ops {
		ok := false
		for _, a := range allOps {
			if op == a {
				ok = true
				break
			}
		}
		if !ok {
			hint := ""
			if OpFor(op) != "" {
				hint = fmt.Sprintf(" (did you mean %q? names are case-sensitive)", OpFor(op))
			}
			return invalid("key operation %s is not valid%s; use %s", quote(op), hint, strings.Join(allOps, ", "))
		}
	}
	return nil
}

// OpFor maps an operation name in any case, such as a route segment ("wrapkey", "sign"), to its
// key_ops name ("wrapKey", "sign"); it returns "" for an unknown name.
func OpFor(operation string) string {
	for _, a := range allOps {
		if strings.EqualFold(operation, a) {
			return a
		}
	}
	return ""
}
