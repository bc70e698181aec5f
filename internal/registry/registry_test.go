package registry

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want NameProblem
	}{
		{"payments", NameOK},
		{"café-☕", NameOK},
		{"a b/c:d", NameOK},
		{"", NameEmpty},
		{strings.Repeat("a", 17), NameTooLong},
		{"a\nb", NameInvalid},
		{"a\x00", NameInvalid},
		{"a\x7f", NameInvalid},
		{"a\u0085b", NameInvalid}, // C1 NEL: refused everywhere, not only by some components
		{"a\u009fb", NameInvalid},
		{"\xff", NameInvalid},
		{"a\xc3", NameInvalid},
		{"\uFFFD", NameOK},        // the replacement character itself is a valid rune
		{"a\u202Eb", NameInvalid}, // right-to-left override: reads as another name
		{"\u2066x", NameInvalid},
		{"a\u200fb", NameInvalid},
		{" ", NameBlank},
		{"  \u00a0\u3000", NameBlank},
		{".", NameBlank},
		{"..", NameBlank},
		{"...", NameOK},
		{" a ", NameOK},
	} {
		assert.Equal(t, tc.want, CheckName(tc.name, 16), "%q", tc.name)
	}
	assert.NoError(t, ValidName("payments", 8))
	assert.ErrorIs(t, ValidName("", 8), ErrEmptyName)
	assert.ErrorIs(t, ValidName("a\u0085", 8), ErrInvalidName)
	assert.ErrorIs(t, ValidName("..", 8), ErrBlankName)
	err := ValidName(strings.Repeat("a", 9), 8)
	require.ErrorIs(t, err, ErrNameTooLong)
	assert.EqualError(t, err, "name is too long (9 bytes, at most 8)")
	assert.NoError(t, NameOK.Err())
}

// FuzzCheckName holds CheckName to the rule written out rune by rune.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"", "a", "a\nb", "a\u0085", "\xff", "café"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := NameOK
		switch {
		case s == "":
			want = NameEmpty
		case len(s) > 16:
			want = NameTooLong
		case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) }):
			want = NameInvalid
		case !utf8.ValidString(s):
			want = NameInvalid
		case strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }):
			want = NameInvalid
		case strings.TrimFunc(s, unicode.IsSpace) == "" || s == "." || s == "..":
			want = NameBlank
		}
		if got := CheckName(s, 16); got != want {
			t.Fatalf("CheckName(%q) = %d, want %d", s, got, want)
		}
	})
}

type entry struct {
	name   string
	seen   atomic.Int64
	pinned atomic.Bool
}

func newEntry(key string) *entry { return &entry{name: key} }

func newTestRegistry(capacity int, evicted *[]string) *Registry[*entry] {
	return New(Options[*entry]{
		Cap:           capacity,
		MaxNameLength: 16,
		Seen:          func(e *entry) int64 { return e.seen.Load() },
		Pinned:        func(e *entry) bool { return e.pinned.Load() },
		OnEvict: func(e *entry) {
			if evicted != nil {
				*evicted = append(*evicted, e.name)
			}
		},
	})
}

func TestGetChecksNames(t *testing.T) {
	r := newTestRegistry(8, nil)
	for name, want := range map[string]error{
		"": ErrEmptyName, strings.Repeat("x", 17): ErrNameTooLong, "a\u0085": ErrInvalidName,
	} {
		_, err := r.Get(name, newEntry)
		assert.Equal(t, want, err, "%q", name) // the sentinel itself: comparable without allocating
	}
	assert.Equal(t, 0, r.Len())
	buf := []byte("a")
	a, err := r.Get(string(buf), newEntry)
	require.NoError(t, err)
	buf[0] = 'z' // the registry keeps its own copy of the name
	got, ok := r.Load("a")
	require.True(t, ok)
	assert.Same(t, a, got)
	again, err := r.Get("a", func(string) *entry { t.Fatal("must not create twice"); return nil })
	require.NoError(t, err)
	assert.Same(t, a, again)
	assert.Equal(t, 1, r.Len())
}

