package cli

import (
	"errors"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type timeShiftOptions struct {
	clientOptions
	Seconds int64
}

func (o *timeShiftOptions) AddFlags(fs *pflag.FlagSet) {
	fs.Int64Var(&o.Seconds, "seconds", 0, "seconds to move the vault clock forward (required; 0 shows the clock)")
	o.clientOptions.AddFlags(fs)
}

// timeShiftResult is what coffer time-shift prints.
type timeShiftResult struct {
	OffsetSeconds int64 `json:"offsetSeconds"`
	VaultTime     any   `json:"vaultTime"`
}

func newTimeShiftCommand() *cobra.Command {
	o := &timeShiftOptions{}
	cmd := &cobra.Command{
		Use:   "time-shift",
		Short: "Move the server's vault clock forward, to try retention and purge (tests only)",
		Long: `Move the vault clock of a server started with --allow-time-shift forward by --seconds,
and print the total offset and the vault time. The vault clock dates deletions and
scheduledPurgeDate and drives the purge at the end of the retention, so a 90-day
retention can be tried in a minute. Shifts add up and never go back; tokens keep their
real lifetime. Administrator only.`,
		Example: `  coffer time-shift --seconds 0                 # show the vault clock
  coffer time-shift --seconds 86400             # one day later
  coffer time-shift --seconds $((90*86400))     # past a 90-day retention`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if !cmd.Flags().Changed("seconds") {
				return requireFlag("seconds", "coffer time-shift --seconds 86400")
			}
			if o.Seconds < 0 {
				return usageError(errors.New("--seconds must be 0 or more: the vault clock never goes back"), "coffer time-shift --seconds 86400")
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			var out struct {
				OffsetSeconds int64 `json:"offsetSeconds"`
				Now           int64 `json:"now"`
			}
			if err := c.call(cmd.Context(), http.MethodPost, "/admin/time-shift", map[string]int64{"seconds": o.Seconds}, &out, http.StatusOK); err != nil {
				if isStatus(err, http.StatusNotFound) {
					return &hintError{err: errors.New("the server's time shift is off"),
						hints: []string{"start the server with coffer server --allow-time-shift (for tests only)"}}
				}
				return err
			}
			now := time.Unix(out.Now, 0)
			res := timeShiftResult{OffsetSeconds: out.OffsetSeconds, VaultTime: azDate(&now)}
			return printOut(cmd.OutOrStdout(), o.Output, res, func() table {
				return table{header: []string{"OffsetSeconds", "VaultTime"}, rows: [][]string{{cell(res.OffsetSeconds), cell(res.VaultTime)}}}
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
