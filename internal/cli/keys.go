package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/coffer/coffer/internal/server"
)

func newKeyringCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keyring", Short: "Manage the data keys that encrypt stored values"}
	var dataDir string
	rotate := &cobra.Command{
		Use:     "rotate",
		Short:   "Add a new data key (new writes use it; older values still open); run on a stopped server",
		Example: `  coffer keyring rotate --data-dir ./coffer-data`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			term, err := server.RotateKeyring(cmd.Context(), dataDir, os.Getenv("COFFER_MASTER_KEY"))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "keyring rotated: data key term %d is now active\n", term)
			return nil
		},
	}
	rotate.Flags().StringVar(&dataDir, "data-dir", server.DefaultDataDir, "data dir of the stopped server")
	cmd.AddCommand(rotate)
	return cmd
}

func newMasterKeyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "master-key", Short: "Manage the key-encryption key (KEK)"}
	var dataDir string
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Re-seal the keyring under a new key-encryption key; run on a stopped server",
		Long: `Re-seal the keyring under a new key-encryption key. The old key is COFFER_MASTER_KEY or
DATA-DIR/master.key. The new key is COFFER_NEW_MASTER_KEY; when that is unset and the old
key came from master.key, a new key is generated and written to master.key.
Keep the new key safe: without it the stored secrets cannot be read.`,
		Example: `  coffer master-key rotate --data-dir ./coffer-data
  COFFER_MASTER_KEY=$OLD COFFER_NEW_MASTER_KEY=$(head -c32 /dev/urandom | base64) coffer master-key rotate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			where, err := server.RotateMasterKey(cmd.Context(), dataDir, os.Getenv("COFFER_MASTER_KEY"), os.Getenv("COFFER_NEW_MASTER_KEY"))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "master key rotated; the new key-encryption key is in %s\n", where)
			return nil
		},
	}
	rotate.Flags().StringVar(&dataDir, "data-dir", server.DefaultDataDir, "data dir of the stopped server")
	cmd.AddCommand(rotate)
	return cmd
}
