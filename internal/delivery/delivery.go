// Package delivery is the webhook delivery worker: it sends the purge warnings and purge
// events that the vault domain wrote into the outbox (package webhook) to their
// subscriptions, signed, with retries and exponential backoff, and removes each once its
// receiver answered 2xx. It runs beside the sweeper and never on a request's path. Each
// delivery is claimed with a lease in storage before it is sent, so several servers on
// one database share the outbox, and one that dies mid-send leaves the lease to run out
// and the event to be sent again: at least once.
//
// Start reading at [Run].
package delivery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/webhook"
)

// Delivery tuning.
const (
	webhookTimeout   = 10 * time.Second                  // one POST
	webhookLease     = webhookTimeout + 20*time.Second   // a claim outlives the POST it covers
	webhookMaxDelay  = 5 * time.Minute                   // backoff cap
	webhookParallel  = 8                                 // POSTs at once
	webhookPage      = 256                               // outbox entries read at a time
	webhookPerCycle  = 256                               // claims per pass; the rest wait for the next
	webhookPerSub    = webhookParallel / 2               // claims per subscription per pass: a slow receiver holds up no more
	webhookRescanMax = time.Minute                       // scan at least this often
	webhookUserAgent = "coffer-webhook/1 (+CloudEvents)" // receivers can tell who calls
)

// Options are what the worker needs.
type Options struct {
	Store storage.Backend // the outbox lives here
	Clock clock.Clock     // the real clock: backoff and leases
	Log   *slog.Logger
	// RetryBase is the first wait after a failed delivery; each further failure doubles
	// it, up to webhookMaxDelay.
	RetryBase time.Duration
	// VaultURL is a vault's data-plane URL, for the ids in events.
	VaultURL func(name string) string
	// Result counts each attempt's result ("success", "failure", "dropped"); may be nil.
	Result func(result string)
}

// webhookWorker carries the worker's state between passes.
type webhookWorker struct {
	opts  Options
	owner string // this process's lease name
	base  time.Duration

	seenSeq int64     // the outbox's last seq at the previous full pass
	wake    time.Time // when a waiting delivery becomes ready (backoff or lease)

	mu      sync.Mutex
	clients map[string]*http.Client // by subscription id and CA
}

