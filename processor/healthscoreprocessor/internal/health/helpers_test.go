package health

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed/breakerfeedtest"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the tests' first scoring time.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// testSettings are the processor's defaults, with a 10 s interval.
func testSettings() Settings {
	return Settings{
		Interval:      10 * time.Second,
		MaxComponents: 10_000,
		MaxEdges:      50_000,
		MaxHosts:      10_000,
		MaxNameLength: 256,
		StaleAfter:    5 * time.Minute,
		ExpireAfter:   time.Hour,
		Weights: score.Weights{
			score.Errors: 0.35, score.Latency: 0.25, score.Saturation: 0.15,
			score.Probe: 0.15, score.Dependencies: 0.10, score.Events: 0.15,
		},
		Healthy: 0.9, Degraded: 0.5,
		SLOTarget: 0.999, PriorCalls: 10,
		LatencyQuantile: 0.95, BaselineHalfLife: time.Hour, BaselineMinCalls: 100,
		SaturationThreshold: 0.8, SaturationFloor: 0.1,
		Damping:       0.5,
		EventsMinRate: 0.1, EventsWarmUp: 10 * time.Minute,
	}
}

// call describes spans to generate.
type call struct {
	kind    ptrace.SpanKind
	n       int           // how many spans
	errs    int           // how many of them end with status Error
	latency time.Duration // each span's duration
	attrs   map[string]any
}

// traces builds one batch: the spans of calls under a resource with service.name svc (and
// host.name when host is not empty).
func traces(svc, host string, calls ...call) ptrace.Traces {
	td := ptrace.NewTraces()
	addResource(td, svc, host, calls...)
	return td
}

func addResource(td ptrace.Traces, svc, host string, calls ...call) {
	rs := td.ResourceSpans().AppendEmpty()
	if svc != "" {
		rs.Resource().Attributes().PutStr("service.name", svc)
	}
	if host != "" {
		rs.Resource().Attributes().PutStr("host.name", host)
	}
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	start := pcommon.NewTimestampFromTime(t0.Add(-time.Second))
	for _, c := range calls {
		for i := range c.n {
			s := spans.AppendEmpty()
			s.SetName("op")
			s.SetKind(c.kind)
			s.SetStartTimestamp(start)
			s.SetEndTimestamp(start + pcommon.Timestamp(c.latency))
			if i < c.errs {
				s.Status().SetCode(ptrace.StatusCodeError)
			}
			if err := s.Attributes().FromRaw(c.attrs); err != nil {
				panic(err)
			}
		}
	}
}

func server(n, errs int, lat time.Duration) call {
	return call{kind: ptrace.SpanKindServer, n: n, errs: errs, latency: lat}
}

func client(peer string, n, errs int, lat time.Duration) call {
	return call{kind: ptrace.SpanKindClient, n: n, errs: errs, latency: lat, attrs: map[string]any{"peer.service": peer}}
}

// find returns the named component's score in a snapshot.
func find(t *testing.T, s *Snapshot, name string) ComponentScore {
	t.Helper()
	for _, c := range s.Components {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("component %q not in the snapshot", name)
	return ComponentScore{}
}

// signalOf returns a signal's value and presence.
func signalOf(c ComponentScore, n score.Name) (float64, bool) {
	return c.Signals.Value[n], c.Signals.Present[n]
}

// warm feeds svc `intervals` intervals of healthy server spans (100 each, at lat) and scores
// after each, so its latency baseline is learned; it returns the time of the last pass.
func warm(e *Engine, svc string, intervals int, lat time.Duration, at time.Time) time.Time {
	for i := range intervals {
		e.ObserveTraces(traces(svc, "", server(100, 0, lat)), at)
		e.Score(at)
		if i < intervals-1 {
			at = at.Add(10 * time.Second)
		}
	}
	return at
}

// gauge builds a metrics batch with one gauge of points under a resource.
type point struct {
	v     float64
	attrs map[string]any
}

func gaugeMetrics(resource map[string]any, name string, points ...point) pmetric.Metrics {
	md := pmetric.NewMetrics()
	addGauge(md, resource, name, points...)
	return md
}

func addGauge(md pmetric.Metrics, resource map[string]any, name string, points ...point) {
	rm := md.ResourceMetrics().AppendEmpty()
	if err := rm.Resource().Attributes().FromRaw(resource); err != nil {
		panic(err)
	}
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	dps := m.SetEmptyGauge().DataPoints()
	for _, p := range points {
		dp := dps.AppendEmpty()
		dp.SetDoubleValue(p.v)
		if err := dp.Attributes().FromRaw(p.attrs); err != nil {
			panic(err)
		}
	}
}

// recorder is a breakerfeed.Feeder that remembers what it was fed.
type recorder struct {
	mu       sync.Mutex
	outcomes map[string][]breakerfeed.Outcome
	probes   map[string][]bool
	states   map[string]breakerfeed.State
	modes    map[string]string
	byCaller map[[2]string][]breakerfeed.Outcome // caller, callee
}

func (r *recorder) RecordCallerOutcome(caller, target string, o breakerfeed.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byCaller == nil {
		r.byCaller = map[[2]string][]breakerfeed.Outcome{}
	}
	k := [2]string{caller, target}
	r.byCaller[k] = append(r.byCaller[k], o)
}

func newRecorder() *recorder {
	return &recorder{outcomes: map[string][]breakerfeed.Outcome{}, probes: map[string][]bool{}, states: map[string]breakerfeed.State{}, modes: map[string]string{}}
}

func (r *recorder) RecordOutcome(target string, o breakerfeed.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[target] = append(r.outcomes[target], o)
}

func (r *recorder) RecordProbe(target string, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.probes[target] = append(r.probes[target], ok)
}

func (r *recorder) Allow(string) bool { return true }

func (r *recorder) State(target string) (breakerfeed.State, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.states[target]
	return s, ok
}

func (r *recorder) States(fn func(string, breakerfeed.State) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for t, s := range r.states {
		if !fn(t, s) {
			return
		}
	}
}

func (r *recorder) StatesWithMode(fn func(string, breakerfeed.State, string) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	breakerfeedtest.StatesWithMode(r.states, r.modes, fn)
}

// classes counts a target's recorded outcomes by class.
func (r *recorder) classes(target string) map[breakerfeed.Class]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[breakerfeed.Class]int{}
	for _, o := range r.outcomes[target] {
		out[o.Class]++
	}
	return out
}

// heapPerEntry returns the live heap that build's result keeps, per one of its n entries: the
// heap after a GC with it, less the heap after a GC before it was built.
func heapPerEntry(n int, build func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// observed is a new engine (testSettings) that has observed every batch of tds at t0.
func observed(tds ...ptrace.Traces) *Engine {
	e := New(testSettings())
	for _, td := range tds {
		e.ObserveTraces(td, t0)
	}
	return e
}
