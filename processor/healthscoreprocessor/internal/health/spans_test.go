package health

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status ptrace.StatusCode
		msg    string
		attrs  map[string]any
		want   breakerfeed.Class
	}{
		{"unset", ptrace.StatusCodeUnset, "", nil, breakerfeed.Success},
		{"ok", ptrace.StatusCodeOk, "", nil, breakerfeed.Success},
		{"error", ptrace.StatusCodeError, "boom", nil, breakerfeed.Error},
		{"error that timed out (message)", ptrace.StatusCodeError, "context deadline exceeded", nil, breakerfeed.Timeout},
		{"error that timed out (error.type)", ptrace.StatusCodeError, "", map[string]any{"error.type": "java.net.SocketTimeoutException"}, breakerfeed.Timeout},
		{"Timed Out in any case", ptrace.StatusCodeError, "request Timed Out", nil, breakerfeed.Timeout},
		{"http 500, status unset", ptrace.StatusCodeUnset, "", map[string]any{"http.response.status_code": 500}, breakerfeed.Error},
		{"http 503, old attribute", ptrace.StatusCodeUnset, "", map[string]any{"http.status_code": 503}, breakerfeed.Error},
		{"http 504 is a timeout", ptrace.StatusCodeError, "", map[string]any{"http.response.status_code": 504}, breakerfeed.Timeout},
		{"http status as a string", ptrace.StatusCodeUnset, "", map[string]any{"http.response.status_code": "502"}, breakerfeed.Error},
		{"http 404 is the caller's fault, whatever the status", ptrace.StatusCodeError, "", map[string]any{"http.response.status_code": 404}, breakerfeed.Success},
		{"http 429", ptrace.StatusCodeError, "", map[string]any{"http.response.status_code": 429}, breakerfeed.Success},
		{"http 200 with an explicit error", ptrace.StatusCodeError, "", map[string]any{"http.response.status_code": 200}, breakerfeed.Error},
		{"grpc UNAVAILABLE", ptrace.StatusCodeError, "", map[string]any{"rpc.grpc.status_code": 14}, breakerfeed.Error},
		{"grpc INTERNAL", ptrace.StatusCodeError, "", map[string]any{"rpc.grpc.status_code": 13}, breakerfeed.Error},
		{"grpc UNKNOWN", ptrace.StatusCodeError, "", map[string]any{"rpc.grpc.status_code": 2}, breakerfeed.Error},
		{"grpc RESOURCE_EXHAUSTED", ptrace.StatusCodeError, "", map[string]any{"rpc.grpc.status_code": 8}, breakerfeed.Error},
		{"grpc DEADLINE_EXCEEDED", ptrace.StatusCodeError, "", map[string]any{"rpc.grpc.status_code": 4}, breakerfeed.Timeout},
		{"grpc NOT_FOUND is the caller's", ptrace.StatusCodeError, "", map[string]any{"rpc.grpc.status_code": 5}, breakerfeed.Success},
		{"grpc INVALID_ARGUMENT is the caller's", ptrace.StatusCodeError, "", map[string]any{"rpc.grpc.status_code": 3}, breakerfeed.Success},
		{"grpc OK", ptrace.StatusCodeUnset, "", map[string]any{"rpc.grpc.status_code": 0}, breakerfeed.Success},
		{"rpc.response.status_code by name", ptrace.StatusCodeError, "", map[string]any{"rpc.response.status_code": "UNAVAILABLE"}, breakerfeed.Error},
		{"rpc.response.status_code DEADLINE_EXCEEDED", ptrace.StatusCodeError, "", map[string]any{"rpc.response.status_code": "DEADLINE_EXCEEDED"}, breakerfeed.Timeout},
		{"rpc.response.status_code of another RPC system: the status decides", ptrace.StatusCodeError, "", map[string]any{"rpc.response.status_code": "-32602"}, breakerfeed.Error},
		{"a huge message is searched only at its start", ptrace.StatusCodeError, strings.Repeat("x", 10000) + "timeout", nil, breakerfeed.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := pcommon.NewMap()
			require.NoError(t, m.FromRaw(tt.attrs))
			var a callAttrs
			a.read(m)
			assert.Equal(t, tt.want, classify(tt.status, tt.msg, &a))
		})
	}
}

