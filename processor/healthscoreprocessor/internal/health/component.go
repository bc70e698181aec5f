package health

import (
	"sync"
	"sync/atomic"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/internal/registry"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/latency"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

// errorOne is one error in a packed calls word: calls in the low 32 bits, errors in the high 32.
const errorOne = 1 << 32

// component is one service (or peer) being scored. The span path touches only its atomics; the
// metric path takes mu; the scorer owns st.
type component struct {
	name     string
	lastSeen atomic.Int64 // unix ns of the last data that named it
	gone     atomic.Bool  // evicted or expired: edges that point here must look the name up again
	servedAt atomic.Int64 // unix ns of the last SERVER or CONSUMER span it reported

	// This interval's span outcomes: calls | errors<<32, and latencies.
	calls atomic.Uint64
	hist  latency.Histogram
	// This interval's log records: all | ERROR and FATAL<<32.
	logs atomic.Uint64

	hosts     atomic.Pointer[[]*hostLink]           // copy on write, under mu
	edges     atomic.Pointer[registry.Index[*edge]] // callees, created on the first CLIENT span
	nEdge     atomic.Int64
	edgeFloor floor // bounds when its edges were last seen (see floor)

	mu     sync.Mutex
	probes []probeTarget
	red    *redState

	st scoring // owned by the scorer
}

func newComponent(name string, now int64) *component {
	c := &component{name: name}
	c.lastSeen.Store(now)
	return c
}

func (c *component) seen() int64 { return c.lastSeen.Load() }

// touch marks the component seen at now, writing only when the time moved (one batch shares one
// now), so concurrent batches do not bounce the cache line on every span.
func (c *component) touch(now int64) {
	if c.lastSeen.Load() < now {
		c.lastSeen.Store(now)
	}
}

// served marks that the component reported its own SERVER or CONSUMER span at now, writing only
// when the time moved.
func (c *component) served(now int64) {
	if c.servedAt.Load() < now {
		c.servedAt.Store(now)
	}
}

// record counts one outcome; lat < 0 is an unknown latency.
func (c *component) record(class breakerfeed.Class, lat int64) {
	c.calls.Add(callWord(class))
	if lat >= 0 {
		c.hist.Record(lat)
	}
}

// callWord is one outcome as it adds to a calls word (calls | errors<<32).
func callWord(class breakerfeed.Class) uint64 {
	if class != breakerfeed.Success {
		return 1 + errorOne
	}
	return 1
}

// edge is one caller → callee dependency, held by the caller.
type edge struct {
	callee   string
	to       atomic.Pointer[component] // the callee's component, until it is evicted
	lastSeen atomic.Int64
	calls    atomic.Uint64 // calls | errors<<32, this interval
	hist     latency.Histogram

	// Scorer-owned: calls of the last interval that had any, the health the caller last saw on
	// the edge and when, and the edge's own latency baseline.
	weight    float64
	health    float64
	healthAt  int64
	hasHealth bool
	baseline  *latency.Baseline
}

func (d *edge) seen() int64 { return d.lastSeen.Load() }

func (d *edge) record(class breakerfeed.Class, lat int64, now int64) {
	if d.lastSeen.Load() < now {
		d.lastSeen.Store(now)
	}
	d.calls.Add(callWord(class))
	if lat >= 0 {
		d.hist.Record(lat)
	}
}

// edgeTo returns the edge from c to callee, creating it within the engine's edge cap; nil,
// counted, past the cap.
func (c *component) edgeTo(to *component, now int64, e *Engine) *edge {
	callee := to.name
	x := c.edges.Load()
	if x == nil {
		x = registry.NewIndex[*edge]()
		if !c.edges.CompareAndSwap(nil, x) {
			x = c.edges.Load()
		}
	}
	if d, ok := x.Load(callee); ok {
		d.to.Store(to) // the callee was evicted and came back
		return d
	}
	if e.edgeCount.Add(1) > int64(e.s.MaxEdges) {
		e.edgeCount.Add(-1)
		e.skip(skipEdgeLimit, 1)
		return nil
	}
	d, created := x.LoadOrStore(callee, func(key string) *edge {
		d := &edge{callee: key}
		d.lastSeen.Store(now)
		d.to.Store(to)
		return d
	})
	if created {
		c.nEdge.Add(1)
		c.edgeFloor.lower(now)
	} else {
		e.edgeCount.Add(-1)
	}
	return d
}

// edgeTotal returns how many edges the component holds.
func (c *component) edgeTotal() int64 { return c.nEdge.Load() }

// hostLink says a component runs on a host (a span or metric resource carried both names).
type hostLink struct {
	name     string
	lastSeen atomic.Int64
}

// linkHost records that the component runs on host name.
func (c *component) linkHost(name string, now int64, e *Engine) {
	if p := c.hosts.Load(); p != nil {
		for _, l := range *p {
			if l.name == name {
				if l.lastSeen.Load() < now {
					l.lastSeen.Store(now)
				}
				return
			}
		}
	}
	if r := checkName(name, e.s.MaxNameLength); r != skipNone {
		e.skip(r, 1)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var links []*hostLink
	if p := c.hosts.Load(); p != nil {
		links = *p
	}
	for _, l := range links {
		if l.name == name {
			return
		}
	}
	l := &hostLink{name: string([]byte(name))}
	l.lastSeen.Store(now)
	next := make([]*hostLink, 0, len(links)+1)
	if len(links) >= maxHostsPerComponent {
		// Replace the least recently seen link, if it is stale; else the new host is skipped.
		oldest := 0
		for i, o := range links {
			if o.lastSeen.Load() < links[oldest].lastSeen.Load() {
				oldest = i
			}
		}
		if now-links[oldest].lastSeen.Load() <= int64(e.s.StaleAfter) {
			e.skip(skipHostLimit, 1)
			return
		}
		next = append(next, links[:oldest]...)
		next = append(next, links[oldest+1:]...)
	} else {
		next = append(next, links...)
	}
	next = append(next, l)
	c.hosts.Store(&next)
}

// probeTarget is the latest healthcheck.status of one target of the component.
type probeTarget struct {
	target string
	up     bool
	at     int64
}

// redState holds the RED histograms a component's own metrics report (for services that send
// metrics but no spans): this interval's calls, errors and latencies, and each cumulative
// series' previous point.
type redState struct {
	calls, errors float64
	counts        latency.Counts
	series        map[uint64]*redSeries
}

// redSeries is the previous point of one cumulative histogram series.
type redSeries struct {
	start  uint64
	count  uint64
	bounds []float64
	counts []uint64
	seen   int64
}

// scoring is the scorer's state of a component.
type scoring struct {
	pass     uint64 // the pass that last scored it
	idx      int    // its position in that pass
	signals  [score.NumSignals]signal
	baseline *latency.Baseline // from the first latency learned: most peers of a hostile stream never get one
	events   eventBaseline
}

// eventBaseline is a component's learned rate of ERROR and FATAL log records: decayed sums of
// the records and of the seconds they were counted over.
type eventBaseline struct{ count, seconds float64 }

func (b *eventBaseline) rate() float64 {
	if b.seconds <= 0 {
		return 0
	}
	return b.count / b.seconds
}

// signal is a signal's latest value and when the data behind it arrived.
type signal struct {
	value float64
	at    int64
	ok    bool
}
