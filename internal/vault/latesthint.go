package vault

import (
	"hash/maphash"
	"sync"
)

// latestHints remembers, for objects recently read, which version was their latest, so
// that a get of the latest version can ask for it together with the object
// ([storage.Prefetch]): on PostgreSQL one round trip instead of two. A hint is only a
// guess, checked against the object record read in the same round trip: a wrong or
// missing one (the object got a new version, here or on another server) costs the read
// that the hint would have saved, and nothing else. It holds names and version ids only,
// a bounded number of them.
type latestHints struct {
	shards [latestShards]latestShard
}

const (
	latestShards   = 64
	latestPerShard = 1024 // 65,536 objects in all
)

type latestShard struct {
	mu sync.RWMutex
	m  map[string]string // live object key → latest version id
}

var latestSeed = maphash.MakeSeed()

func (h *latestHints) shard(key string) *latestShard {
	return &h.shards[maphash.String(latestSeed, key)%latestShards]
}

// get returns the version last seen as the latest of the object at key, or "".
func (h *latestHints) get(key string) string {
	s := h.shard(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[key]
}

// set records version as the latest of the object at key; a full shard forgets one
// entry, whichever the map yields first.
func (h *latestHints) set(key, version string) {
	s := h.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]string)
	}
	if _, ok := s.m[key]; !ok && len(s.m) >= latestPerShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[key] = version
}
