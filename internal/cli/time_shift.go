package cli

import (
	"errors"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// timeShiftResult is what coffer time-shift prints.
type timeShiftResult struct {
	OffsetSeconds int64 `json:"offsetSeconds"`
	VaultTime     any   `json:"vaultTime"`
}

func newTimeShiftCommand() *cobra.Command {
	opts, seconds := &clientOptions{}, int64(0)
	return newClientCommand(cmdSpec{
		use: "time-shift", opts: opts,
		help: cmdHelp{
			short: "Move the server's vault clock forward, to try retention and purge (tests only)",
			long: `Move the vault clock of a server started with --allow-time-shift forward by --seconds,
and print the total offset and the vault time. The vault clock dates deletions and
scheduledPurgeDate and drives the purge at the end of the retention, so a 90-day
retention can be tried in a minute. Shifts add up and never go back; tokens keep their
real lifetime. Administrator only.`,
			example: `  coffer time-shift --seconds 0                 # show the vault clock
  coffer time-shift --seconds 86400             # one day later
  coffer time-shift --seconds $((90*86400))     # past a 90-day retention`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.Int64Var(&seconds, "seconds", 0, "seconds to move the vault clock forward (required; 0 shows the clock)")
		},
		check: func(cmd *cobra.Command) error {
			if !cmd.Flags().Changed("seconds") {
				return requireFlag("seconds", "coffer time-shift --seconds 86400")
			}
			if seconds < 0 {
				return usageError(errors.New("--seconds must be 0 or more: the vault clock never goes back"), "coffer time-shift --seconds 86400")
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			var out struct {
				OffsetSeconds int64 `json:"offsetSeconds"`
				Now           int64 `json:"now"`
			}
			if err := c.call(cmd.Context(), http.MethodPost, "/admin/time-shift", map[string]int64{"seconds": seconds}, &out, http.StatusOK); err != nil {
				if isStatus(err, http.StatusNotFound) {
					return &hintError{err: errors.New("the server's time shift is off"),
						hints: []string{"start the server with coffer server --allow-time-shift (for tests only)"}}
				}
				return err
			}
			now := time.Unix(out.Now, 0)
			res := timeShiftResult{OffsetSeconds: out.OffsetSeconds, VaultTime: azDate(&now)}
			return printOut(cmd.OutOrStdout(), opts.Output, res, func() table {
				return table{header: []string{"OffsetSeconds", "VaultTime"}, rows: [][]string{{cell(res.OffsetSeconds), cell(res.VaultTime)}}}
			})
		},
	})
}
