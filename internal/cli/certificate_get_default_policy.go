package cli

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"
)

func newCertificateGetDefaultPolicyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get-default-policy",
		Short: "Print az's default certificate policy, to edit and pass to create --policy",
		Example: `  coffer certificate get-default-policy > policy.json
  coffer certificate create --vault-name myvault --name web --policy @policy.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var v any
			if err := json.Unmarshal([]byte(defaultPolicy), &v); err != nil {
				return err
			}
			return printJSON(io.Writer(cmd.OutOrStdout()), v)
		},
	}
}
