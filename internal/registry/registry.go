// Package registry is Vigil's one bounded set of names: the breaker's targets, the health
// engine's components and hosts, the predict processor's series, the healing exporter's
// incidents, and any other set of names that arrives from telemetry and must stay within a cap. It gives one name rule (CheckName, also used by config checks), a cap and
// count, amortised oldest-first eviction, and pinning of entries that must never be evicted.
//
// Lookups of known names take no lock and allocate nothing: they read an immutable snapshot
// (Index). New names, eviction and expiry take a lock; they are rare next to lookups.
package registry

import (
	"errors"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
)

// EvictFraction: past its cap, a registry evicts what is over it plus 1/EvictFraction of the cap
// at once, so that a stream of never-seen names costs O(EvictFraction) amortised per name (one
// snapshot walk, one selection and one index copy per eviction) rather than O(cap).
const EvictFraction = 64

// ErrFull is returned for a new name when the registry is at its cap and every entry is pinned.
var ErrFull = errors.New("registry is full: every entry is pinned")

// Options of a registry. Seen is required; the other functions are optional.
type Options[V any] struct {
	// Cap is the most entries kept (at least 1); past it the least recently seen go.
	Cap int
	// MaxNameLength caps a name in bytes (CheckName); 0 means DefaultMaxNameLength.
	MaxNameLength int
	// Seen returns an entry's last-seen time (any monotonic unit): eviction takes the smallest.
	Seen func(V) int64
	// Pinned, if set, reports entries eviction must skip (an operator override, an open
	// breaker). Pinned entries still count towards the cap.
	Pinned func(V) bool
	// OnEvict, if set, is called for every entry evicted past the cap, under the registry's
	// eviction lock (it must not call back into the registry).
	OnEvict func(V)
	// Serial says the caller serialises every call (one goroutine at a time, as the healing
	// engine under its exporter's lock): the registry then keeps one map, updated in place, and
	// creation and deletion cost a map write each rather than a lock and a snapshot's upkeep.
	Serial bool
}

// Registry is a bounded, concurrent map from names to entries of type V (usually pointers).
type Registry[V any] struct {
	idx     Index[V]
	opt     Options[V]
	count   atomic.Int64
	evictMu sync.Mutex
	evicted atomic.Uint64
}

// New returns an empty registry with options o.
func New[V any](o Options[V]) *Registry[V] {
	if o.Cap < 1 {
		o.Cap = 1
	}
	if o.MaxNameLength <= 0 {
		o.MaxNameLength = DefaultMaxNameLength
	}
	if o.Seen == nil {
		panic("registry: Options.Seen is required")
	}
	r := &Registry[V]{opt: o}
	r.idx.init()
	r.idx.serial = o.Serial
	return r
}

// Load returns the entry named name, without a lock or an allocation. It repeats Index.Load's
// body rather than calling it: a generic method is not inlined, and this is the hot path of
// every span and every breaker decision.
func (r *Registry[V]) Load(name string) (V, bool) {
	if s, ok := (*r.idx.read.Load())[name]; ok && !s.dead.Load() {
		return s.v, true
	}
	if !r.idx.amended.Load() {
		var zero V
		return zero, false
	}
	return r.idx.loadDirty(name)
}

// Get returns the entry named name, creating it with mk when absent (mk receives the registry's
// own copy of the name: the caller's string may alias a buffer that pdata reuses). A new name
// must pass CheckName (else ErrEmptyName, ErrNameTooLong or ErrInvalidName, unwrapped, so that
// callers may compare without allocating); past the cap the least recently seen unpinned
// entries are evicted, and when every entry is pinned the new one is refused with ErrFull.
func (r *Registry[V]) Get(name string, mk func(key string) V) (V, error) {
	return r.get(name, mk, false)
}

// GetPinned is Get for an entry that is pinned from its creation: when every other entry is
// pinned too, the new one is kept over the cap (the count exceeds the cap until entries are
// deleted) rather than refused. It is for state that must never be forgotten, such as a replayed
// incident that already acted.
func (r *Registry[V]) GetPinned(name string, mk func(key string) V) (V, error) {
	return r.get(name, mk, true)
}

func (r *Registry[V]) get(name string, mk func(key string) V, keep bool) (V, error) {
	// The snapshot alone: a name still in the dirty map is found by LoadOrStore, under the lock
	// that a creation takes anyway.
	if s, ok := (*r.idx.read.Load())[name]; ok && !s.dead.Load() {
		return s.v, nil
	}
	if p := CheckName(name, r.opt.MaxNameLength); p != NameOK {
		var zero V
		return zero, p.Err()
	}
	var v V
	created := true
	if r.opt.Serial {
		v = r.idx.storeSerial(name, mk) // absent: the snapshot is the whole index
	} else {
		v, created = r.idx.LoadOrStore(name, mk)
	}
	if created && r.count.Add(1) > int64(r.opt.Cap) && !r.evict(name, keep) {
		var zero V
		return zero, ErrFull
	}
	return v, nil
}

