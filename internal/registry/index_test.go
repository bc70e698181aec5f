package registry

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type idxEntry struct{ name string }

func TestIndex(t *testing.T) {
	x := NewIndex[*idxEntry]()
	_, ok := x.Load("a")
	assert.False(t, ok)
	buf := []byte("a")
	a, created := x.LoadOrStore(string(buf), func(key string) *idxEntry { return &idxEntry{name: key} })
	require.True(t, created)
	buf[0] = 'z' // the index keeps its own copy of the name
	got, ok := x.Load("a")
	require.True(t, ok, "found in the dirty map before promotion")
	assert.Same(t, a, got)
	again, created := x.LoadOrStore("a", func(string) *idxEntry { t.Fatal("must not create twice"); return nil })
	assert.False(t, created)
	assert.Same(t, a, again)
	// One miss per dirty entry promotes: then the lock-free path finds it.
	assert.False(t, x.amended.Load())
	_, ok = (*x.read.Load())["a"]
	assert.True(t, ok)

	for i := 0; i < 100; i++ {
		x.LoadOrStore(fmt.Sprint(i), func(key string) *idxEntry { return &idxEntry{name: key} })
	}
	assert.Len(t, x.Snapshot(), 101)
	assert.Equal(t, 2, x.Delete([]string{"a", "5", "missing"}))
	_, ok = x.Load("a")
	assert.False(t, ok)
	_, ok = x.Load("6")
	assert.True(t, ok)
	gone := x.DeleteFunc(func(name string, _ *idxEntry) bool { return len(name) == 1 })
	assert.Len(t, gone, 9) // 0..9 without 5
	assert.Len(t, x.Snapshot(), 90)
}

func TestIndexConcurrent(t *testing.T) {
	x := NewIndex[*idxEntry]()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 2000; i++ {
				name := fmt.Sprint(i % 300)
				got, _ := x.LoadOrStore(name, func(key string) *idxEntry { return &idxEntry{name: key} })
				if got.name != name {
					t.Errorf("got %s for %s", got.name, name)
				}
				if l, ok := x.Load(name); ok && l.name != name {
					t.Errorf("load %s gave %s", name, l.name)
				}
				if i%500 == 0 {
					x.Delete([]string{fmt.Sprint(g)})
					_ = len(x.Snapshot())
				}
			}
		})
	}
	wg.Wait()
	// Every name maps to one entry: a second LoadOrStore never creates.
	for i := 0; i < 300; i++ {
		if _, ok := x.Load(fmt.Sprint(i)); !ok {
			continue // deleted
		}
		_, created := x.LoadOrStore(fmt.Sprint(i), func(string) *idxEntry { return &idxEntry{} })
		assert.False(t, created)
	}
}

// BenchmarkIndexLoad is the index alone, for comparison with BenchmarkLoad (the registry's
// copy of the fast path).
func BenchmarkIndexLoad(b *testing.B) {
	r, names := loaded(1024)
	x := &r.idx
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		x.Load(names[i&1023])
		i++
	}
}
