package health

import (
	"strings"
	"sync"
	"sync/atomic"
)

// index maps names to entries for a read-mostly load: every span looks a name up, while new
// names and evictions are rare. Lookups read an immutable snapshot (a plain Go map) with no lock
// and no interface boxing; new names go to a dirty map under a mutex, which replaces the
// snapshot once it has been missed as many times as it holds entries (so the copy costs O(1)
// amortised per miss). This is sync.Map's design specialised to string keys, as the breaker
// extension's target index is: sync.Map would box every key into an interface (an allocation
// per lookup).
type index[V any] struct {
	read    atomic.Pointer[map[string]V]
	amended atomic.Bool // dirty holds names read does not

	mu     sync.Mutex
	dirty  map[string]V // nil, or a copy of read plus the new names
	misses int
}

func newIndex[V any]() *index[V] {
	x := &index[V]{}
	m := map[string]V{}
	x.read.Store(&m)
	return x
}

// load returns the entry named name.
func (x *index[V]) load(name string) (V, bool) {
	if v, ok := (*x.read.Load())[name]; ok {
		return v, true
	}
	if !x.amended.Load() {
		var zero V
		return zero, false
	}
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

// loadOrStore returns the entry named name, creating it with mk when absent (mk receives the
// index's own copy of the name: the caller's string may alias a buffer that pdata reuses);
// created says whether it did.
func (x *index[V]) loadOrStore(name string, mk func(key string) V) (v V, created bool) {
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

// deleteFunc removes every entry for which drop returns true and returns the removed entries.
func (x *index[V]) deleteFunc(drop func(name string, v V) bool) []V {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dirtyLocked()
	var gone []V
	for name, v := range x.dirty {
		if drop(name, v) {
			delete(x.dirty, name)
			gone = append(gone, v)
		}
	}
	x.promoteLocked()
	return gone
}

// snapshot returns every entry, consistent as of one moment. The map must not be modified.
func (x *index[V]) snapshot() map[string]V {
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

func (x *index[V]) dirtyLocked() {
	if x.dirty != nil {
		return
	}
	read := *x.read.Load()
	x.dirty = make(map[string]V, len(read)+1)
	for k, v := range read {
		x.dirty[k] = v
	}
}

func (x *index[V]) missLocked() {
	x.misses++
	if x.misses >= len(x.dirty) {
		x.promoteLocked()
	}
}

func (x *index[V]) promoteLocked() {
	m := x.dirty
	x.read.Store(&m)
	x.dirty, x.misses = nil, 0
	x.amended.Store(false)
}