// Run runs the worker until ctx ends.
func Run(ctx context.Context, opts Options) {
	if opts.Result == nil {
		opts.Result = func(string) {}
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	w := &webhookWorker{opts: opts, owner: "coffer-" + uuid.NewString(), base: opts.RetryBase, clients: map[string]*http.Client{}}
	t := time.NewTicker(min(time.Second, w.base))
	defer t.Stop()
	for {
		w.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pass sends every delivery that is ready, when anything may be: a new event since the
// previous pass (the outbox's seq moved), or a backoff or lease run out.
func (w *webhookWorker) pass(ctx context.Context) {
	clk := w.opts.Clock
	now := clk.Now()
	var seq int64
	if err := w.opts.Store.View(ctx, func(tx storage.Tx) error {
		var err error
		seq, err = webhook.LastSeq(tx)
		return err
	}); err != nil {
		if ctx.Err() == nil {
			w.opts.Log.Error("webhooks: read the outbox", "err", err)
		}
		return
	}
	if seq == w.seenSeq && now.Before(w.wake) {
		return
	}
	wake := now.Add(webhookRescanMax)
	var ready []int64
	perSub := map[string]int{}
	after := int64(0)
	for {
		var page []webhook.Delivery
		if err := w.opts.Store.View(ctx, func(tx storage.Tx) error {
			var err error
			page, err = webhook.Pending(tx, after, webhookPage)
			return err
		}); err != nil {
			if ctx.Err() == nil {
				w.opts.Log.Error("webhooks: read the outbox", "err", err)
			}
			return
		}
		for _, d := range page {
			switch at := d.ReadyAt(); {
			case !at.After(now) && len(ready) < webhookPerCycle && perSub[d.Webhook] < webhookPerSub:
				ready = append(ready, d.Seq)
				perSub[d.Webhook]++
			case !at.After(now):
				wake = now // more than one pass's worth: come back at once
			case at.Before(wake):
				wake = at
			}
		}
		if len(page) < webhookPage {
			break
		}
		after = page[len(page)-1].Seq
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		sem = make(chan struct{}, webhookParallel)
	)
	for _, one := range ready {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if next, ok := w.deliver(ctx, one); ok {
				mu.Lock()
				if next.Before(wake) {
					wake = next
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	w.seenSeq, w.wake = seq, wake
}

// deliver claims one delivery and sends it. When it failed and waits for a retry, it
// returns when (ok true).
func (w *webhookWorker) deliver(ctx context.Context, seq int64) (next time.Time, retry bool) {
	clk := w.opts.Clock
	var (
		d                webhook.Delivery
		sub              webhook.Subscription
		claimed, dropped bool
	)
	err := w.opts.Store.Update(ctx, func(tx storage.Tx) error {
		var err error
		d, sub, claimed, dropped, err = webhook.Claim(tx, seq, w.owner, clk.Now(), webhookLease)
		return err
	})
	switch {
	case err != nil:
		if ctx.Err() == nil {
			w.opts.Log.Error("webhooks: claim a delivery", "seq", seq, "err", err)
		}
		return time.Time{}, false
	case dropped:
		w.opts.Result("dropped")
		w.opts.Log.Info("webhooks: dropped an event of a deleted subscription", "seq", seq, "webhook", d.Webhook, "event", d.Event.ID)
		return time.Time{}, false
	case !claimed:
		return time.Time{}, false
	}
	body := d.Event.Body(w.vaultURL)
	sendErr := w.post(ctx, sub, d, body)
	if sendErr == nil {
		w.opts.Result("success")
		if err := w.opts.Store.Update(context.WithoutCancel(ctx), func(tx storage.Tx) error { return webhook.Delivered(tx, seq) }); err != nil {
			// Sent but not removed: it is sent again after the lease (at least once).
			w.opts.Log.Error("webhooks: remove a delivered event from the outbox", "seq", seq, "err", err)
		}
		return time.Time{}, false
	}
	now := clk.Now()
	if ctx.Err() != nil {
		// Shutting down: give the claim back at once for the next start (or another
		// server); this attempt is not a failure of the receiver.
		next = now
	} else {
		w.opts.Result("failure")
		next = now.Add(backoff(w.base, d.Attempts))
		w.opts.Log.Warn("webhooks: delivery failed; will retry", "webhook", sub.ID, "url", sub.URL, "event", d.Event.ID,
			"type", d.Event.Type, "attempt", d.Attempts, "retryAt", next, "err", sendErr)
	}
	if err := w.opts.Store.Update(context.WithoutCancel(ctx), func(tx storage.Tx) error {
		return webhook.Retry(tx, seq, w.owner, next, firstLine(sendErr.Error()))
	}); err != nil {
		w.opts.Log.Error("webhooks: record a failed delivery", "seq", seq, "err", err)
	}
	return next, true
}

// post sends one event: POST body, 2xx or an error.
func (w *webhookWorker) post(ctx context.Context, sub webhook.Subscription, d webhook.Delivery, body []byte) error {
	hc, err := w.client(sub)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	h := req.Header
	h.Set("Content-Type", webhook.ContentType)
	h.Set(webhook.SignatureField, webhook.Sign(sub.Secret, body))
	h.Set("User-Agent", webhookUserAgent)
	h.Set("Coffer-Webhook-Id", sub.ID)
	h.Set("Coffer-Delivery-Attempt", strconv.Itoa(d.Attempts))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}

// client is the HTTP client for a subscription: trusting its CA, else the system roots;
// redirects are not followed (a 3xx is a failure).
func (w *webhookWorker) client(sub webhook.Subscription) (*http.Client, error) {
	sum := sha256.Sum256([]byte(sub.CAPEM))
	key := sub.ID + "/" + hex.EncodeToString(sum[:8])
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.clients[key]; ok {
		return c, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if sub.CAPEM != "" {
		pool, err := webhook.CertPool(sub.CAPEM)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = pool
	}
	c := &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     conf,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: webhookParallel,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: webhookTimeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if len(w.clients) >= 1024 {
		for k, old := range w.clients {
			old.CloseIdleConnections()
			delete(w.clients, k)
		}
	}
	w.clients[key] = c
	return c, nil
}

// vaultURL is a vault's data-plane URL, for the ids in events.
func (w *webhookWorker) vaultURL(name string) string {
	return w.opts.VaultURL(strings.ToLower(name))
}

// backoff is the wait after the attempt-th failure: base, 2·base, 4·base, … up to
// webhookMaxDelay.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < webhookMaxDelay; i++ {
		d *= 2
	}
	return min(d, webhookMaxDelay)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 512 {
		s = s[:512]
	}
	return s
}
