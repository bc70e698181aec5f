package breaker

// counts are the calls one bucket (or a whole window) saw.
type counts struct {
	calls, failures, timeouts, slow uint64
}

func (c *counts) add(o counts) {
	c.calls += o.calls
	c.failures += o.failures
	c.timeouts += o.timeouts
	c.slow += o.slow
}

func (c *counts) sub(o counts) {
	c.calls -= o.calls
	c.failures -= o.failures
	c.timeouts -= o.timeouts
	c.slow -= o.slow
}

// window is a rolling window of fixed-width time buckets aligned to multiples of the width.
// Buckets are rotated lazily by the calls that record into it, so an idle target costs nothing
// and no goroutine runs per target. sum is kept incrementally: reading the window is O(1).
type window struct {
	buckets []counts
	width   int64 // ns
	head    int   // index of the current bucket
	start   int64 // start time of the current bucket
	sum     counts
}

func newWindow(buckets int, width int64, now int64) window {
	return window{buckets: make([]counts, buckets), width: width, start: now - now%width}
}

// span returns the time the window covers.
func (w *window) span() int64 { return w.width * int64(len(w.buckets)) }

// advance rotates the window to now and calls done with every bucket that completed, oldest
// first (at most one non-empty one: the buckets skipped over were empty).
func (w *window) advance(now int64, done func(c counts, end int64)) {
	if now < w.start+w.width {
		return
	}
	if now-w.start >= w.span()+w.width {
		// Idle for longer than the window: everything in it is stale.
		if w.buckets[w.head].calls > 0 {
			done(w.buckets[w.head], w.start+w.width)
		}
		clear(w.buckets)
		w.sum = counts{}
		w.head = 0
		w.start = now - now%w.width
		return
	}
	for now >= w.start+w.width {
		if done != nil {
			done(w.buckets[w.head], w.start+w.width)
		}
		w.head = (w.head + 1) % len(w.buckets)
		w.sum.sub(w.buckets[w.head])
		w.buckets[w.head] = counts{}
		w.start += w.width
	}
}

// record adds one call to the current bucket.
func (w *window) record(c counts) {
	w.buckets[w.head].add(c)
	w.sum.add(c)
}

// since sums the buckets that started at or after t (the current bucket always counts).
func (w *window) since(t int64) counts {
	if t <= w.start-w.span()+w.width {
		return w.sum
	}
	var s counts
	bStart := w.start
	for i := 0; i < len(w.buckets); i++ {
		idx := (w.head - i + len(w.buckets)) % len(w.buckets)
		if i > 0 && bStart < t {
			break
		}
		s.add(w.buckets[idx])
		bStart -= w.width
	}
	return s
}
