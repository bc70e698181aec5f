package health

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/testbatch"
)

func TestHostileNames(t *testing.T) {
	tests := []struct {
		name   string
		svc    string
		reason string
	}{
		{"a megabyte of name", strings.Repeat("a", 1<<20), "name_too_long"},
		{"just over max_name_length", strings.Repeat("b", 257), "name_too_long"},
		{"invalid UTF-8", "caf\xe9", "invalid_name"},
		{"a control character", "pay\nments", "invalid_name"},
		{"a NUL", "pay\x00ments", "invalid_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(testSettings())
			rec := newRecorder()
			e.SetFeeder(rec)
			// As a service (its spans), as a peer, and as a host.
			e.ObserveTraces(traces(tt.svc, "", server(3, 1, time.Millisecond)), t0)
			e.ObserveTraces(traces("checkout", tt.svc, client(tt.svc, 2, 0, time.Millisecond)), t0)
			e.ObserveMetrics(gaugeMetrics(map[string]any{"host.name": tt.svc}, "system.memory.utilization", point{0.5, nil}), t0)
			st := e.Stats()
			assert.Equal(t, uint64(3+1+2+1), st.Skipped[tt.reason], "3 server spans, 1 host link, 2 client spans, 1 host")
			assert.Equal(t, int64(1), st.Components, "only checkout")
			assert.Equal(t, int64(0), st.Hosts)
			assert.Empty(t, rec.outcomes[tt.svc], "nothing refused reaches the breaker")
			snap := e.Score(t0)
			require.Len(t, snap.Components, 1)
			assert.Equal(t, "checkout", snap.Components[0].Name)
		})
	}
	t.Run("the longest accepted name", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveTraces(traces(strings.Repeat("é", 128), "", server(1, 0, time.Millisecond)), t0)
		assert.Equal(t, int64(1), e.Stats().Components)
	})
}

func TestMissingResources(t *testing.T) {
	e := New(testSettings())
	td := ptrace.NewTraces()
	addResource(td, "", "", server(4, 0, time.Millisecond), client("x", 2, 0, time.Millisecond), call{kind: ptrace.SpanKindInternal, n: 7})
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutInt("service.name", 42) // not a string
	rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetKind(ptrace.SpanKindServer)
	td.ResourceSpans().AppendEmpty() // nothing at all
	e.ObserveTraces(td, t0)
	e.ObserveTraces(ptrace.NewTraces(), t0)
	st := e.Stats()
	assert.Equal(t, uint64(7), st.Skipped["no_service_name"], "every call span of a resource without a service.name; internal spans are no calls")
	assert.Equal(t, int64(0), st.Components)
	assert.Empty(t, e.Score(t0).Components)
}

func TestManyNewNamesStayWithinTheCap(t *testing.T) {
	s := testSettings()
	s.MaxComponents = 1000
	s.MaxEdges = 500
	e := New(s)
	rec := newRecorder()
	e.SetFeeder(rec)
	const names = 100_000
	at := t0
	for b := range names / 100 {
		td := ptrace.NewTraces()
		for i := range 100 {
			n := b*100 + i
			// Half as services, half as peers of one caller (each a new edge).
			if n%2 == 0 {
				addResource(td, fmt.Sprintf("svc-%d", n), "", server(1, 0, time.Millisecond))
			} else {
				addResource(td, "gateway", "", client(fmt.Sprintf("peer-%d", n), 1, 0, time.Millisecond))
			}
		}
		at = at.Add(time.Millisecond)
		e.ObserveTraces(td, at)
		st := e.Stats()
		require.LessOrEqual(t, st.Components, int64(s.MaxComponents))
		require.LessOrEqual(t, st.Edges, int64(s.MaxEdges))
	}
	st := e.Stats()
	assert.Greater(t, st.Evicted["component"], uint64(names-s.MaxComponents-s.MaxComponents/32))
	assert.Equal(t, uint64(names+1), st.Evicted["component"]+uint64(st.Components), "every name (and the gateway) is tracked or was evicted")
	assert.Positive(t, st.Skipped["edge_limit"])
	assert.Equal(t, uint64(names), st.Outcomes["success"])
	snap := e.Score(at)
	assert.LessOrEqual(t, len(snap.Components), s.MaxComponents)
	// The gateway, seen in every other batch, is never the least recently seen.
	find(t, snap, "gateway")
}

