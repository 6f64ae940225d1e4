package keyops

import "crypto"

// Signer returns the private key as a crypto.Signer (*rsa.PrivateKey or *ecdsa.PrivateKey),
// for code that needs the standard library's view of the key, such as X.509 issuance; it
// returns nil for an oct key. The value is shared with k: the caller must not modify it.
func (k *Key) Signer() crypto.Signer {
	switch {
	case k.rsa != nil:
		return k.rsa
	case k.ec != nil:
		return k.ec
	}
	return nil
}
