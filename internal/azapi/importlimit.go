package azapi

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"time"
)

// Certificate imports are limited per server: a PFX costs up to about a second of one CPU
// at the iteration bound (certs.MaxPFXIterations) and a client's PFX decides how much, so
// without a limit a few clients could keep every core busy. An import past the limit waits
// for its turn — imports are short, so a burst of them is absorbed — but not for ever: after
// defaultImportWait it is answered 503 with Retry-After, which azcore retries, and its body
// is let go. A client that goes away while it waits gives up its place.
const defaultImportWait = 5 * time.Second

// defaultMaxImports leaves at least half the CPUs to everything else.
func defaultMaxImports() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// importTurn waits for a free import slot; release gives it back. A request whose client
// has gone gets no slot: the work would be for nobody.
func (a *API) importTurn(ctx context.Context) (release func(), err error) {
	release = func() { <-a.imports }
	gone := &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", RetryAfter: "1",
		Message: "The request ended before its certificate import began; nothing was changed."}
	if ctx.Err() != nil {
		return nil, gone
	}
	select {
	case a.imports <- struct{}{}:
		return release, nil
	default:
	}
	wait := time.NewTimer(a.importWait)
	defer wait.Stop()
	select {
	case a.imports <- struct{}{}:
		if ctx.Err() != nil {
			release()
			return nil, gone
		}
		return release, nil
	case <-ctx.Done():
		return nil, gone
	case <-wait.C:
		return nil, &apiError{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", RetryAfter: "1", Message: fmt.Sprintf(
			"The server is already importing %d certificates, as many as it runs at once; nothing was changed. Retry the request.", cap(a.imports))}
	}
}
