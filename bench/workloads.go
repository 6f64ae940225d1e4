package main

// The secret workloads and what every HTTP workload shares: a worker (its client, its
// random source, its request body), one request that fails on any non-2xx, and the
// operations of ceiling, get, set, delete+recover and delete. Also the pre-population the
// secret workloads read, overwrite and delete.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// worker is one of a workload's c concurrent clients. Each has its own random source
// and body buffer, so that the hot loop shares nothing with the other workers.
type worker struct {
	b      *bench // whose server it measures (get-embedded: the embedded coffer's)
	id, c  int
	client *http.Client
	rng    *mrand.Rand
	body   []byte // {"value":"…"} with a value of -value-size bytes
	next   int    // delrec: next owned name
}

func (b *bench) newWorker(id, c int, client *http.Client) *worker {
	w := &worker{b: b, id: id, c: c, client: client, rng: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(id)))}
	w.body = make([]byte, 0, b.cfg.valueSize+16)
	w.body = append(w.body, `{"value":"`...)
	w.body = append(w.body, make([]byte, b.cfg.valueSize)...)
	w.body = append(w.body, `"}`...)
	w.fillValue()
	w.next = id
	return w
}

// alphabet makes a random value printable, 6 bits a character, like base64.
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// fillValue writes a fresh random value into the body.
func (w *worker) fillValue() {
	v := w.body[len(`{"value":"`) : len(w.body)-2]
	for i := 0; i < len(v); {
		x := w.rng.Uint64()
		for k := 0; k < 10 && i < len(v); k++ {
			v[i] = alphabet[x&63]
			x >>= 6
			i++
		}
	}
}

// do sends one request and fails on any non-2xx.
func (b *bench) do(ctx context.Context, w *worker, method, url string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("%s %s: %d %s", method, strings.SplitN(url, "?", 2)[0], resp.StatusCode, bytes.TrimSpace(msg))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// doTiny sends a GET without Authorization (-tiny-ceiling): the cheapest request, to
// see what the request's size costs the ceiling.
func (b *bench) doTiny(ctx context.Context, w *worker, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// secretURL is the URL of secret name in the default vault.
func (b *bench) secretURL(name string) string {
	return b.vaultURL + "/secrets/" + name + "?api-version=7.6"
}

// op runs one operation of workload (a pair for delrec).
func (b *bench) op(ctx context.Context, workload string, w *worker) error {
	b = w.b // the server, token and vault URL of the worker's runner
	switch workload {
	case "ceiling":
		if b.cfg.tinyCeiling {
			return b.doTiny(ctx, w, b.ceilingURL+"/")
		}
		return b.do(ctx, w, http.MethodGet, b.ceilingURL+"/secrets/"+b.names[w.rng.IntN(len(b.names))]+"?api-version=7.6", nil)
	case "get", "get-embedded":
		return b.do(ctx, w, http.MethodGet, b.secretURL(b.names[w.rng.IntN(len(b.names))]), nil)
	case "set":
		w.fillValue()
		return b.do(ctx, w, http.MethodPut, b.secretURL(b.names[w.rng.IntN(len(b.names))]), w.body)
	case "delrec":
		// Names owned by worker id of c: index ≡ id (mod c). With more workers than
		// names a worker owns none and idles.
		if w.id >= len(b.names) {
			time.Sleep(10 * time.Millisecond)
			return nil
		}
		name := b.names[w.next]
		if w.next += w.c; w.next >= len(b.names) {
			w.next = w.id
		}
		if err := b.do(ctx, w, http.MethodDelete, b.secretURL(name), nil); err != nil {
			return err
		}
		// The pair is finished even when ctx ends in between: a name left deleted would
		// fail every later workload.
		return b.do(context.WithoutCancel(ctx), w, http.MethodPost, b.vaultURL+"/deletedsecrets/"+name+"/recover?api-version=7.6", nil)
	case "del":
		i := int(b.delNext.Add(1) - 1)
		if i >= len(b.delNames) {
			time.Sleep(10 * time.Millisecond) // an error, counted; no need to spin on it
			return fmt.Errorf("del: all %d pre-created secrets are deleted; raise -del-names", len(b.delNames))
		}
		return b.do(ctx, w, http.MethodDelete, b.secretURL(b.delNames[i]), nil)
	case "sign-rs256", "sign-es256", "inproc-rs256", "inproc-es256":
		return b.signOp(ctx, workload, w)
	}
	panic("unknown workload " + workload)
}

// prepopulate creates every name of -names with c workers taking the next name in turn,
// so that get reads and set overwrites an existing secret from the first request on;
// and, when del runs, the -del-names secrets it deletes.
func (b *bench) prepopulate(ctx context.Context, c int) error {
	if err := b.create(ctx, c, b.names); err != nil {
		return err
	}
	return b.create(ctx, c, b.delNames)
}

// create creates the secrets names with c workers.
func (b *bench) create(ctx context.Context, c int, names []string) error {
	if len(names) == 0 {
		return nil
	}
	clients, trs := b.cofferClients("h1", c)
	defer func() {
		for _, tr := range trs {
			tr.CloseIdleConnections()
		}
	}()
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := b.newWorker(id, c, clients[id%len(clients)])
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) || ctx.Err() != nil {
					return
				}
				w.fillValue()
				if err := b.do(ctx, w, http.MethodPut, b.secretURL(names[i]), w.body); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}