// TestMemoryPerComponentIsBounded measures the heap that 10,000 components (each with a host link
// and an edge) take, and checks it against a budget.
func TestMemoryPerComponentIsBounded(t *testing.T) {
	perComponent := measureComponentBytes(t, 10_000, true)
	t.Logf("%.0f bytes per component", perComponent)
	assert.Less(t, perComponent, 4096.0)
}

// measureComponentBytes returns the heap per component of n services that served calls (so
// each has a latency baseline); withEdges: each also runs on a host and calls the next one.
func measureComponentBytes(tb testing.TB, n int, withEdges bool) float64 {
	return heapPerEntry(n, func() any {
		s := testSettings()
		s.MaxComponents = n
		e := New(s)
		for b := 0; b < n; b += 100 {
			td := ptrace.NewTraces()
			for i := b; i < b+100 && i < n; i++ {
				// Each service runs on a host and calls one peer: a component, a host link and an
				// edge; the peer is itself a component for every other service.
				if withEdges {
					addResource(td, fmt.Sprintf("service-%06d", i), fmt.Sprintf("host-%06d", i),
						server(1, 0, time.Millisecond), client(fmt.Sprintf("service-%06d", (i+1)%n), 1, 0, time.Millisecond))
				} else {
					addResource(td, fmt.Sprintf("service-%06d", i), "", server(1, 0, time.Millisecond))
				}
			}
			e.ObserveTraces(td, t0)
		}
		e.Score(t0)
		if got := e.Stats().Components; got != int64(n) {
			tb.Fatalf("%d components, want %d", got, n)
		}
		return e
	})
}

func TestConcurrentObserveAndScore(t *testing.T) {
	e := New(testSettings())
	rec := newRecorder()
	e.SetFeeder(rec)
	const writers, batches = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				svc := fmt.Sprintf("svc-%d", (w+b)%5)
				e.ObserveTraces(traces(svc, "host-1", server(10, 1, time.Millisecond), client("db", 10, 2, time.Millisecond)), t0)
				e.ObserveMetrics(gaugeMetrics(map[string]any{"host.name": "host-1"}, "system.memory.utilization", point{0.3, nil}), t0)
			}
		}()
	}
	var calls, errs float64
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	// Every pass at t0: nothing goes stale, and a pass's rate is its calls over the interval.
	collect := func(s *Snapshot) {
		for _, d := range s.Edges {
			calls += d.Rate * 10
			errs += d.Rate * 10 * d.ErrorRatio
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		collect(e.Score(t0))
	}
	collect(e.Score(t0))
	assert.InDelta(t, writers*batches*10, calls, 1e-6, "every edge call counted exactly once across passes")
	assert.InDelta(t, writers*batches*2, errs, 1e-6)
	assert.Equal(t, uint64(writers*batches*20), e.Stats().Outcomes["success"]+e.Stats().Outcomes["error"])
}

// TestSteadyStateSpansDoNotAllocate is the hot path's allocation check: once every name is
// known, observing a batch allocates nothing per span.
func TestSteadyStateSpansDoNotAllocate(t *testing.T) {
	e := New(testSettings())
	e.SetFeeder(nopFeeder{})
	td := testbatch.Realistic(8, 64, t0)
	e.ObserveTraces(td, t0)
	allocs := testing.AllocsPerRun(100, func() { e.ObserveTraces(td, t0) })
	assert.Equal(t, 0.0, allocs)

	// Feeding a breaker that takes runs of outcomes (their buffer is pooled).
	e.SetFeeder(nopBatchFeeder{})
	e.ObserveTraces(td, t0)
	allocs = testing.AllocsPerRun(100, func() { e.ObserveTraces(td, t0) })
	assert.Equal(t, 0.0, allocs)
}

// nopBatchFeeder is nopFeeder taking the batch's time and runs of outcomes.
type nopBatchFeeder struct{ nopFeeder }

func (nopBatchFeeder) RecordOutcomeAt(string, breakerfeed.Outcome, time.Time)    {}
func (nopBatchFeeder) RecordOutcomesAt(string, []breakerfeed.Outcome, time.Time) {}