func TestPeerResolution(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"peer.service", map[string]any{"peer.service": "payments", "server.address": "10.0.0.1"}, "payments"},
		{"service.peer.name (newer conventions)", map[string]any{"service.peer.name": "payments", "server.address": "10.0.0.1"}, "payments"},
		{"server.address", map[string]any{"server.address": "payments.internal"}, "payments.internal"},
		{"net.peer.name (older conventions)", map[string]any{"net.peer.name": "payments.internal"}, "payments.internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(testSettings())
			rec := newRecorder()
			e.SetFeeder(rec)
			e.ObserveTraces(traces("checkout", "", call{kind: ptrace.SpanKindClient, n: 3, errs: 1, latency: time.Millisecond, attrs: tt.attrs}), t0)
			snap := e.Score(t0)
			find(t, snap, tt.want)
			require.Len(t, snap.Edges, 1)
			assert.Equal(t, EdgeFigures{Caller: "checkout", Callee: tt.want, Rate: 0.3, ErrorRatio: 1.0 / 3, LatencyP95: snap.Edges[0].LatencyP95, HasCalls: true, HasLatency: true,
				Health: snap.Edges[0].Health, HasHealth: true}, snap.Edges[0])
			assert.Less(t, snap.Edges[0].Health, 0.5, "a third of the calls on the edge failed")
			assert.Equal(t, map[breakerfeed.Class]int{breakerfeed.Success: 2, breakerfeed.Error: 1}, rec.classes(tt.want))
		})
	}
	t.Run("a client span naming no peer is counted", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveTraces(traces("checkout", "", call{kind: ptrace.SpanKindClient, n: 2, latency: time.Millisecond}), t0)
		assert.Equal(t, uint64(2), e.Stats().Skipped["no_peer"])
	})
	t.Run("server.address learned from SERVER spans resolves to the service", func(t *testing.T) {
		e := observed(
			traces("payments", "", call{kind: ptrace.SpanKindServer, n: 1, latency: time.Millisecond, attrs: map[string]any{"server.address": "payments.internal"}}),
			traces("checkout", "", call{kind: ptrace.SpanKindClient, n: 4, errs: 4, latency: time.Millisecond, attrs: map[string]any{"server.address": "payments.internal"}}),
		)
		snap := e.Score(t0)
		require.Len(t, snap.Edges, 1)
		assert.Equal(t, "payments", snap.Edges[0].Callee)
		for _, c := range snap.Components {
			assert.NotEqual(t, "payments.internal", c.Name)
		}
		assert.Equal(t, "unhealthy", find(t, snap, "payments").Status, "the client view of the calls counts for payments")
	})
}

func TestSpanKinds(t *testing.T) {
	e := New(testSettings())
	rec := newRecorder()
	e.SetFeeder(rec)
	e.ObserveTraces(traces("worker", "",
		call{kind: ptrace.SpanKindInternal, n: 5, errs: 5, latency: time.Millisecond},
		call{kind: ptrace.SpanKindUnspecified, n: 5, errs: 5, latency: time.Millisecond},
		call{kind: ptrace.SpanKindConsumer, n: 2, errs: 1, latency: time.Millisecond},
		call{kind: ptrace.SpanKindProducer, n: 3, errs: 3, latency: time.Millisecond, attrs: map[string]any{"server.address": "kafka-1"}},
	), t0)
	assert.Equal(t, map[breakerfeed.Class]int{breakerfeed.Success: 1, breakerfeed.Error: 1}, rec.classes("worker"), "CONSUMER spans are the service's own work; INTERNAL ones are no calls")
	assert.Equal(t, map[breakerfeed.Class]int{breakerfeed.Error: 3}, rec.classes("kafka-1"), "PRODUCER spans are calls to the broker")
	assert.Equal(t, map[string]uint64{"success": 1, "error": 4, "timeout": 0}, e.Stats().Outcomes)
}

func TestBreakerFeeding(t *testing.T) {
	e := New(testSettings())
	rec := newRecorder()
	e.SetFeeder(rec)
	td := traces("frontend", "",
		server(4, 1, 10*time.Millisecond),
		client("payments", 3, 2, 50*time.Millisecond),
		call{kind: ptrace.SpanKindClient, n: 1, latency: 5 * time.Second, attrs: map[string]any{"peer.service": "payments", "rpc.grpc.status_code": 4}})
	e.ObserveTraces(td, t0)
	assert.Equal(t, map[breakerfeed.Class]int{breakerfeed.Success: 3, breakerfeed.Error: 1}, rec.classes("frontend"))
	assert.Equal(t, map[breakerfeed.Class]int{breakerfeed.Success: 1, breakerfeed.Error: 2, breakerfeed.Timeout: 1}, rec.classes("payments"))
	assert.Equal(t, 50*time.Millisecond, rec.outcomes["payments"][0].Latency)
	assert.Equal(t, 5*time.Second, rec.outcomes["payments"][3].Latency)

	// Spans without timestamps: latency unknown (0 to the breaker), not in the histogram.
	td = ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "frontend")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetKind(ptrace.SpanKindServer)
	s.SetEndTimestamp(100)
	e.ObserveTraces(td, t0)
	assert.Equal(t, time.Duration(0), rec.outcomes["frontend"][4].Latency)

	// breaker.state of every target the extension knows, sorted.
	rec.states["payments"] = breakerfeed.Open
	rec.states["frontend"] = breakerfeed.Closed
	rec.states["elsewhere"] = breakerfeed.HalfOpen
	rec.modes["payments"] = breakerfeed.ModeForcedOpen
	snap := e.Score(t0)
	assert.Equal(t, []BreakerState{{"elsewhere", breakerfeed.HalfOpen, "auto"}, {"frontend", breakerfeed.Closed, "auto"},
		{"payments", breakerfeed.Open, "forced_open"}}, snap.Breakers, "an override is told apart from a learned open")

	// No feeder: nothing fed, nothing read.
	e.SetFeeder(nil)
	e.ObserveTraces(traces("frontend", "", server(1, 0, time.Millisecond)), t0)
	assert.Len(t, rec.outcomes["frontend"], 5)
	assert.Empty(t, e.Score(t0).Breakers)
}

