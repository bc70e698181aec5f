package registry

import (
	"iter"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
)

// Index maps names to entries for a read-mostly load: every span or outcome looks a name up,
// while new names and deletions are rare. Lookups read an immutable snapshot (a plain Go map
// of small slots) with no lock and no interface boxing; new names go to a dirty map under a
// mutex, which replaces the snapshot once it has been missed as many times as it holds entries
// (so the copy costs O(1) amortised per miss). This is sync.Map's design specialised to string
// keys: sync.Map would box every key into an interface (an allocation per lookup).
//
// Deletion is lazy, as in sync.Map: it marks the entry's slot dead (lookups skip it) and drops
// it from the dirty map, without copying anything. The snapshot is rebuilt without its dead
// slots once they exceed 1/deadFraction of it, so a stream of deletions costs O(deadFraction)
// amortised per deletion, however large the index.
type Index[V any] struct {
	read    atomic.Pointer[map[string]*slot[V]]
	amended atomic.Bool // dirty holds names read does not

	mu     sync.Mutex
	dirty  map[string]*slot[V] // nil, or read's live slots plus the new names
	misses int
	dead   atomic.Int64 // dead slots in read (written under mu)

	// serial: the caller serialises every call, so the index is one map updated in place, with
	// no dirty map, no dead slots and no lock on creation (see Options.Serial).
	serial bool
	free   []*slot[V] // a serial index's deleted slots, for reuse (nobody else holds them)
}

// slot holds one entry. v never changes once the slot is published; dead is set once, under
// the index's lock, when the entry is deleted.
type slot[V any] struct {
	v    V
	dead atomic.Bool
}

// maxFree bounds the deleted slots a serial index keeps for reuse.
const maxFree = 1024

// deadFraction: the snapshot is rebuilt once more than 1/deadFraction of its slots are dead.
const deadFraction = 4

// NewIndex returns an empty index.
func NewIndex[V any]() *Index[V] {
	x := &Index[V]{}
	x.init()
	return x
}

func (x *Index[V]) init() {
	m := map[string]*slot[V]{}
	x.read.Store(&m)
}

