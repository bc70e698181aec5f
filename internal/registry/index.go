package registry

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"
)

// Index maps names to entries for a read-mostly load: every span or outcome looks a name up,
// while new names and evictions are rare. Lookups read an immutable snapshot (a plain Go map)
// with no lock and no interface boxing; new names go to a dirty map under a mutex, which
// replaces the snapshot once it has been missed as many times as it holds entries (so the copy
// costs O(1) amortised per miss). This is sync.Map's design specialised to string keys:
// sync.Map would box every key into an interface (an allocation per lookup).
type Index[V any] struct {
	read    atomic.Pointer[map[string]V]
	amended atomic.Bool // dirty holds names read does not

	mu     sync.Mutex
	dirty  map[string]V // nil, or a copy of read plus the new names
	misses int
}

// NewIndex returns an empty index.
func NewIndex[V any]() *Index[V] {
	x := &Index[V]{}
	x.init()
	return x
}

func (x *Index[V]) init() {
	m := map[string]V{}
	x.read.Store(&m)
}

// Load returns the entry named name.
func (x *Index[V]) Load(name string) (V, bool) {
	if v, ok := (*x.read.Load())[name]; ok {
		return v, true
	}
	if !x.amended.Load() {
		var zero V
		return zero, false
	}
	return x.loadDirty(name)
}

// loadDirty is Load's slow path: the name may be among those not yet in the snapshot.
func (x *Index[V]) loadDirty(name string) (V, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if v, ok := (*x.read.Load())[name]; ok {
		return v, true
	}
	v, ok := x.dirty[name]
	if ok {
		x.missLocked()
	}
	return v, ok
}

// LoadOrStore returns the entry named name, creating it with mk when absent (mk receives the
// index's own copy of the name: the caller's string may alias a buffer that pdata reuses);
// created says whether it did.
func (x *Index[V]) LoadOrStore(name string, mk func(key string) V) (v V, created bool) {
	if v, ok := (*x.read.Load())[name]; ok {
		return v, false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if v, ok := (*x.read.Load())[name]; ok {
		return v, false
	}
	if v, ok := x.dirty[name]; ok {
		x.missLocked()
		return v, false
	}
	x.dirtyLocked()
	key := strings.Clone(name)
	v = mk(key)
	x.dirty[key] = v
	x.amended.Store(true)
	return v, true
}

// DeleteFunc removes every entry for which drop returns true and returns the removed entries.
func (x *Index[V]) DeleteFunc(drop func(name string, v V) bool) []V {
	return x.DeleteNames(func(all map[string]V) []string {
		var names []string
		for name, v := range all {
			if drop(name, v) {
				names = append(names, name)
			}
		}
		return names
	})
}

// DeleteNames removes the entries whose names pick chooses, given every entry, and returns
// them. It works on the index's own writable copy, so that an eviction copies the index at most
// once (and not at all when new names have already made that copy).
func (x *Index[V]) DeleteNames(pick func(all map[string]V) []string) []V {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dirtyLocked()
	return x.deleteLocked(pick(x.dirty))
}

// Delete removes the entries with the given names and returns how many there were.
func (x *Index[V]) Delete(names []string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dirtyLocked()
	return len(x.deleteLocked(names))
}

func (x *Index[V]) deleteLocked(names []string) []V {
	var gone []V
	for _, name := range names {
		if v, ok := x.dirty[name]; ok {
			delete(x.dirty, name)
			gone = append(gone, v)
		}
	}
	x.promoteLocked()
	return gone
}

// Snapshot returns every entry, consistent as of one moment. The map must not be modified.
func (x *Index[V]) Snapshot() map[string]V {
	if !x.amended.Load() {
		return *x.read.Load()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.dirty == nil {
		return *x.read.Load()
	}
	x.promoteLocked()
	return *x.read.Load()
}

func (x *Index[V]) dirtyLocked() {
	if x.dirty != nil {
		return
	}
	// maps.Clone copies the tables wholesale: about twice as fast as re-inserting every entry.
	x.dirty = maps.Clone(*x.read.Load())
}

func (x *Index[V]) missLocked() {
	x.misses++
	if x.misses >= len(x.dirty) {
		x.promoteLocked()
	}
}

func (x *Index[V]) promoteLocked() {
	m := x.dirty
	x.read.Store(&m)
	x.dirty, x.misses = nil, 0
	x.amended.Store(false)
}
