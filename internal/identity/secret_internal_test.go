package identity

import "testing"

// TestSecretsNeverStartWithADash: a client secret is passed on command lines
// (`az login -p SECRET`), where a leading '-' reads as an option; about one base64url
// secret in 64 would start so.
func TestSecretsNeverStartWithADash(t *testing.T) {
	seen := map[byte]bool{}
	for range 5000 {
		s, err := newSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 43 || s[0] == '-' {
			t.Fatalf("secret %q", s)
		}
		seen[s[0]] = true
	}
	if len(seen) < 60 { // every other first character still comes up
		t.Fatalf("only %d distinct first characters in 5000 secrets", len(seen))
	}
}
