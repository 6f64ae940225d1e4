package admin

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/plane"
)

// snapshot streams an online snapshot of the whole deployment's storage (GET
// /admin/snapshot): every key with its value as stored, still sealed, from one consistent
// view, in storage/snapfile's format, paced to ?rate=MiB/s (Options.SnapshotRate by
// default; 0: unpaced) so that it does not crowd out the requests served meanwhile. The request record is written to the audit log
// before the first byte leaves, as for a change: a snapshot is a copy of everything.
//
// The status goes out with the first bytes; a failure after them cannot change it. The
// file then ends without its trailer, which `coffer snapshot save` (and every restore)
// refuses, and the log and the outcome record say why.
func (a *Admin) snapshot(w http.ResponseWriter, r *http.Request, c *plane.Call, _ string) error {
	if a.opts.Snapshot == nil {
		return errorf(http.StatusNotFound, "NotFound", "This server's storage cannot take online snapshots.")
	}
	c.Event.ObjectID = "snapshot"
	rate := a.opts.SnapshotRate
	if q := r.URL.Query(); q.Has("rate") {
		mib, err := strconv.ParseInt(q.Get("rate"), 10, 64)
		if err != nil || mib < 0 || mib > 1<<20 {
			return errorf(http.StatusBadRequest, "BadParameter", "rate is the snapshot's pace in MiB a second: a whole number from 1 to 1048576, or 0 for as fast as the server goes.")
		}
		rate = mib << 20
	}
	if err := c.BeforeChange(r.Context()); err != nil {
		return err
	}
	cw := &countingWriter{w: w, rc: http.NewResponseController(w)}
	defer cw.rc.SetWriteDeadline(time.Time{}) // the connection may serve further requests
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="coffer.snapshot"`)
	h.Set("Cache-Control", "no-store")
	n, err := a.opts.Snapshot(r.Context(), cw, rate)
	if err == nil {
		c.Event.Decision += "; " + strconv.FormatInt(n, 10) + " records"
		return nil
	}
	if cw.n == 0 {
		return a.internal("snapshot", err, "The snapshot could not be taken; see the server log.")
	}
	c.Event.Decision += "; failed after " + strconv.FormatInt(cw.n, 10) + " bytes: the file has no trailer"
	if r.Context().Err() == nil {
		a.opts.Log.Error("snapshot failed midway: the client gets a file without its trailer, which no restore accepts", "bytes", cw.n, "err", err)
	}
	return nil
}

// snapshotWriteTimeout bounds each write of a snapshot to the client. A client that stops
// reading would otherwise keep the snapshot's transaction open for as long as it likes,
// and with it (on bbolt) the pages writers free from being reused.
const snapshotWriteTimeout = 15 * time.Second

// wall is the clock network deadlines are set against: the real time, which the network
// compares them with, never the server's clock (which tests replace).
var wall clock.Clock = clock.Real{}

// countingWriter tells whether anything was sent yet, and gives each write a deadline.
type countingWriter struct {
	w  io.Writer
	rc *http.ResponseController
	n  int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	_ = c.rc.SetWriteDeadline(wall.Now().Add(snapshotWriteTimeout)) // best effort: unsupported, no deadline
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
