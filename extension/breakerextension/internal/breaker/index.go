package breaker

import (
	"sync"
	"sync/atomic"
)

// index maps target names to targets for a read-mostly load: every outcome and decision looks
// a name up, while new names and evictions are rare. Lookups read an immutable snapshot (a
// plain Go map) with no lock and no interface boxing; new names go to a dirty map under a
// mutex, which replaces the snapshot once it has been missed as many times as it holds entries
// (so the copy costs O(1) amortised per miss). This is sync.Map's design, specialised to
// string keys: it halves the lookup, the largest cost of recording an outcome.
type index struct {
	read    atomic.Pointer[map[string]*target]
	amended atomic.Bool // dirty holds names read does not

	mu     sync.Mutex
	dirty  map[string]*target // nil, or a copy of read plus the new names
	misses int
}

func newIndex() *index {
	x := &index{}
	m := map[string]*target{}
	x.read.Store(&m)
	return x
}

// load returns the target named name, or nil.
func (x *index) load(name string) *target {
	if t, ok := (*x.read.Load())[name]; ok {
		return t
	}
	if !x.amended.Load() {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if t, ok := (*x.read.Load())[name]; ok {
		return t
	}
	t, ok := x.dirty[name]
	if ok {
		x.missLocked()
	}
	return t
}

// loadOrStore returns the target named name, creating it with mk when absent; created says
// whether it did.
func (x *index) loadOrStore(name string, mk func() *target) (t *target, created bool) {
	if t, ok := (*x.read.Load())[name]; ok {
		return t, false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if t, ok := (*x.read.Load())[name]; ok {
		return t, false
	}
	if t, ok := x.dirty[name]; ok {
		x.missLocked()
		return t, false
	}
	x.dirtyLocked()
	t = mk()
	// Keyed by the target's own copy of the name: the caller's string may alias a buffer it reuses.
	x.dirty[t.name] = t
	x.amended.Store(true)
	return t, true
}

// deleteAll removes names and reports how many were present.
func (x *index) deleteAll(names []string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dirtyLocked()
	n := 0
	for _, name := range names {
		if _, ok := x.dirty[name]; ok {
			delete(x.dirty, name)
			n++
		}
	}
	x.promoteLocked()
	return n
}

// snapshot returns every target (name and target), consistent as of one moment.
func (x *index) snapshot() map[string]*target {
	if !x.amended.Load() {
		return *x.read.Load()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.dirty == nil {
		return *x.read.Load()
	}
	// Promote, so the snapshot is immutable like every read map.
	x.promoteLocked()
	return *x.read.Load()
}

func (x *index) dirtyLocked() {
	if x.dirty != nil {
		return
	}
	read := *x.read.Load()
	x.dirty = make(map[string]*target, len(read)+1)
	for k, v := range read {
		x.dirty[k] = v
	}
}

func (x *index) missLocked() {
	x.misses++
	if x.misses >= len(x.dirty) {
		x.promoteLocked()
	}
}

func (x *index) promoteLocked() {
	m := x.dirty
	x.read.Store(&m)
	x.dirty, x.misses = nil, 0
	x.amended.Store(false)
}
