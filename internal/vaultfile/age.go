package vaultfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
)

// Recipients parses age X25519 recipients (age1…).
func Recipients(list []string) ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(list))
	for _, s := range list {
		r, err := age.ParseX25519Recipient(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("recipient %q is not an age X25519 recipient (age1…): %w", s, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// PassphraseRecipient is the scrypt recipient of a passphrase.
func PassphraseRecipient(passphrase string) (age.Recipient, error) {
	if passphrase == "" {
		return nil, errors.New("the passphrase is empty")
	}
	return age.NewScryptRecipient(passphrase)
}

// PassphraseIdentity is the scrypt identity of a passphrase.
func PassphraseIdentity(passphrase string) (age.Identity, error) {
	if passphrase == "" {
		return nil, errors.New("the passphrase is empty")
	}
	return age.NewScryptIdentity(passphrase)
}

// IdentityFile reads age identities (AGE-SECRET-KEY-1…) from a file in age-keygen's
// format.
func IdentityFile(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

// Encrypt returns a writer that encrypts to recipients into w; closing it writes the
// last chunk (it does not close w).
func Encrypt(w io.Writer, recipients ...age.Recipient) (io.WriteCloser, error) {
	return age.Encrypt(w, recipients...)
}

// ErrWrongKey is the error of a file that none of the identities given opens.
var ErrWrongKey = errors.New("none of the identities given opens this file: a wrong key or passphrase")

// Decrypt returns a reader of the plaintext of r. A file no identity opens is
// ErrWrongKey; a file that is not age is ErrDamaged. Damage later in the file fails
// Read.
func Decrypt(r io.Reader, identities ...age.Identity) (io.Reader, error) {
	pr, err := age.Decrypt(r, identities...)
	if err == nil {
		return pr, nil
	}
	var nm *age.NoIdentityMatchError
	if errors.As(err, &nm) || strings.Contains(err.Error(), "incorrect passphrase") {
		return nil, ErrWrongKey
	}
	return nil, fmt.Errorf("%w: it is not an age file or its header is damaged (%v)", ErrDamaged, err)
}
