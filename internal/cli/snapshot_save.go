package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newSnapshotSaveCommand() *cobra.Command {
	opts, file, rate := &clientOptions{}, "", -1
	return newClientCommand(cmdSpec{
		use: "save", opts: opts,
		help: cmdHelp{
			short: "Save an online snapshot of the running server's whole storage to a file (administrator only)",
			long: `Save a consistent, point-in-time snapshot of the whole deployment (GET /admin/snapshot)
while the server keeps serving: the embedded store is read in one read transaction,
PostgreSQL in one REPEATABLE READ transaction. The file is written next to --file,
flushed to disk, checked whole (record count and SHA-256), and only then renamed to
--file (mode 0600), replacing any file there: a failed save leaves what was there. The
server paces the snapshot (64 MiB a second unless --rate says otherwise) so that the
requests it serves meanwhile keep their latency.

The snapshot holds the stored values as they are, sealed by the master key: it is not
decrypted, and is of no use without the master key (DIR/master.key or COFFER_MASTER_KEY).
Keep the master key, apart from the snapshot. coffer snapshot restore brings it back.`,
			example: `  coffer snapshot save --file coffer-$(date +%F).snapshot`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&file, "file", "", "file to write the snapshot to")
			fs.IntVar(&rate, "rate", -1, "pace of the snapshot in MiB a second, so that it does not crowd out the requests served meanwhile (default: the server's, 64; 0: as fast as the server goes)")
		},
		require: func([]string) error {
			if file == "" {
				return usageError(errors.New("--file is required"), "give the file to write: --file coffer.snapshot")
			}
			if rate < -1 || rate > 1<<20 {
				return usageError(errors.New("--rate must be a whole number of MiB a second, from 0 (no limit) to 1048576"))
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name()) // gone once renamed
			err = saveSnapshot(cmd, c, tmp, rate)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			records, sum, err := checkSnapshot(tmp.Name())
			if err != nil {
				return &hintError{err: fmt.Errorf("the snapshot received is not whole, so it was not kept: %w", err), hints: []string{
					"the server's log says why it stopped; under heavy writes an embedded store's snapshot gives way so that the growing file can be remapped: save again",
				}}
			}
			if err := os.Rename(tmp.Name(), file); err != nil {
				return err
			}
			if d, err := os.Open(filepath.Dir(file)); err == nil {
				d.Sync()
				d.Close()
			}
			fmt.Fprintf(cmd.OutOrStdout(), "saved a snapshot of %d keys to %s (sha256 %s)\nit is sealed by the server's master key: keep that key too, apart from the file\n", records, file, sum)
			return nil
		},
	})
}

// saveSnapshot streams GET /admin/snapshot into f and flushes it to disk.
func saveSnapshot(cmd *cobra.Command, c *client, f *os.File, rate int) error {
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	path := "/admin/snapshot"
	if rate >= 0 {
		path += "?rate=" + strconv.Itoa(rate)
	}
	req, err := runtime.NewRequest(cmd.Context(), http.MethodGet, c.server.String()+path)
	if err != nil {
		return err
	}
	req.Raw().Header.Set("Accept", "application/octet-stream")
	runtime.SkipBodyDownload(req) // streamed to the file, never held in memory
	resp, err := c.admin.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return runtime.NewResponseError(resp)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		return fmt.Errorf("receive the snapshot: %w", err)
	}
	return f.Sync()
}
