package vigilbreaker

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// The local slow-call rule learns what is normal for each target from this application's own
// calls, as Vigil does from spans: the slow threshold is slowMultiplier × the learned
// slowQuantile of latency (Vigil's defaults, 1.5 × p95), known once priorCalls successes are
// learned; the slow rate it learns starts from Vigil's prior (1 - slowQuantile over priorCalls).
// Nothing here is a latency a user must pick.
const (
	slowQuantile   = 0.95
	slowMultiplier = 1.5
)

// Latencies are counted in log-linear buckets: latSub per power of two from 2^latMinBits ns
// (about 1 µs) to 2^latMaxBits ns (about 18 minutes), so a bucket is 12-25% wide: ample for a
// threshold at 1.5 × a quantile.
const (
	latSub     = 4
	latMinBits = 10
	latMaxBits = 40
	latBuckets = (latMaxBits - latMinBits) * latSub
)

// latBucket is the bucket of a latency in nanoseconds.
func latBucket(ns int64) int {
	if ns < 1<<latMinBits {
		return 0
	}
	b := bits.Len64(uint64(ns)) - 1 // ns is in [2^b, 2^(b+1))
	sub := int(uint64(ns)>>(b-2)) & (latSub - 1)
	return min((b-latMinBits)*latSub+sub, latBuckets-1)
}

// latUpper is the upper bound of bucket i in nanoseconds.
func latUpper(i int) int64 {
	b := i/latSub + latMinBits
	return int64(1)<<b + int64(i%latSub+1)<<(b-2)
}

// latencies is one target's latency learning: this tick's counts (atomics, added by Done) and
// the decayed counts learned from healthy ticks (guarded by the entry's mu).
type latencies struct {
	tick    [latBuckets]atomic.Uint64
	learned [latBuckets]float64
	total   float64
}

// fold moves this tick's counts into the learned ones (decayed first) when learn is true, and
// clears them either way.
func (l *latencies) fold(decay float64, learn bool) {
	if learn {
		l.total *= decay
	}
	for i := range l.tick {
		n := l.tick[i].Swap(0)
		if !learn {
			continue
		}
		l.learned[i] = l.learned[i]*decay + float64(n)
		l.total += float64(n)
	}
}

// threshold is the slow threshold in nanoseconds: slowMultiplier × the learned slowQuantile;
// 0 until priorCalls latencies are learned.
func (l *latencies) threshold() int64 {
	if l.total < priorCalls {
		return 0
	}
	want, seen := slowQuantile*l.total, 0.0
	for i, n := range l.learned {
		if seen += n; seen >= want {
			return int64(math.Ceil(slowMultiplier * float64(latUpper(i))))
		}
	}
	return int64(math.Ceil(slowMultiplier * float64(latUpper(latBuckets-1))))
}

// observe notes a successful call's latency for the learning and the runs: a call that started
// after the current run of failures (or of slow calls) began ends it, one that started before
// says nothing about it (calls in flight when an outage starts answer late, and successfully).
// It reports whether the run of slow calls is now long enough to open: as unlikely by chance as
// the failure run, and at least a learning tick long, since a pause of the host or of the
// process delays calls together, and those are not independent.
func (e *entry) observe(start, now int64) bool {
	lat := now - start
	e.lat.tick[latBucket(lat)].Add(1)
	if e.failures.Load() != 0 && start >= e.runStart.Load() {
		e.failures.Store(0)
	}
	thr := e.slowNanos.Load()
	if thr == 0 || lat <= thr {
		if e.slowRun.Load() != 0 && start >= e.slowRunStart.Load() {
			e.slowRun.Store(0)
		}
		return false
	}
	e.slows.Add(1)
	n := e.slowRun.Add(1)
	if n == 1 {
		e.slowRunStart.Store(start)
	}
	return n >= e.slowNeeded.Load() && start-e.slowRunStart.Load() >= int64(learnEvery)
}

// slower reports whether a call that took lat is slow by this client's learned threshold
// (after a local opening on slow calls) or by Vigil's (after Vigil opened on slow calls).
// It must be called with mu held.
func (e *entry) slower(lat int64, stale bool) bool {
	if thr := e.slowNanos.Load(); e.localSlow && thr > 0 && lat > thr {
		return true
	}
	return !stale && e.remote.slowNanos > 0 && lat > e.remote.slowNanos
}
