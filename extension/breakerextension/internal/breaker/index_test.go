package breaker

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIndex(t *testing.T) {
	x := newIndex()
	assert.Nil(t, x.load("a"))
	a, created := x.loadOrStore("a", func() *target { return &target{name: "a"} })
	require.True(t, created)
	assert.Same(t, a, x.load("a"), "found in the dirty map before promotion")
	again, created := x.loadOrStore("a", func() *target { t.Fatal("must not create twice"); return nil })
	assert.False(t, created)
	assert.Same(t, a, again)
	// One miss per dirty entry promotes: then the lock-free path finds it.
	assert.False(t, x.amended.Load())
	_, ok := (*x.read.Load())["a"]
	assert.True(t, ok)

	for i := 0; i < 100; i++ {
		name := fmt.Sprint(i)
		x.loadOrStore(name, func() *target { return &target{name: name} })
	}
	assert.Len(t, x.snapshot(), 101)
	assert.Equal(t, 2, x.deleteAll([]string{"a", "5", "missing"}))
	assert.Nil(t, x.load("a"))
	assert.Nil(t, x.load("5"))
	assert.NotNil(t, x.load("6"))
	assert.Len(t, x.snapshot(), 99)
}

func TestIndexConcurrent(t *testing.T) {
	x := newIndex()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 2000; i++ {
				name := fmt.Sprint(i % 300)
				got, _ := x.loadOrStore(name, func() *target { return &target{name: name} })
				if got.name != name {
					t.Errorf("got %s for %s", got.name, name)
				}
				if l := x.load(name); l != nil && l.name != name {
					t.Errorf("load %s gave %s", name, l.name)
				}
				if i%500 == 0 {
					x.deleteAll([]string{fmt.Sprint(g)})
					_ = len(x.snapshot())
				}
			}
		})
	}
	wg.Wait()
	// Every name maps to one target: a second loadOrStore never creates.
	for i := 0; i < 300; i++ {
		if x.load(fmt.Sprint(i)) == nil {
			continue // deleted
		}
		_, created := x.loadOrStore(fmt.Sprint(i), func() *target { return &target{} })
		assert.False(t, created)
	}
}
