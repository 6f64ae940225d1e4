package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/coffer/coffer/internal/server"
)

// offlineCommand is a maintenance command on the data dir of a stopped server: --data-dir
// and no positional arguments.
func offlineCommand(use string, h cmdHelp, run func(cmd *cobra.Command, dataDir string) error) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use: use, Short: h.short, Long: h.long, Example: h.example, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd, dataDir) },
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", server.DefaultDataDir, "data dir of the stopped server")
	return cmd
}

func newKeyringCommand() *cobra.Command {
	return newGroup("keyring", cmdHelp{short: "Manage the data keys that encrypt stored values"}, offlineCommand("rotate", cmdHelp{
		short:   "Add a new data key (new writes use it; older values still open); run on a stopped server",
		example: `  coffer keyring rotate --data-dir ./coffer-data`,
	}, func(cmd *cobra.Command, dataDir string) error {
		term, err := server.RotateKeyring(cmd.Context(), dataDir, os.Getenv("COFFER_MASTER_KEY"))
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "keyring rotated: data key term %d is now active\n", term)
		return nil
	}))
}

func newMasterKeyCommand() *cobra.Command {
	return newGroup("master-key", cmdHelp{short: "Manage the key-encryption key (KEK)"}, offlineCommand("rotate", cmdHelp{
		short: "Re-seal the keyring under a new key-encryption key; run on a stopped server",
		long: `Re-seal the keyring under a new key-encryption key. The old key is COFFER_MASTER_KEY or
DATA-DIR/master.key. The new key is COFFER_NEW_MASTER_KEY; when that is unset and the old
key came from master.key, a new key is generated and written to master.key.
Keep the new key safe: without it the stored secrets cannot be read.`,
		example: `  coffer master-key rotate --data-dir ./coffer-data
  COFFER_MASTER_KEY=$OLD COFFER_NEW_MASTER_KEY=$(head -c32 /dev/urandom | base64) coffer master-key rotate`,
	}, func(cmd *cobra.Command, dataDir string) error {
		where, err := server.RotateMasterKey(cmd.Context(), dataDir, os.Getenv("COFFER_MASTER_KEY"), os.Getenv("COFFER_NEW_MASTER_KEY"))
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "master key rotated; the new key-encryption key is in %s\n", where)
		return nil
	}))
}
