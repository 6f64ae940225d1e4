package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateCreateOptions struct {
	certPropFlags
	Policy   string
	Validity int
	NoWait   bool
}

func (o *certificateCreateOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Policy, "policy", "p", "", "policy: JSON, a file or @FILE (default: the policy of get-default-policy)")
	fs.IntVar(&o.Validity, "validity", 0, "months the certificate is valid, overriding the policy's validityInMonths")
	fs.BoolVar(&o.NoWait, "no-wait", false, "print the pending operation at once instead of waiting for it to finish")
	o.certPropFlags.AddFlags(fs, "create it disabled")
}

func newCertificateCreateCommand() *cobra.Command {
	o := &certificateCreateOptions{}
	var params azcertificates.CreateCertificateParameters
	return newDataCommand(dataSpec[*azcertificates.Client]{
		kind: kindCertificate, verb: "create", flags: o.AddFlags, open: (*client).certificatesClient,
		target: &namedOptions{nameHint: "coffer certificate create --vault-name VAULT --name NAME [--policy @policy.json]"},
		help: cmdHelp{
			short: "Create a certificate or a new version of it (as az keyvault certificate create)",
			long: `Create a certificate from a policy and print its operation as az does. A self-signed
certificate (issuer "Self") is waited for until the operation completes (on a terminal,
with its progress on stderr), unless --no-wait;
with issuer "Unknown" the operation stays pending with a CSR: sign it and complete it with
coffer certificate pending merge.

--policy takes JSON in az's form (coffer certificate get-default-policy prints one) or in
the REST form, as text, a file or @FILE; the default is get-default-policy's.`,
			example: `  coffer certificate create --vault-name myvault --name web
  coffer certificate get-default-policy > policy.json   # edit the subject, then:
  coffer certificate create --vault-name myvault -n web --policy @policy.json`,
		},
		check: func(*dataRun[*azcertificates.Client]) error {
			src := o.Policy
			if src == "" {
				src = defaultPolicy
			}
			policy, err := parsePolicy(src)
			if err != nil {
				return err
			}
			if o.Validity > 0 {
				if policy.X509CertificateProperties == nil {
					policy.X509CertificateProperties = &azcertificates.X509CertificateProperties{}
				}
				policy.X509CertificateProperties.ValidityInMonths = ptr(int32(o.Validity))
			}
			params = azcertificates.CreateCertificateParameters{CertificatePolicy: policy}
			params.CertificateAttributes, params.Tags, err = o.parse()
			return err
		},
		run: func(r *dataRun[*azcertificates.Client]) error {
			res, err := r.sdk.CreateCertificate(r.ctx, r.name, params, nil)
			if err != nil {
				return r.explainObject(err, r.name)
			}
			op := res.CertificateOperation
			if !o.NoWait && isSelfIssued(params.CertificatePolicy) {
				if op, err = waitOperation(r.ctx, newProgress(r.cmd), r.sdk, r.name, op); err != nil {
					return err
				}
			}
			if err := r.print(certOperationJSON(op), certOperationColumns); err != nil {
				return err
			}
			if s := deref(op.Status); strings.EqualFold(s, "failed") {
				return fmt.Errorf("creating certificate %s failed: %s", r.name, operationError(op))
			}
			return nil
		},
	})
}

func isSelfIssued(p *azcertificates.CertificatePolicy) bool {
	return p != nil && p.IssuerParameters != nil && strings.EqualFold(deref(p.IssuerParameters.Name), "Self")
}

func operationError(op azcertificates.CertificateOperation) string {
	if op.Error != nil {
		var e struct{ Code, Message string }
		if json.Unmarshal([]byte(op.Error.Error()), &e) == nil && e.Message != "" {
			return e.Message
		}
		return op.Error.Code
	}
	if op.StatusDetails != nil {
		return *op.StatusDetails
	}
	return "no details"
}

// waitOperation polls the pending operation, with a short growing delay, until it is no
// longer in progress, showing its progress on a terminal.
func waitOperation(ctx context.Context, p *progress, cc *azcertificates.Client, name string, op azcertificates.CertificateOperation) (azcertificates.CertificateOperation, error) {
	defer p.done()
	delay := 100 * time.Millisecond
	for strings.EqualFold(deref(op.Status), "inProgress") {
		p.update("creating certificate %s: %s", name, deref(op.Status))
		select {
		case <-ctx.Done():
			return op, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
		res, err := cc.GetCertificateOperation(ctx, name, nil)
		if err != nil {
			return op, err
		}
		op = res.CertificateOperation
	}
	if op.Status == nil {
		return op, errors.New("the certificate operation has no status")
	}
	return op, nil
}