func TestSpansPassUnchanged(t *testing.T) {
	e := New(testSettings())
	td := traces("checkout", "app-1", server(5, 2, time.Millisecond), client("payments", 5, 1, time.Millisecond))
	before := ptrace.NewTraces()
	td.CopyTo(before)
	e.ObserveTraces(td, t0)
	assert.Equal(t, before, td)
}

func TestAliasesByPort(t *testing.T) {
	e := New(testSettings())
	srv := func(svc string, port int) {
		e.ObserveTraces(traces(svc, "", call{kind: ptrace.SpanKindServer, n: 1, latency: time.Millisecond,
			attrs: map[string]any{"server.address": "localhost", "server.port": port}}), t0)
	}
	srv("cart", 8080)
	srv("search", 9090)
	resolve := func(attrs map[string]any) string {
		m := pcommon.NewMap()
		require.NoError(t, m.FromRaw(attrs))
		var a callAttrs
		a.read(m)
		return a.peerName(e)
	}
	assert.Equal(t, "cart", resolve(map[string]any{"server.address": "localhost", "server.port": 8080}))
	assert.Equal(t, "search", resolve(map[string]any{"server.address": "localhost", "server.port": 9090}))
	assert.Equal(t, "localhost", resolve(map[string]any{"server.address": "localhost", "server.port": 7070}), "no service seen on that port")
	assert.Equal(t, "localhost", resolve(map[string]any{"server.address": "localhost"}), "two services behind the address: a span without a port is ambiguous")
	srv("cart", 8081) // cart moves ports: both are remembered
	assert.Equal(t, "cart", resolve(map[string]any{"server.address": "localhost", "server.port": 8081}))

	srv2 := New(testSettings())
	srv2.ObserveTraces(traces("payments", "", call{kind: ptrace.SpanKindServer, n: 1, latency: time.Millisecond,
		attrs: map[string]any{"server.address": "payments.internal"}}), t0)
	var a callAttrs
	m := pcommon.NewMap()
	m.PutStr("server.address", "payments.internal")
	m.PutInt("server.port", 443)
	a.read(m)
	assert.Equal(t, "payments", a.peerName(srv2), "a server that gave no port answers for any port of its address")
}

// timedRecorder is a recorder that also takes outcomes with their time.
type timedRecorder struct {
	*recorder
	times []time.Time
}

func (r *timedRecorder) RecordOutcomeAt(target string, o breakerfeed.Outcome, now time.Time) {
	r.mu.Lock()
	r.times = append(r.times, now)
	r.mu.Unlock()
	r.recorder.RecordOutcome(target, o)
}

func (r *timedRecorder) RecordCallerOutcomeAt(caller, target string, o breakerfeed.Outcome, now time.Time) {
	r.mu.Lock()
	r.times = append(r.times, now)
	r.mu.Unlock()
	r.recorder.RecordCallerOutcome(caller, target, o)
}

func TestBreakerFeedingTakesTheBatchTime(t *testing.T) {
	e := New(testSettings())
	rec := &timedRecorder{recorder: newRecorder()}
	e.SetFeeder(rec)
	e.ObserveTraces(traces("frontend", "", server(4, 1, 10*time.Millisecond), client("payments", 3, 2, 50*time.Millisecond)), t0)
	require.Len(t, rec.times, 10, "every outcome goes through RecordOutcomeAt (4 SERVER, 3 CLIENT) or RecordCallerOutcomeAt (3 CLIENT)")
	for _, at := range rec.times {
		assert.Equal(t, t0, at, "the batch's time, read once by the caller")
	}
	assert.Equal(t, map[breakerfeed.Class]int{breakerfeed.Success: 3, breakerfeed.Error: 1}, rec.classes("frontend"))
	assert.Len(t, rec.byCaller[[2]string{"frontend", "payments"}], 3)
}

