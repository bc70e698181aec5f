package guardprocessor

import (
	"sync"
	"time"
)

// Reasons a new series is refused (the reason attribute of otelcol_guard_series_refused).
const (
	reasonMaxSeries = "max_series"
	reasonMaxNew    = "max_new_per_interval"
)

// seriesEntry is what the tracker keeps per series: 16 bytes besides the map's own overhead.
type seriesEntry struct {
	lastSeen int64 // unix nanoseconds
	weight   int32
}

// tracker admits series within a total weight and a weight of new series per interval, and
// forgets series not seen for the expiration. Known series always pass: a flood of new names
// cannot push out the series that were there first.
type tracker struct {
	cfg SeriesConfig

	mu          sync.Mutex
	series      map[uint64]seriesEntry
	weight      int64 // sum of the weights in series
	windowStart time.Time
	admitted    int64 // weight admitted since windowStart

	// Counts since the last take(), read by the processor for its own telemetry.
	refusedMax, refusedNew, expired int64
	warnDue                         bool // a refusal happened and the window has not been logged
	warned                          bool // this window's refusals were logged
}

func newTracker(cfg SeriesConfig) *tracker {
	return &tracker{cfg: cfg, series: make(map[uint64]seriesEntry)}
}

// begin locks the tracker for one batch and rolls the window (sweeping expired series) when an
// interval has passed. end must follow.
func (t *tracker) begin(now time.Time) {
	t.mu.Lock()
	if now.Sub(t.windowStart) < t.cfg.Interval {
		return
	}
	t.windowStart = now
	t.admitted = 0
	t.warned = false
	cutoff := now.Add(-t.cfg.Expiration).UnixNano()
	for k, e := range t.series {
		if e.lastSeen < cutoff {
			delete(t.series, k)
			t.weight -= int64(e.weight)
			t.expired++
		}
	}
}

// admit reports whether the series key (of the given weight) passes, recording it when new.
// Callers hold the lock through begin.
func (t *tracker) admit(key uint64, weight int, now int64) bool {
	if e, ok := t.series[key]; ok {
		e.lastSeen = now
		t.series[key] = e
		return true
	}
	w := int64(weight)
	switch {
	case t.weight+w > int64(t.cfg.MaxSeries):
		t.refusedMax++
		t.warnDue = !t.warned
		return false
	case t.admitted+w > int64(t.cfg.MaxNewPerInterval):
		t.refusedNew++
		t.warnDue = !t.warned
		return false
	}
	t.series[key] = seriesEntry{lastSeen: now, weight: int32(weight)}
	t.weight += w
	t.admitted += w
	return true
}

// trackerCounts are the counts gathered since the last end.
type trackerCounts struct {
	refusedMax, refusedNew, expired int64
	warn                            bool
	weight                          int64
}

// end unlocks the tracker and hands over the counts gathered during the batch.
func (t *tracker) end() trackerCounts {
	c := trackerCounts{refusedMax: t.refusedMax, refusedNew: t.refusedNew, expired: t.expired, warn: t.warnDue, weight: t.weight}
	t.refusedMax, t.refusedNew, t.expired = 0, 0, 0
	if t.warnDue {
		t.warned, t.warnDue = true, false
	}
	t.mu.Unlock()
	return c
}

// total returns the tracked weight.
func (t *tracker) total() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.weight
}
