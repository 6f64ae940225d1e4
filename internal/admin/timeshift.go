package admin

import (
	"net/http"

	"github.com/coffer/coffer/internal/plane"
)

// timeShift moves the vault clock forward: POST {"seconds": N}, for testing retention.
// Shifts add up and never go back; the server persists them in storage so that every
// server on one database follows.
func (a *Admin) timeShift(w http.ResponseWriter, r *http.Request, c *plane.Call, _ string) error {
	var in struct {
		Seconds *int64 `json:"seconds"`
	}
	if err := readJSON(w, r, 4096, &in, false); err != nil || in.Seconds == nil || *in.Seconds < 0 {
		return badBody(err, `The body must be {"seconds": N} with N a whole number >= 0; shifts add up and never go back.`)
	}
	if err := c.BeforeChange(r.Context()); err != nil {
		return err
	}
	total, now, err := a.opts.ShiftTime(r, *in.Seconds)
	if err != nil {
		return a.internal("time shift failed", err, "The time shift could not be stored; the clock did not move.")
	}
	a.opts.Log.Info("vault clock shifted", "bySeconds", *in.Seconds, "totalSeconds", int64(total.Seconds()))
	return writeJSON(w, http.StatusOK, map[string]any{"offsetSeconds": int64(total.Seconds()), "now": now.Unix()})
}