func TestEvictionOldestFirst(t *testing.T) {
	var evicted []string
	r := newTestRegistry(128, &evicted)
	for i := 0; i < 128; i++ {
		e, err := r.Get(fmt.Sprintf("e-%03d", i), newEntry)
		require.NoError(t, err)
		e.seen.Store(int64(1000 - i)) // e-127 is the oldest
	}
	// The three oldest are pinned: eviction passes them by.
	for i := 125; i < 128; i++ {
		e, _ := r.Load(fmt.Sprintf("e-%03d", i))
		e.pinned.Store(true)
	}
	n, err := r.Get("newcomer", newEntry)
	require.NoError(t, err)
	n.seen.Store(2000)
	// Over the cap by one: the oldest unpinned 1 + 128/64 = 3 go, which are e-122..124.
	assert.Equal(t, 126, r.Len())
	assert.Equal(t, uint64(3), r.Evicted())
	slices.Sort(evicted)
	assert.Equal(t, []string{"e-122", "e-123", "e-124"}, evicted)
	assert.Len(t, r.Snapshot(), 126)
	_, ok := r.Load("newcomer")
	assert.True(t, ok)
}

func TestEvictionTiesAtTheCut(t *testing.T) {
	r := newTestRegistry(64, nil)
	for i := 0; i < 65; i++ {
		_, err := r.Get(fmt.Sprint(i), newEntry) // all seen at 0
		require.NoError(t, err)
	}
	assert.Equal(t, 63, r.Len(), "exactly 1 + 64/64 go although all share one time")
}

func TestFullOfPinnedEntries(t *testing.T) {
	r := newTestRegistry(4, nil)
	for i := 0; i < 4; i++ {
		e, err := r.Get(fmt.Sprint(i), newEntry)
		require.NoError(t, err)
		e.pinned.Store(true)
	}
	_, err := r.Get("new", newEntry)
	assert.Equal(t, ErrFull, err)
	assert.Equal(t, 4, r.Len())
	_, ok := r.Load("new")
	assert.False(t, ok)
	assert.Equal(t, uint64(0), r.Evicted())
	// Once one is unpinned, a newcomer takes its place.
	e, _ := r.Load("2")
	e.pinned.Store(false)
	_, err = r.Get("new", newEntry)
	require.NoError(t, err)
	assert.Equal(t, 4, r.Len())
	_, ok = r.Load("2")
	assert.False(t, ok)
}

func TestDeleteFuncCounts(t *testing.T) {
	r := newTestRegistry(100, nil)
	for i := 0; i < 20; i++ {
		_, err := r.Get(fmt.Sprint(i), newEntry)
		require.NoError(t, err)
	}
	gone := r.DeleteFunc(func(name string, _ *entry) bool { return len(name) == 1 })
	assert.Len(t, gone, 10)
	assert.Equal(t, 10, r.Len())
	assert.Equal(t, uint64(0), r.Evicted(), "expiry is not eviction")
}

func TestChurnStaysWithinTheCap(t *testing.T) {
	r := newTestRegistry(64, nil)
	var wg sync.WaitGroup
	var clock atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				e, err := r.Get(fmt.Sprintf("g%d-%d", g, i), newEntry)
				if err != nil {
					t.Error(err)
					return
				}
				e.seen.Store(clock.Add(1))
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, r.Len(), 64)
	assert.Equal(t, r.Len(), len(r.Snapshot()))
	assert.Equal(t, uint64(20000), r.Evicted()+uint64(r.Len()))
}

func TestNthSmallest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 200; n++ {
		v := make([]int64, n)
		for i := range v {
			v[i] = rng.Int64N(int64(n)) // with ties
		}
		sorted := slices.Clone(v)
		slices.Sort(sorted)
		k := rng.IntN(n)
		c := make([]candidate, n)
		for i := range v {
			c[i] = candidate{fmt.Sprint(i), v[i]}
		}
		selectSmallest(c, k)
		assert.Equal(t, sorted[k], c[k].seen, "n=%d k=%d", n, k)
		for _, x := range c[:k] {
			assert.LessOrEqual(t, x.seen, c[k].seen)
		}
	}
}