// Delete removes the entry named name and returns it; it does not count as evicted.
func (r *Registry[V]) Delete(name string) (V, bool) {
	v, ok := r.idx.deleteOne(name)
	if ok {
		r.count.Add(-1)
	}
	return v, ok
}

// Len returns how many entries the registry holds.
func (r *Registry[V]) Len() int { return int(r.count.Load()) }

// Cap returns the registry's cap.
func (r *Registry[V]) Cap() int { return r.opt.Cap }

// Evicted returns how many entries were evicted past the cap.
func (r *Registry[V]) Evicted() uint64 { return r.evicted.Load() }

// Snapshot returns a copy of every entry, consistent as of one moment; it allocates the map.
func (r *Registry[V]) Snapshot() map[string]V { return r.idx.Snapshot() }

// View returns the entries as of now, without a copy (see Index.View).
func (r *Registry[V]) View() View[V] { return r.idx.View() }

// All iterates over every entry as of one moment (the entries' own state is live).
func (r *Registry[V]) All() iter.Seq2[string, V] { return r.idx.All() }

// DeleteFunc removes every entry for which drop returns true (expiry) and returns them; they do
// not count as evicted.
func (r *Registry[V]) DeleteFunc(drop func(name string, v V) bool) []V {
	gone := r.idx.DeleteFunc(drop)
	r.count.Add(-int64(len(gone)))
	return gone
}

// evict removes the least recently seen unpinned entries until the registry is within its cap,
// plus 1/EvictFraction of the cap, sparing the newcomer that brought it over the cap. When that
// is not enough (every other entry is pinned), the newcomer goes too, unless keep, and evict
// reports false.
func (r *Registry[V]) evict(newcomer string, keep bool) bool {
	// Only reached past the cap; whoever waits here finds the count back under it and returns.
	r.evictMu.Lock()
	defer r.evictMu.Unlock()
	over := r.count.Load() - int64(r.opt.Cap)
	if over <= 0 {
		return true
	}
	n := int(over) + r.opt.Cap/EvictFraction
	gone := r.idx.DeleteNames(func(all iter.Seq2[string, V]) []string { return r.oldest(all, newcomer, n) })
	r.count.Add(-int64(len(gone)))
	r.evicted.Add(uint64(len(gone)))
	if r.opt.OnEvict != nil {
		for _, v := range gone {
			r.opt.OnEvict(v)
		}
	}
	if int64(len(gone)) >= over || keep {
		return true
	}
	if r.idx.Delete([]string{newcomer}) > 0 {
		r.count.Add(-1)
	}
	return false
}

func (r *Registry[V]) pinned(v V) bool { return r.opt.Pinned != nil && r.opt.Pinned(v) }

// candidate is an entry eviction may take, with its last-seen time.
type candidate struct {
	name string
	seen int64
}

// oldest returns the names of the n least recently seen candidates of all (not pinned, not the
// newcomer); among entries seen at the same time, any. One pass over all, then a selection in
// O(len(all)) on average.
func (r *Registry[V]) oldest(all iter.Seq2[string, V], newcomer string, n int) []string {
	if n <= 0 {
		return nil
	}
	cands := make([]candidate, 0, r.Len())
	for name, v := range all {
		if !r.pinned(v) {
			cands = append(cands, candidate{name, r.opt.Seen(v)})
		}
	}
	// The newcomer is left out here rather than in the loop above: the loop's body is a closure
	// handed to all, and capturing newcomer there would make every caller's name escape to the
	// heap (a name built on the caller's stack would cost an allocation per lookup).
	cands = slices.DeleteFunc(cands, func(c candidate) bool { return c.name == newcomer })
	if n < len(cands) {
		selectSmallest(cands, n-1)
		cands = cands[:n]
	}
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = c.name
	}
	return names
}

// selectSmallest reorders v so that v[k] holds the k-th smallest last-seen time (0-based) and
// v[:k] the smaller or equal ones: quickselect with a median-of-three pivot, O(len(v)) on
// average.
func selectSmallest(v []candidate, k int) {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// Median of three to the middle.
		if v[mid].seen < v[lo].seen {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi].seen < v[lo].seen {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi].seen < v[mid].seen {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid].seen
		i, j := lo, hi
		for i <= j {
			for v[i].seen < pivot {
				i++
			}
			for v[j].seen > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}
