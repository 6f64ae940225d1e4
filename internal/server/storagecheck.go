package server

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
)

// A start reads a bounded part of the embedded store's file (bbolt's VerifyTop: the meta
// pages, the free list, the upper levels of the tree — all of a small file), so that it
// takes the same time at any size. What it leaves unread is checked here, in the
// background, once the server serves:
//
//   - the structure of the whole file (bbolt's VerifyFull). Damage it finds is logged as
//     an error naming the pages, the keys they affect and `coffer check`, counted in
//     coffer_storage_problems, and turns /healthz to 503: the server stays up for what
//     it can still read (a read that meets a damaged page fails with an error, never a
//     crash), but a load balancer takes it out of service, as a start would have refused
//     it before the check was bounded;
//   - every value, opened under the keyring as the walk reads it (barrier.Opens): one that
//     does not open is read again through the store (the walk does not hold a transaction,
//     so a page reused meanwhile is no proof), and each that still does not is logged by
//     name (reportUnopenable).
//
// The walk reads the file with plain reads, not through the memory map: the server's
// resident memory does not grow to the size of the file.
//
// PostgreSQL is left alone (several servers share it, and it has its own integrity).
type storageCheck struct {
	done     chan struct{} // closed when the check has finished (or was never started)
	problems atomic.Int64  // structural problems found (meta pages aside)
	finished atomic.Bool
	once     sync.Once
}

// init makes the done channel, whichever comes first: the check's start (in Serve) or a
// wait for it (which may come before Serve has begun).
func (c *storageCheck) init() chan struct{} {
	c.once.Do(func() { c.done = make(chan struct{}) })
	return c.done
}

func (c *storageCheck) start(ctx context.Context, s *Server) {
	c.init()
	if s.embedded == nil {
		c.finished.Store(true)
		close(c.done)
		return
	}
	go func() {
		defer close(c.done)
		defer c.finished.Store(true)
		// One walk of the file does both: each value is opened as its page is read.
		var suspects []string
		opened := 0
		rep, err := s.embedded.VerifyFull(ctx, func(key, value []byte) {
			k := string(key)
			if strings.HasPrefix(k, "barrier/") || strings.HasPrefix(k, "meta/") {
				return // the keyring opened; meta/ is kept in clear
			}
			if s.store.Opens(k, value) != nil {
				suspects = append(suspects, k)
			} else {
				opened++
			}
		})
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("the background check of the database file failed", "err", err)
			}
			return
		}
		var n int64
		for _, p := range rep.Problems {
			if p.Meta {
				continue
			}
			if n++; n <= maxUnopenableLogged {
				s.log.Error("the database file is damaged: a read that meets this page fails, and /healthz answers 503; with the server stopped, run coffer check to list every problem, then restore the file from a backup",
					"path", rep.Path, "page", p.Page, "affects", p.Affects(), "problem", p.Text)
			}
		}
		c.problems.Store(n)
		if n > 0 {
			return
		}
		s.log.Info("checked the database file in the background: its structure is sound", "pages", rep.Pages, "keys", rep.Keys, "valuesOpened", opened, "toConfirm", len(suspects))
		reportUnopenable(ctx, s.store, suspects, s.log)
	}()
}

// wait returns once the check has finished (Close, after Serve, waits before it closes
// the storage).
func (c *storageCheck) wait() { <-c.init() }

// damaged reports whether the check found the file's structure damaged.
func (c *storageCheck) damaged() bool { return c.problems.Load() > 0 }

// WaitStorageCheck waits until the background check of the embedded store (structure,
// then every value), which Serve starts, has finished, or ctx ends (tests).
func (s *Server) WaitStorageCheck(ctx context.Context) error {
	select {
	case <-s.storageChk.init():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