// Load returns the entry named name.
func (x *Index[V]) Load(name string) (V, bool) {
	if s, ok := (*x.read.Load())[name]; ok && !s.dead.Load() {
		return s.v, true
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
	if s, ok := (*x.read.Load())[name]; ok && !s.dead.Load() {
		return s.v, true
	}
	s, ok := x.dirty[name]
	if !ok {
		var zero V
		return zero, false
	}
	x.missLocked()
	return s.v, true
}

// LoadOrStore returns the entry named name, creating it with mk when absent (mk receives the
// index's own copy of the name: the caller's string may alias a buffer that pdata reuses);
// created says whether it did.
func (x *Index[V]) LoadOrStore(name string, mk func(key string) V) (v V, created bool) {
	if s, ok := (*x.read.Load())[name]; ok && !s.dead.Load() {
		return s.v, false
	}
	if x.serial {
		return x.storeSerial(name, mk), true
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if s, ok := (*x.read.Load())[name]; ok && !s.dead.Load() {
		return s.v, false
	}
	if s, ok := x.dirty[name]; ok {
		x.missLocked()
		return s.v, false
	}
	x.dirtyLocked()
	key := strings.Clone(name)
	s := &slot[V]{v: mk(key)}
	x.dirty[key] = s
	x.amended.Store(true)
	return s.v, true
}

// storeSerial adds the entry named name, absent, to a serial index.
func (x *Index[V]) storeSerial(name string, mk func(key string) V) V {
	key := strings.Clone(name)
	var s *slot[V]
	if n := len(x.free); n > 0 {
		s, x.free = x.free[n-1], x.free[:n-1]
		s.v = mk(key)
	} else {
		s = &slot[V]{v: mk(key)}
	}
	(*x.read.Load())[key] = s
	return s.v
}

// DeleteFunc removes every entry for which drop returns true and returns the removed entries.
func (x *Index[V]) DeleteFunc(drop func(name string, v V) bool) []V {
	x.mu.Lock()
	defer x.mu.Unlock()
	var gone []V
	for name, s := range x.liveLocked() {
		if drop(name, s.v) {
			gone = append(gone, s.v)
			x.deleteLocked(name, s)
		}
	}
	x.compactLocked()
	return gone
}

// DeleteNames removes the entries whose names pick chooses, given every live entry, and returns
// them.
func (x *Index[V]) DeleteNames(pick func(all iter.Seq2[string, V]) []string) []V {
	x.mu.Lock()
	defer x.mu.Unlock()
	names := pick(func(yield func(string, V) bool) {
		for name, s := range x.liveLocked() {
			if !yield(name, s.v) {
				return
			}
		}
	})
	var gone []V
	for _, name := range names {
		if s := x.findLocked(name); s != nil {
			gone = append(gone, s.v)
			x.deleteLocked(name, s)
		}
	}
	x.compactLocked()
	return gone
}

// Delete removes the entries with the given names and returns how many there were.
func (x *Index[V]) Delete(names []string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, name := range names {
		if s := x.findLocked(name); s != nil {
			x.deleteLocked(name, s)
			n++
		}
	}
	x.compactLocked()
	return n
}

// deleteOne removes the entry named name and returns it.
func (x *Index[V]) deleteOne(name string) (V, bool) {
	if !x.serial {
		x.mu.Lock()
		defer x.mu.Unlock()
	}
	s := x.findLocked(name)
	if s == nil {
		var zero V
		return zero, false
	}
	v := s.v
	x.deleteLocked(name, s)
	x.compactLocked()
	return v, true
}

// findLocked returns the live slot named name, or nil.
func (x *Index[V]) findLocked(name string) *slot[V] {
	if x.dirty != nil {
		return x.dirty[name] // every live slot is in dirty
	}
	if s, ok := (*x.read.Load())[name]; ok && !s.dead.Load() {
		return s
	}
	return nil
}

// liveLocked iterates over every live slot (the caller may delete the current one).
func (x *Index[V]) liveLocked() iter.Seq2[string, *slot[V]] {
	return func(yield func(string, *slot[V]) bool) {
		m := x.dirty
		if m == nil {
			m = *x.read.Load()
		}
		for name, s := range m {
			if !s.dead.Load() && !yield(name, s) {
				return
			}
		}
	}
}

// deleteLocked marks s, the live slot named name, dead and drops it from the dirty map; the
// caller calls compactLocked once it is done deleting.
func (x *Index[V]) deleteLocked(name string, s *slot[V]) {
	if x.serial {
		delete(*x.read.Load(), name)
		var zero V
		s.v = zero // the entry may go
		if len(x.free) < maxFree {
			x.free = append(x.free, s)
		}
		return
	}
	s.dead.Store(true)
	if x.dirty != nil {
		delete(x.dirty, name)
	}
	if (*x.read.Load())[name] == s {
		x.dead.Add(1)
	}
}

// compactLocked rebuilds the snapshot without its dead slots once they exceed 1/deadFraction
// of it: by promoting the dirty map (which holds none) or, when there is none, by a copy.
func (x *Index[V]) compactLocked() {
	if d := int(x.dead.Load()); d == 0 || d*deadFraction <= len(*x.read.Load()) {
		return
	}
	x.dirtyLocked()
	x.promoteLocked()
}

// Len returns how many live entries the index holds.
func (x *Index[V]) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.dirty != nil {
		return len(x.dirty)
	}
	return len(*x.read.Load()) - int(x.dead.Load())
}

// View is an index's entries as of one moment: an immutable map, read without a lock. The
// entries' own state is live.
type View[V any] struct{ m map[string]*slot[V] }

// Get returns the entry named name.
func (v View[V]) Get(name string) (V, bool) {
	s, ok := v.m[name]
	if !ok {
		var zero V
		return zero, false
	}
	return s.v, true
}

// Len returns how many entries the view holds.
func (v View[V]) Len() int { return len(v.m) }

// All iterates over the view's entries.
func (v View[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for name, s := range v.m {
			if !yield(name, s.v) {
				return
			}
		}
	}
}

// View returns the entries as of now. It copies nothing unless entries were deleted since the
// last view or rebuild (then the snapshot is rebuilt without them, once).
func (x *Index[V]) View() View[V] {
	if !x.amended.Load() {
		if x.dead.Load() == 0 {
			return View[V]{*x.read.Load()}
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.dirty != nil || x.dead.Load() > 0 {
		x.dirtyLocked()
		x.promoteLocked()
	}
	return View[V]{*x.read.Load()}
}

// All iterates over every entry as of one moment (see View).
func (x *Index[V]) All() iter.Seq2[string, V] { return x.View().All() }

// Snapshot returns a copy of every entry, consistent as of one moment. It allocates the map:
// use View where a copy is not needed.
func (x *Index[V]) Snapshot() map[string]V {
	return maps.Collect(x.All())
}

// dirtyLocked makes the dirty map, from the snapshot's live slots, when there is none.
func (x *Index[V]) dirtyLocked() {
	if x.dirty != nil {
		return
	}
	read := *x.read.Load()
	if x.dead.Load() == 0 {
		// maps.Clone copies the tables wholesale: about twice as fast as re-inserting every entry.
		x.dirty = maps.Clone(read)
		return
	}
	x.dirty = make(map[string]*slot[V], len(read)-int(x.dead.Load())+1)
	for name, s := range read {
		if !s.dead.Load() {
			x.dirty[name] = s
		}
	}
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
	x.dead.Store(0)
	x.amended.Store(false)
}