func TestLoadDoesNotAllocate(t *testing.T) {
	r := newTestRegistry(16, nil)
	_, err := r.Get("payments", newEntry)
	require.NoError(t, err)
	for range 16 {
		r.Load("payments") // promote to the snapshot
	}
	name := strings.Clone("payments")
	assert.Zero(t, testing.AllocsPerRun(100, func() { r.Load(name) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = r.Get(name, newEntry) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { r.Load("unknown") }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = r.Get("a\nb", newEntry) }))
}

// loaded returns a registry holding n names, all in its snapshot, and the names.
func loaded(n int) (*Registry[*entry], []string) {
	r := newTestRegistry(n, nil)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("service-%d", i)
		_, _ = r.Get(names[i], newEntry)
	}
	r.Snapshot() // promote
	return r, names
}

func BenchmarkLoad(b *testing.B) {
	r, names := loaded(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Load(names[i&1023])
		i++
	}
}

func BenchmarkLoadParallel(b *testing.B) {
	r, names := loaded(1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.Load(names[i&1023])
			i++
		}
	})
}

// BenchmarkNewNamesAtCap is a stream of never-seen names through a full registry: creation,
// insertion and the amortised eviction.
func BenchmarkNewNamesAtCap(b *testing.B) {
	r := newTestRegistry(10_000, nil)
	names := make([]string, 1<<16)
	for i := range names {
		names[i] = fmt.Sprintf("new-%d", i)
	}
	var clock int64
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e, err := r.Get(names[i&(1<<16-1)], newEntry)
		if err == nil {
			clock++
			e.seen.Store(clock)
		}
		i++
	}
}

func BenchmarkCheckName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		CheckName("checkout.payments-api:8443", DefaultMaxNameLength)
	}
}

func TestAll(t *testing.T) {
	r := newTestRegistry(8, nil)
	for _, n := range []string{"a", "b", "c"} {
		_, err := r.Get(n, newEntry)
		require.NoError(t, err)
	}
	var names []string
	for name, e := range r.All() {
		assert.Equal(t, name, e.name)
		names = append(names, name)
	}
	slices.Sort(names)
	assert.Equal(t, []string{"a", "b", "c"}, names)
	n := 0
	for range r.All() {
		n++
		break
	}
	assert.Equal(t, 1, n)
}

// TestOldestPicksExactlyN (moved here with the eviction from the health engine).
func TestOldestPicksExactlyN(t *testing.T) {
	r := newTestRegistry(1000, nil)
	all := map[string]*entry{}
	for i := range 100 {
		e := &entry{name: fmt.Sprint(i)}
		e.seen.Store(int64(i / 10)) // ten at each time
		all[e.name] = e
	}
	for _, n := range []int{0, 1, 9, 10, 11, 55, 100, 150} {
		names := r.oldest(maps.All(all), "", n)
		picked, maxAt := len(names), int64(-1)
		for _, name := range names {
			maxAt = max(maxAt, all[name].seen.Load())
		}
		assert.Equal(t, min(n, 100), picked, "n=%d", n)
		if n > 0 && n < 100 {
			assert.Equal(t, int64((n-1)/10), maxAt, "only the oldest, n=%d", n)
		}
	}
}

func BenchmarkLoadMissing(b *testing.B) {
	r, _ := loaded(16)
	b.ReportAllocs()
	for b.Loop() {
		r.Load("never-seen")
	}
}