// batchRecorder is a timedRecorder that also takes runs of outcomes (breakerfeed.BatchFeeder).
type batchRecorder struct {
	*timedRecorder
	runs map[string][]int // target: the length of each run
}

func (r *batchRecorder) RecordOutcomesAt(target string, os []breakerfeed.Outcome, now time.Time) {
	r.mu.Lock()
	r.runs[target] = append(r.runs[target], len(os))
	r.mu.Unlock()
	for _, o := range os {
		r.RecordOutcomeAt(target, o, now)
	}
}

// With a BatchFeeder, a resource's SERVER and CONSUMER outcomes go to its service in runs of up
// to 64 (one lookup and one lock each in the breaker), in span order; everything else goes one
// outcome at a time, as before. The breaker receives the same outcomes either way.
func TestBreakerFeedingInRuns(t *testing.T) {
	td := traces("frontend", "", server(100, 7, 10*time.Millisecond), client("payments", 3, 2, 50*time.Millisecond),
		call{kind: ptrace.SpanKindConsumer, n: 50, errs: 1, latency: time.Millisecond})
	addResource(td, "payments", "", server(3, 0, 40*time.Millisecond))
	late := t0.Add(time.Duration(servedWindow) + time.Minute) // payments no longer serving
	lateTd := traces("frontend", "", client("payments", 2, 1, time.Millisecond))

	one, runs := &timedRecorder{recorder: newRecorder()}, &batchRecorder{timedRecorder: &timedRecorder{recorder: newRecorder()}, runs: map[string][]int{}}
	for _, f := range []breakerfeed.Feeder{one, runs} {
		e := New(testSettings())
		e.SetFeeder(f)
		e.ObserveTraces(td, t0)
		e.ObserveTraces(lateTd, late)
	}
	assert.Equal(t, one.outcomes, runs.outcomes, "the same outcomes, in the same order, for every target")
	assert.Equal(t, one.byCaller, runs.byCaller)
	assert.Equal(t, one.times, runs.times)
	assert.Equal(t, map[string][]int{"frontend": {64, 64, 22}, "payments": {3}}, runs.runs,
		"150 own outcomes of frontend in runs of 64; the CLIENT spans to payments one at a time")
	assert.Len(t, runs.outcomes["payments"], 3+3+2,
		"frontend's 3 calls (payments not serving yet in the batch), its own 3, frontend's 2 once it stopped serving")
}

// A call between two instrumented services arrives as the caller's CLIENT span and the callee's
// SERVER span, in batches of their own SDKs; the fleet-wide breaker counts it once (the callee's
// own span) and the caller's view counts its CLIENT span.
func TestOneOutcomePerCall(t *testing.T) {
	e := New(testSettings())
	rec := newRecorder()
	e.SetFeeder(rec)
	// checkout's SDK exports first, then frontend's, then both again: 3 batches of 10 calls
	// (3 failed) each way.
	for i := range 3 {
		now := t0.Add(time.Duration(i) * 5 * time.Second)
		e.ObserveTraces(traces("checkout", "", server(10, 3, 20*time.Millisecond)), now)
		e.ObserveTraces(traces("frontend", "", client("checkout", 10, 3, 21*time.Millisecond)), now.Add(time.Second))
	}
	assert.Len(t, rec.outcomes["checkout"], 30, "30 calls, 30 outcomes for checkout's fleet-wide breaker")
	assert.Equal(t, map[breakerfeed.Class]int{breakerfeed.Success: 21, breakerfeed.Error: 9}, rec.classes("checkout"))
	assert.Len(t, rec.byCaller[[2]string{"frontend", "checkout"}], 30, "frontend's own view of checkout: its CLIENT spans")

	// checkout's spans stop (a dead process): after servedWindow its callers' CLIENT spans count
	// for the fleet again.
	late := t0.Add(10*time.Second + time.Duration(servedWindow) + time.Second)
	e.ObserveTraces(traces("frontend", "", client("checkout", 5, 5, time.Millisecond)), late)
	assert.Len(t, rec.outcomes["checkout"], 35)
	assert.Len(t, rec.byCaller[[2]string{"frontend", "checkout"}], 35)

	// A dependency that never reports SERVER spans (a database) is judged by its callers.
	e.ObserveTraces(traces("frontend", "", client("postgres", 4, 1, time.Millisecond)), late)
	assert.Len(t, rec.outcomes["postgres"], 4)
}
