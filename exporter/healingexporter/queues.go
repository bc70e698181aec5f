package healingexporter

import (
	"sort"
	"sync"
	"time"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/engine"
)

// actionQueue is one action's own queue and workers: a hung endpoint fills its own queue and
// holds its own workers, never another action's.
type actionQueue struct {
	name string
	ch   chan queued

	mu      sync.Mutex
	seq     uint64
	pending map[uint64]time.Time // queued or running, by enqueue order, with the enqueue time
}

func newActionQueue(name string, size int) *actionQueue {
	return &actionQueue{name: name, ch: make(chan queued, size), pending: map[uint64]time.Time{}}
}

// queued is a dispatch with its place in the queue's pending set.
type queued struct {
	engine.Dispatch
	id uint64
}

// offer queues d without blocking; false when the queue is full.
func (q *actionQueue) offer(d engine.Dispatch, now time.Time) bool {
	q.mu.Lock()
	q.seq++
	id := q.seq
	q.pending[id] = now
	q.mu.Unlock()
	select {
	case q.ch <- queued{Dispatch: d, id: id}:
		return true
	default:
		q.done(id)
		return false
	}
}

// done removes a dispatch from the pending set.
func (q *actionQueue) done(id uint64) {
	q.mu.Lock()
	delete(q.pending, id)
	q.mu.Unlock()
}

// stats returns the pending count and the enqueue time of the oldest.
func (q *actionQueue) stats() (int, time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var oldest time.Time
	for _, t := range q.pending {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	return len(q.pending), oldest
}

// sortedQueues returns the queues in name order (stable logs and status messages).
func sortedQueues(m map[string]*actionQueue) []*actionQueue {
	out := make([]*actionQueue, 0, len(m))
	for _, q := range m {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