func TestDeleteOne(t *testing.T) {
	r := newTestRegistry(8, nil)
	a, err := r.Get("a", newEntry)
	require.NoError(t, err)
	got, ok := r.Delete("a")
	require.True(t, ok)
	assert.Same(t, a, got)
	assert.Zero(t, r.Len())
	_, ok = r.Load("a")
	assert.False(t, ok)
	_, ok = r.Delete("a")
	assert.False(t, ok, "a second delete finds nothing")
	again, err := r.Get("a", newEntry)
	require.NoError(t, err)
	assert.NotSame(t, a, again, "a deleted name comes back as a new entry")
	assert.Zero(t, r.Evicted())
}

func TestGetPinnedKeepsTheNewcomerOverTheCap(t *testing.T) {
	r := newTestRegistry(2, nil)
	for _, n := range []string{"a", "b"} {
		e, err := r.Get(n, newEntry)
		require.NoError(t, err)
		e.pinned.Store(true)
	}
	_, err := r.Get("c", newEntry)
	require.ErrorIs(t, err, ErrFull)
	d, err := r.GetPinned("d", newEntry)
	require.NoError(t, err)
	assert.Equal(t, "d", d.name)
	assert.Equal(t, 3, r.Len(), "kept over the cap")
	got, ok := r.Load("d")
	assert.True(t, ok)
	assert.Same(t, d, got)
}

// TestLazyDeletionCompacts: deleting most entries one by one leaves lookups right and the
// snapshot rebuilt without its dead slots.
func TestLazyDeletionCompacts(t *testing.T) {
	x := NewIndex[*idxEntry]()
	for i := range 1000 {
		x.LoadOrStore(fmt.Sprint(i), func(key string) *idxEntry { return &idxEntry{name: key} })
	}
	x.View() // promote
	for i := range 900 {
		require.Equal(t, 1, x.Delete([]string{fmt.Sprint(i)}))
		_, ok := x.Load(fmt.Sprint(i))
		require.False(t, ok)
	}
	assert.Equal(t, 100, x.Len())
	// At most 1/deadFraction of the snapshot is dead: live*deadFraction/(deadFraction-1).
	assert.LessOrEqual(t, len(*x.read.Load()), 100*deadFraction/(deadFraction-1)+1, "dead slots do not pile up")
	v := x.View()
	assert.Equal(t, 100, v.Len())
	for name, e := range v.All() {
		assert.Equal(t, name, e.name)
	}
}

// TestSerial: a registry whose caller serialises every call keeps the same cap, eviction order,
// pinning and deletion.
func TestSerial(t *testing.T) {
	var evicted []string
	r := New(Options[*entry]{
		Cap: 4, Serial: true,
		Seen:    func(e *entry) int64 { return e.seen.Load() },
		Pinned:  func(e *entry) bool { return e.pinned.Load() },
		OnEvict: func(e *entry) { evicted = append(evicted, e.name) },
	})
	for i, n := range []string{"a", "b", "c", "d"} {
		e, err := r.Get(n, newEntry)
		require.NoError(t, err)
		e.seen.Store(int64(i))
	}
	a, _ := r.Load("a")
	a.pinned.Store(true)
	_, err := r.Get("e", newEntry)
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, evicted, "the least recently seen unpinned one")
	assert.Equal(t, 4, r.Len())
	_, ok := r.Delete("c")
	assert.True(t, ok)
	_, ok = r.Load("c")
	assert.False(t, ok)
	assert.Equal(t, 3, r.Len())
	assert.Len(t, r.Snapshot(), 3)
	_, err = r.Get("a\n", newEntry)
	assert.ErrorIs(t, err, ErrInvalidName)
}

// TestGetOfANameOnTheStackDoesNotAllocate: Get does not make its name escape, so a caller may
// build a name in a stack buffer (the breaker's caller→target keys) without an allocation.
func TestGetOfANameOnTheStackDoesNotAllocate(t *testing.T) {
	r := newTestRegistry(8, nil)
	_, err := r.Get("known", newEntry)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		var buf [16]byte
		b := append(buf[:0], "known"...)
		_, _ = r.Get(unsafe.String(&b[0], len(b)), newEntry)
	})
	assert.Zero(t, allocs)
}
