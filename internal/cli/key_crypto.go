package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// keyOpOptions are the flags of sign, verify, encrypt and decrypt: the key (--vault-name
// and --name, or --id), --version and --algorithm.
type keyOpOptions struct {
	objectOptions
	Version   string
	Algorithm string
}

func (o *keyOpOptions) AddFlags(fs *pflag.FlagSet, algorithms string) {
	o.objectOptions.AddFlags(fs, kindKey)
	versionFlag(fs, &o.Version, kindKey)
	fs.StringVarP(&o.Algorithm, "algorithm", "a", "", "algorithm (required): "+algorithms)
}

// checkAlgorithm validates --algorithm against an SDK enum, case-insensitively, and
// returns it in the enum's spelling.
func checkAlgorithm[T ~string](name string, valid []T, verb string) (T, error) {
	if name == "" {
		return "", requireFlag("algorithm", "coffer key "+verb+" --vault-name VAULT --name KEY --algorithm ALGORITHM ...")
	}
	if i := slices.IndexFunc(valid, func(v T) bool { return strings.EqualFold(string(v), name) }); i >= 0 {
		return valid[i], nil
	}
	return "", &hintError{code: exitUsage, err: fmt.Errorf("--algorithm %q is not known", name), hints: []string{"valid: " + enumList(valid)}}
}
