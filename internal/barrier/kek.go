package barrier

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
)

// KEKSize is the length in bytes of a key-encryption key (AES-256).
const KEKSize = 32

// ParseKEK decodes a key-encryption key: the standard base64 (padded) of exactly 32 bytes, as
// found in COFFER_MASTER_KEY or DIR/master.key. Surrounding whitespace and newlines are ignored.
// The error never repeats the text it was given.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("the key-encryption key is empty (want standard base64 of %d bytes)", KEKSize)
	}
	kek, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the key-encryption key is not standard base64 (want standard base64 of %d bytes)", KEKSize)
	}
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("the key-encryption key decodes to %d bytes, want %d", len(kek), KEKSize)
	}
	return kek, nil
}

// GenerateKEK returns a new key-encryption key as standard base64 text of 32 random bytes,
// the form [ParseKEK] reads.
func GenerateKEK() (string, error) {
	var k [KEKSize]byte
	if _, err := rand.Read(k[:]); err != nil {
		return "", fmt.Errorf("generate key-encryption key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k[:]), nil
}
