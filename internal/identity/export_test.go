package identity

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
)

// ReSign signs token's header and claims again with the service's key, the header
// changed by edit, and with the high-s twin of the signature when high is true (the low one
// otherwise): a token as another form, or as an earlier version of Coffer, would have
// written it.
func (s *Service) ReSign(token string, edit func(header map[string]any), high bool) string {
	parts := strings.Split(token, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	json.Unmarshal(hb, &h)
	edit(h)
	hb, _ = json.Marshal(h)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + parts[1]
	digest := sha256.Sum256([]byte(input))
	r, sv, err := ecdsa.Sign(rand.Reader, s.keys[s.signKid], digest[:])
	if err != nil {
		panic(err)
	}
	n := s.keys[s.signKid].Curve.Params().N
	if (sv.Cmp(p256HalfOrder) > 0) != high {
		sv = new(big.Int).Sub(n, sv)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
