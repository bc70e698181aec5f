// Package fanout hands what a component publishes (breaker transitions, status events) to its
// watch streams: at most a set number of subscribers, each reading a buffered channel.
// Publishing never blocks the publisher: a subscriber whose buffer is full misses the item, and
// the miss is counted, for the subscriber and in all.
package fanout

import (
	"sync"
	"sync/atomic"
)

// Subscription is one watch stream's feed; C is closed when the subscription is cancelled or the
// fan-out closes.
type Subscription[T any] struct {
	C       chan T
	dropped atomic.Uint64
}

// Dropped returns how many items this subscription missed because its buffer was full.
func (s *Subscription[T]) Dropped() uint64 { return s.dropped.Load() }

// Fanout is a bounded set of subscriptions. It is safe for concurrent use.
type Fanout[T any] struct {
	max, buffer int
	errClosed   error
	errTooMany  error
	mu          sync.Mutex
	subs        map[*Subscription[T]]struct{}
	closed      bool
	dropped     atomic.Uint64
}

// New returns a fan-out to at most max subscriptions of buffer items each. Subscribe returns
// errClosed once it is closed, and errTooMany when max subscriptions are open.
func New[T any](max, buffer int, errClosed, errTooMany error) *Fanout[T] {
	return &Fanout[T]{max: max, buffer: buffer, errClosed: errClosed, errTooMany: errTooMany, subs: map[*Subscription[T]]struct{}{}}
}

// Subscribe opens a feed; call the returned function to close it.
func (f *Fanout[T]) Subscribe() (*Subscription[T], func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, nil, f.errClosed
	}
	if len(f.subs) >= f.max {
		return nil, nil, f.errTooMany
	}
	s := &Subscription[T]{C: make(chan T, f.buffer)}
	f.subs[s] = struct{}{}
	return s, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[s]; ok {
			delete(f.subs, s)
			close(s.C)
		}
	}, nil
}

// Publish hands each item to every subscription that has room; a full one misses it.
func (f *Fanout[T]) Publish(items ...T) {
	if len(items) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		for _, item := range items {
			select {
			case s.C <- item:
			default:
				s.dropped.Add(1)
				f.dropped.Add(1)
			}
		}
	}
}

// Subscribers returns how many subscriptions are open.
func (f *Fanout[T]) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// Dropped returns how many items the subscriptions missed in all.
func (f *Fanout[T]) Dropped() uint64 { return f.dropped.Load() }

// Close ends every subscription, so the streams reading them return; later subscriptions are
// refused.
func (f *Fanout[T]) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for s := range f.subs {
		delete(f.subs, s)
		close(s.C)
	}
}
