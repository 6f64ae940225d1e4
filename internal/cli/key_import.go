package cli

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyImportOptions struct {
	keyPropFlags
	PEMFile     string
	PEMString   string
	PEMPassword string
}

func (o *keyImportOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.PEMFile, "pem-file", "", "PEM file of the private key (RSA or EC; PKCS#1, PKCS#8 or SEC 1)")
	fs.StringVar(&o.PEMString, "pem-string", "", "the private key's PEM text, instead of --pem-file")
	fs.StringVar(&o.PEMPassword, "pem-password", "", "password of an encrypted PEM (legacy Proc-Type encryption)")
	o.keyPropFlags.AddFlags(fs, "permitted operations: encrypt, decrypt, sign, verify, wrapKey, unwrapKey")
}

func newKeyImportCommand() *cobra.Command {
	o := &keyImportOptions{}
	var params azkeys.ImportKeyParameters
	return newDataCommand(dataSpec[*azkeys.Client]{
		kind: kindKey, verb: "import", flags: o.AddFlags, open: (*client).keysClient,
		target: &namedOptions{nameHint: "coffer key import --vault-name VAULT --name NAME --pem-file key.pem"},
		help: cmdHelp{
			short: "Import a private key from PEM (as az keyvault key import)",
			example: `  coffer key import --vault-name myvault --name imported --pem-file key.pem
  coffer key import --vault-name myvault -n imported --pem-file enc.pem --pem-password "$PASS"`,
		},
		check: func(*dataRun[*azkeys.Client]) error {
			if (o.PEMFile == "") == (o.PEMString == "") {
				return &hintError{code: exitUsage, err: errors.New("give exactly one of --pem-file and --pem-string"),
					hints: []string{"coffer key import --vault-name VAULT --name NAME --pem-file key.pem"}}
			}
			data := []byte(o.PEMString)
			if o.PEMFile != "" {
				var err error
				if data, err = readFile("pem-file", o.PEMFile); err != nil {
					return err
				}
			}
			jwk, err := pemToJWK(data, o.PEMPassword)
			if err != nil {
				return err
			}
			params = azkeys.ImportKeyParameters{Key: jwk, HSM: ptr(false)}
			jwk.KeyOps, params.KeyAttributes, params.Tags, err = o.parse()
			return err
		},
		columns: keyColumns,
		answer: func(r *dataRun[*azkeys.Client]) (map[string]any, error) {
			res, err := r.sdk.ImportKey(r.ctx, r.name, params, nil)
			return keyJSON(res.KeyBundle), err
		},
	})
}

// pemToJWK reads the first private key of a PEM text into a JSON web key.
func pemToJWK(data []byte, password string) (*azkeys.JSONWebKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, &hintError{err: errors.New("no private key in the PEM"),
				hints: []string{"give a PEM private key: BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY"}}
		}
		der := block.Bytes
		switch block.Type {
		case "ENCRYPTED PRIVATE KEY":
			return nil, &hintError{err: errors.New("encrypted PKCS#8 keys are not supported"),
				hints: []string{"decrypt it first: openssl pkcs8 -in enc.pem -out key.pem"}}
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		default:
			continue
		}
		if x509.IsEncryptedPEMBlock(block) {
			if password == "" {
				return nil, &hintError{err: errors.New("the PEM is encrypted"), hints: []string{"give its password with --pem-password"}}
			}
			var err error
			if der, err = x509.DecryptPEMBlock(block, []byte(password)); err != nil {
				return nil, &hintError{err: errors.New("cannot decrypt the PEM: --pem-password may be wrong")}
			}
		}
		var key any
		var err error
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(der)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(der)
		default:
			key, err = x509.ParsePKCS8PrivateKey(der)
		}
		if err != nil {
			return nil, fmt.Errorf("read the private key: %w", err)
		}
		return keyToJWK(key)
	}
}

func keyToJWK(key any) (*azkeys.JSONWebKey, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		k.Precompute()
		return &azkeys.JSONWebKey{
			Kty: ptr(azkeys.KeyTypeRSA), N: k.N.Bytes(), E: big.NewInt(int64(k.E)).Bytes(), D: k.D.Bytes(),
			P: k.Primes[0].Bytes(), Q: k.Primes[1].Bytes(), DP: k.Precomputed.Dp.Bytes(), DQ: k.Precomputed.Dq.Bytes(), QI: k.Precomputed.Qinv.Bytes(),
		}, nil
	case *ecdsa.PrivateKey:
		names := map[string]azkeys.CurveName{"P-256": azkeys.CurveNameP256, "P-384": azkeys.CurveNameP384, "P-521": azkeys.CurveNameP521}
		crv, ok := names[k.Curve.Params().Name]
		if !ok {
			return nil, fmt.Errorf("unsupported curve %s", k.Curve.Params().Name)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		return &azkeys.JSONWebKey{
			Kty: ptr(azkeys.KeyTypeEC), Crv: ptr(crv),
			X: k.X.FillBytes(make([]byte, size)), Y: k.Y.FillBytes(make([]byte, size)), D: k.D.FillBytes(make([]byte, size)),
		}, nil
	}
	return nil, fmt.Errorf("unsupported key type %T: Key Vault imports RSA and EC keys", key)
}
