package health

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

func TestErrorsSignal(t *testing.T) {
	tests := []struct {
		name       string
		calls      []call
		wantSignal float64
		wantStatus string
	}{
		{"no errors", []call{server(1000, 0, 10*time.Millisecond)}, 1, "healthy"},
		{"within the SLO (0.05%)", []call{server(2000, 1, 10*time.Millisecond)}, 1, "healthy"},
		{"1% errors: degraded", []call{server(1000, 10, 10*time.Millisecond)}, 1 - math.Log(((10+0.01)/1010)/0.001)/math.Log(1000), "degraded"},
		{"half the calls fail: unhealthy", []call{server(1000, 500, 10*time.Millisecond)}, 1 - math.Log(((500+0.01)/1010)/0.001)/math.Log(1000), "unhealthy"},
		{"every call fails", []call{server(1000, 1000, 10*time.Millisecond)}, 1 - math.Log(((1000+0.01)/1010)/0.001)/math.Log(1000), "unhealthy"},
		{"callers see the peer fail (CLIENT spans)", []call{client("payments", 1000, 500, 10*time.Millisecond)}, 1 - math.Log(((500+0.01)/1010)/0.001)/math.Log(1000), "unhealthy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(testSettings())
			svc := "payments"
			caller := "payments"
			if tt.calls[0].kind == ptrace.SpanKindClient {
				caller = "checkout"
			}
			e.ObserveTraces(traces(caller, "", tt.calls...), t0)
			c := find(t, e.Score(t0), svc)
			v, ok := signalOf(c, score.Errors)
			require.True(t, ok)
			assert.InDelta(t, tt.wantSignal, v, 1e-9)
			assert.Equal(t, tt.wantStatus, c.Status)
			_, hasLatency := signalOf(c, score.Latency)
			assert.False(t, hasLatency, "no latency signal before the baseline holds 100 calls")
			// With errors the only signal, the score is the signal.
			assert.InDelta(t, tt.wantSignal, c.Score, 1e-9)
		})
	}
}

func TestLatencySignal(t *testing.T) {
	t.Run("learned: a steady service is satisfied, a 3x slower one tolerated, a 10x slower one frustrated", func(t *testing.T) {
		e := New(testSettings())
		at := warm(e, "search", 3, 20*time.Millisecond, t0)
		c := find(t, e.Score(at), "search")
		_, ok := signalOf(c, score.Latency)
		assert.True(t, ok, "an interval without calls keeps the last latency signal while it is fresh")

		at = at.Add(10 * time.Second)
		e.ObserveTraces(traces("search", "", server(100, 0, 20*time.Millisecond)), at)
		c = find(t, e.Score(at), "search")
		v, ok := signalOf(c, score.Latency)
		require.True(t, ok)
		// T is the learned p95: 95% of the same latencies are satisfied, the rest tolerated.
		assert.InDelta(t, (95+2.5+10)/110.0, v, 1e-3)

		at = at.Add(10 * time.Second)
		e.ObserveTraces(traces("search", "", server(100, 0, 60*time.Millisecond)), at)
		c = find(t, e.Score(at), "search")
		v, _ = signalOf(c, score.Latency)
		assert.InDelta(t, (50.0+10)/110, v, 1e-9, "tolerating: half credit, plus the prior")
		assert.Equal(t, "degraded", c.Status)

		at = at.Add(10 * time.Second)
		e.ObserveTraces(traces("search", "", server(100, 0, 200*time.Millisecond)), at)
		c = find(t, e.Score(at), "search")
		v, _ = signalOf(c, score.Latency)
		assert.InDelta(t, 10.0/110, v, 1e-9, "frustrated: only the prior")
		assert.Equal(t, "unhealthy", c.Status)
	})
	t.Run("configured threshold, per service over global", func(t *testing.T) {
		s := testSettings()
		s.LatencyThreshold = 100 * time.Millisecond
		s.LatencyThresholds = map[string]time.Duration{"fast": 10 * time.Millisecond}
		s.PriorCalls = 0
		e := New(s)
		e.ObserveTraces(traces("fast", "", server(10, 0, 30*time.Millisecond)), t0)
		e.ObserveTraces(traces("slow", "", server(10, 0, 30*time.Millisecond)), t0)
		snap := e.Score(t0)
		v, ok := signalOf(find(t, snap, "fast"), score.Latency)
		require.True(t, ok, "a configured threshold needs no baseline")
		assert.InDelta(t, 0.5, v, 1e-9, "30 ms against 10 ms: tolerating")
		v, _ = signalOf(find(t, snap, "slow"), score.Latency)
		assert.InDelta(t, 1, v, 1e-9, "30 ms against 100 ms: satisfied")
	})
	t.Run("an unhealthy interval does not teach the baseline", func(t *testing.T) {
		e := New(testSettings())
		at := warm(e, "search", 2, 20*time.Millisecond, t0)
		for range 20 { // a long incident: slow and failing
			at = at.Add(10 * time.Second)
			e.ObserveTraces(traces("search", "", server(100, 90, 500*time.Millisecond)), at)
			e.Score(at)
		}
		at = at.Add(10 * time.Second)
		e.ObserveTraces(traces("search", "", server(100, 0, 200*time.Millisecond)), at)
		v, _ := signalOf(find(t, e.Score(at), "search"), score.Latency)
		assert.Less(t, v, 0.2, "200 ms is still frustrating against the 20 ms learned before the incident")
	})
}

func TestSaturationSignal(t *testing.T) {
	cpu := func(idle ...float64) []point {
		var ps []point
		for i, v := range idle {
			ps = append(ps, point{v, map[string]any{"cpu": "cpu" + string(rune('0'+i)), "state": "idle"}},
				point{1 - v, map[string]any{"cpu": "cpu" + string(rune('0'+i)), "state": "user"}})
		}
		return ps
	}
	host := func(name string) map[string]any { return map[string]any{"host.name": name} }
	tests := []struct {
		name    string
		metrics func(e *Engine)
		want    float64
		present bool
	}{
		{"idle host", func(e *Engine) {
			e.ObserveMetrics(gaugeMetrics(host("app-1"), "system.cpu.utilization", cpu(0.8, 0.6)...), t0)
		}, 1, true},
		{"CPU at 90%: half way from the threshold to full", func(e *Engine) {
			e.ObserveMetrics(gaugeMetrics(host("app-1"), "system.cpu.utilization", cpu(0.1, 0.1)...), t0)
		}, 0.55, true},
		{"memory used 100%: the floor", func(e *Engine) {
			e.ObserveMetrics(gaugeMetrics(host("app-1"), "system.memory.utilization",
				point{1, map[string]any{"state": "used"}}, point{0, map[string]any{"state": "free"}}), t0)
		}, 0.1, true},
		{"the fullest writable filesystem counts, read-only and squashfs do not", func(e *Engine) {
			e.ObserveMetrics(gaugeMetrics(host("app-1"), "system.filesystem.utilization",
				point{0.9, map[string]any{"mountpoint": "/var", "mode": "rw", "type": "ext4"}},
				point{1, map[string]any{"mountpoint": "/snap/core", "mode": "ro", "type": "squashfs"}},
				point{1, map[string]any{"mountpoint": "/iso", "mode": "rw", "type": "iso9660"}},
				point{0.2, map[string]any{"mountpoint": "/", "mode": "rw", "type": "ext4"}}), t0)
		}, 0.55, true},
		{"load per CPU, CPUs counted from the per-CPU points", func(e *Engine) {
			md := gaugeMetrics(host("app-1"), "system.cpu.utilization", cpu(0.9, 0.9)...)
			addGauge(md, host("app-1"), "system.cpu.load_average.1m", point{1.8, nil})
			e.ObserveMetrics(md, t0)
		}, 0.55, true},
		{"load with a logical CPU count", func(e *Engine) {
			md := gaugeMetrics(host("app-1"), "system.cpu.logical.count", point{4, nil})
			addGauge(md, host("app-1"), "system.cpu.load_average.1m", point{4, nil})
			e.ObserveMetrics(md, t0)
		}, 0.1, true},
		{"load without a CPU count is not read", func(e *Engine) {
			e.ObserveMetrics(gaugeMetrics(host("app-1"), "system.cpu.load_average.1m", point{40, nil}), t0)
		}, 0, false},
		{"the worst of CPU and memory", func(e *Engine) {
			md := gaugeMetrics(host("app-1"), "system.cpu.utilization", cpu(0.5)...)
			addGauge(md, host("app-1"), "system.memory.utilization", point{0.9, map[string]any{"state": "used"}})
			e.ObserveMetrics(md, t0)
		}, 0.55, true},
		{"a host the service does not run on does not count", func(e *Engine) {
			e.ObserveMetrics(gaugeMetrics(host("db-1"), "system.cpu.utilization", cpu(0, 0)...), t0)
		}, 0, false},
		{"two hosts: the mean of their signals", func(e *Engine) {
			e.ObserveTraces(traces("checkout", "app-2", server(10, 0, time.Millisecond)), t0)
			e.ObserveMetrics(gaugeMetrics(host("app-1"), "system.cpu.utilization", cpu(0.1, 0.1)...), t0)
			e.ObserveMetrics(gaugeMetrics(host("app-2"), "system.cpu.utilization", cpu(0.9, 0.9)...), t0)
		}, (0.55 + 1) / 2, true},
		{"a utilisation without state attributes", func(e *Engine) {
			e.ObserveMetrics(gaugeMetrics(host("app-1"), "system.cpu.utilization", point{0.9, nil}), t0)
		}, 0.55, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(testSettings())
			e.ObserveTraces(traces("checkout", "app-1", server(10, 0, time.Millisecond)), t0)
			tt.metrics(e)
			v, ok := signalOf(find(t, e.Score(t0), "checkout"), score.Saturation)
			require.Equal(t, tt.present, ok)
			assert.InDelta(t, tt.want, v, 1e-9)
		})
	}
	t.Run("host metrics without host.name are counted and skipped", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveMetrics(gaugeMetrics(map[string]any{}, "system.cpu.utilization", cpu(0.1, 0.1)...), t0)
		assert.Equal(t, uint64(4), e.Stats().Skipped["no_host_name"])
	})
	t.Run("stale host data leaves the score", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveMetrics(gaugeMetrics(host("app-1"), "system.cpu.utilization", cpu(0.1)...), t0)
		later := t0.Add(6 * time.Minute)
		e.ObserveTraces(traces("checkout", "app-1", server(10, 0, time.Millisecond)), later)
		_, ok := signalOf(find(t, e.Score(later), "checkout"), score.Saturation)
		assert.False(t, ok)
	})
}

func TestProbeSignal(t *testing.T) {
	probe := func(svc string, pts ...point) ptraceFree {
		return ptraceFree{svc, pts}
	}
	target := func(name string, up float64) point {
		return point{up, map[string]any{"healthcheck.target": name, "healthcheck.type": "http"}}
	}
	tests := []struct {
		name   string
		probes []ptraceFree
		want   float64
		status string
	}{
		{"up", []ptraceFree{probe("checkout", target("checkout-http", 1))}, 1, "healthy"},
		{"down: the score is 0", []ptraceFree{probe("checkout", target("checkout-http", 0))}, 0, "unhealthy"},
		{"one of two targets down", []ptraceFree{probe("checkout", target("checkout-http", 1), target("checkout-grpc", 0))}, 0.5, "degraded"},
		{"the latest state of a target counts", []ptraceFree{probe("checkout", target("checkout-http", 0)), probe("checkout", target("checkout-http", 1))}, 1, "healthy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(testSettings())
			rec := newRecorder()
			e.SetFeeder(rec)
			var fed []bool
			for _, p := range tt.probes {
				e.ObserveMetrics(gaugeMetrics(map[string]any{"service.name": p.svc}, "healthcheck.status", p.points...), t0)
				for _, pt := range p.points {
					fed = append(fed, pt.v == 1)
				}
			}
			c := find(t, e.Score(t0), "checkout")
			v, ok := signalOf(c, score.Probe)
			require.True(t, ok)
			assert.InDelta(t, tt.want, v, 1e-9)
			assert.Equal(t, tt.status, c.Status)
			assert.Equal(t, fed, rec.probes["checkout"], "every probe result is passed to the breaker")
		})
	}
	t.Run("a service that sends nothing else is scored by its probes alone", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveMetrics(gaugeMetrics(map[string]any{"service.name": "legacy"}, "healthcheck.status", target("legacy-tcp", 1)), t0)
		c := find(t, e.Score(t0), "legacy")
		assert.Equal(t, 1.0, c.Score)
		assert.Equal(t, []bool{false, false, false, true, false, false}, c.Signals.Present[:])
	})
	t.Run("probe targets past the cap are counted", func(t *testing.T) {
		e := New(testSettings())
		var pts []point
		for i := range maxProbeTargets + 3 {
			pts = append(pts, target("t"+string(rune('A'+i)), 1))
		}
		e.ObserveMetrics(gaugeMetrics(map[string]any{"service.name": "many"}, "healthcheck.status", pts...), t0)
		assert.Equal(t, uint64(3), e.Stats().Skipped["series_limit"])
	})
}

// ptraceFree is a probe batch of one service.
type ptraceFree struct {
	svc    string
	points []point
}

func TestDependenciesSignal(t *testing.T) {
	t.Run("a failing edge lowers its caller, damped, weighted by its share of the calls", func(t *testing.T) {
		e := New(testSettings())
		td := traces("frontend", "", server(1000, 0, 5*time.Millisecond), client("payments", 100, 100, 5*time.Millisecond), client("catalog", 900, 0, 5*time.Millisecond))
		e.ObserveTraces(td, t0)
		snap := e.Score(t0)
		payments, catalog := find(t, snap, "payments"), find(t, snap, "catalog")
		edge := func(callee string) EdgeFigures {
			for _, f := range snap.Edges {
				if f.Callee == callee {
					return f
				}
			}
			t.Fatalf("no edge to %s", callee)
			return EdgeFigures{}
		}
		toPayments, toCatalog := edge("payments"), edge("catalog")
		require.True(t, toPayments.HasHealth)
		assert.Less(t, toPayments.Health, 0.05, "every call on the edge failed")
		assert.InDelta(t, 1, toCatalog.Health, 1e-9)
		v, ok := signalOf(find(t, snap, "frontend"), score.Dependencies)
		require.True(t, ok)
		h := func(f EdgeFigures, callee ComponentScore) float64 {
			return f.Health * (1 - calleeEvidence*(1-callee.Score))
		}
		want := 1 - 0.5*(100*(1-h(toPayments, payments))+900*(1-h(toCatalog, catalog)))/1000
		assert.InDelta(t, want, v, 1e-9)
		assert.Equal(t, "unhealthy", payments.Status)
		assert.Equal(t, "healthy", find(t, snap, "frontend").Status, "one bad leaf with a tenth of the calls does not sink the caller")
	})
	t.Run("a chain propagates along failing edges, damped at each hop", func(t *testing.T) {
		e := observed(
			traces("a", "", server(100, 0, time.Millisecond), client("b", 100, 50, time.Millisecond)),
			traces("b", "", client("c", 100, 100, time.Millisecond)),
		)
		snap := e.Score(t0)
		c, b, a := find(t, snap, "c"), find(t, snap, "b"), find(t, snap, "a")
		bDeps, _ := signalOf(b, score.Dependencies)
		aDeps, _ := signalOf(a, score.Dependencies)
		toC := snap.Edges[slices.IndexFunc(snap.Edges, func(f EdgeFigures) bool { return f.Caller == "b" })]
		assert.Less(t, toC.Health, 0.05, "b saw every call to c fail")
		assert.InDelta(t, 1-0.5*(1-toC.Health*(1-calleeEvidence*(1-c.Score))), bDeps, 1e-9)
		assert.Less(t, aDeps, 1.0)
		assert.Greater(t, aDeps, bDeps)
		assert.Less(t, c.Score, b.Score)
	})
	t.Run("a cycle settles", func(t *testing.T) {
		e := observed(
			traces("a", "", server(100, 50, time.Millisecond), client("b", 100, 0, time.Millisecond)),
			traces("b", "", client("a", 100, 0, time.Millisecond)),
		)
		snap := e.Score(t0)
		a, b := find(t, snap, "a"), find(t, snap, "b")
		assert.True(t, a.Known)
		assert.True(t, b.Known)
		assert.False(t, math.IsNaN(a.Score) || math.IsNaN(b.Score))
		bDeps, _ := signalOf(b, score.Dependencies)
		assert.InDelta(t, 1-0.5*calleeEvidence*(1-a.Score), bDeps, 1e-6, "a fixed point: b's calls to a succeed, a's own score weighs weakly")
	})
	t.Run("unknown callees do not count", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveTraces(traces("a", "", server(10, 0, time.Millisecond), client("b", 10, 0, time.Millisecond)), t0)
		e.Score(t0)
		later := t0.Add(6 * time.Minute)
		e.ObserveTraces(traces("a", "", server(10, 0, time.Millisecond)), later)
		snap := e.Score(later)
		assert.Equal(t, "unknown", find(t, snap, "b").Status)
		_, ok := signalOf(find(t, snap, "a"), score.Dependencies)
		assert.False(t, ok, "a stale edge to an unknown callee gives no dependencies signal")
	})
	t.Run("self-calls make no edge", func(t *testing.T) {
		e := New(testSettings())
		e.ObserveTraces(traces("a", "", client("a", 10, 0, time.Millisecond)), t0)
		assert.Empty(t, e.Score(t0).Edges)
	})
}

func TestSignalsCombined(t *testing.T) {
	e := New(testSettings())
	at := warm(e, "checkout", 2, 20*time.Millisecond, t0)
	at = at.Add(10 * time.Second)
	e.ObserveTraces(traces("checkout", "app-1",
		server(1000, 5, 20*time.Millisecond),
		client("payments", 1000, 0, 10*time.Millisecond)), at)
	e.ObserveTraces(traces("payments", "", server(100, 100, 10*time.Millisecond)), at)
	e.ObserveMetrics(gaugeMetrics(map[string]any{"host.name": "app-1"}, "system.memory.utilization", point{0.9, map[string]any{"state": "used"}}), at)
	e.ObserveMetrics(gaugeMetrics(map[string]any{"service.name": "checkout"}, "healthcheck.status", point{1, map[string]any{"healthcheck.target": "checkout"}}), at)
	e.ObserveLogs(logRecords("checkout", map[plog.SeverityNumber]int{plog.SeverityNumberInfo: 50}), at)
	snap := e.Score(at)
	c := find(t, snap, "checkout")
	for n := range score.NumSignals {
		assert.True(t, c.Signals.Present[n], "%s", n)
	}
	var want float64 = 1
	w := testSettings().Weights
	var total float64
	for n := range score.NumSignals {
		total += w[n]
	}
	for n := range score.NumSignals {
		want *= math.Pow(c.Signals.Value[n], w[n]/total)
	}
	// The service's own errors corroborate the busy host, so saturation weighs in full: the
	// score is at most the weighted geometric mean of the six signals.
	bounded, _ := score.Bounded(&c.Signals, &w, score.Cutoffs{Healthy: 0.9, Degraded: 0.5})
	assert.InDelta(t, bounded, c.Score, 1e-9)
	assert.LessOrEqual(t, c.Score, want+1e-12, "the weighted geometric mean of the six signals")
	assert.InDelta(t, 0.55, c.Signals.Value[score.Saturation], 1e-9)
	assert.InDelta(t, 1, c.Signals.Value[score.Probe], 1e-9)
	assert.Equal(t, score.Status(c.Score, 0.9, 0.5), c.Status)
}

func TestUnknownNeverHealthy(t *testing.T) {
	e := New(testSettings())
	e.ObserveTraces(traces("checkout", "", server(100, 0, time.Millisecond)), t0)
	assert.Equal(t, "healthy", find(t, e.Score(t0), "checkout").Status)

	// Within stale_after, an interval without calls keeps the last signals.
	c := find(t, e.Score(t0.Add(4*time.Minute)), "checkout")
	assert.Equal(t, "healthy", c.Status)

	// Past stale_after without data: unknown, with no score.
	c = find(t, e.Score(t0.Add(6*time.Minute)), "checkout")
	assert.Equal(t, "unknown", c.Status)
	assert.False(t, c.Known)
	assert.True(t, math.IsNaN(c.Score))

	// Past expire_after: forgotten.
	snap := e.Score(t0.Add(61 * time.Minute))
	assert.Empty(t, snap.Components)
	assert.Equal(t, uint64(1), e.Stats().Expired["component"])
	assert.Equal(t, int64(0), e.Stats().Components)
}

// TestExpiryFollowsLastSeen checks expiry with the passes that skip the scan while nothing can be
// old enough: what stopped being seen goes one expire_after later, what is still seen stays, and
// an entry created with an older time than the last scan's (a clock that went back) still goes.
func TestExpiryFollowsLastSeen(t *testing.T) {
	e := New(testSettings())
	mem := func(host string, at time.Time) {
		e.ObserveMetrics(gaugeMetrics(map[string]any{"host.name": host}, "system.memory.utilization", point{0.3, nil}), at)
	}
	e.ObserveTraces(traces("a", "", client("b", 10, 0, time.Millisecond), client("c", 10, 0, time.Millisecond)), t0)
	mem("host-1", t0)
	mem("host-2", t0)
	e.Score(t0)
	for m := 1; m <= 30; m++ { // passes that find nothing to forget
		at := t0.Add(time.Duration(m) * time.Minute)
		e.ObserveTraces(traces("a", "", client("b", 10, 0, time.Millisecond)), at)
		mem("host-1", at)
		e.Score(at)
	}
	st := e.Stats()
	assert.Equal(t, int64(3), st.Components)
	assert.Equal(t, int64(2), st.Edges)
	assert.Equal(t, int64(2), st.Hosts)

	// 61 minutes on, c, the edge a → c and host-2 (last seen at t0) are forgotten; a, b, a → b
	// and host-1 (seen at 30 minutes) stay.
	snap := e.Score(t0.Add(61 * time.Minute))
	assert.Equal(t, []string{"a", "b"}, names(snap))
	st = e.Stats()
	assert.Equal(t, map[string]uint64{"component": 1, "edge": 1, "host": 1}, st.Expired)
	assert.Equal(t, int64(1), st.Edges)
	assert.Equal(t, int64(1), st.Hosts)

	// Created with a time before the last scan: still forgotten one expire_after after it.
	e.ObserveTraces(traces("late", "", client("b", 1, 0, time.Millisecond)), t0.Add(10*time.Minute))
	mem("host-3", t0.Add(10*time.Minute))
	e.ObserveTraces(traces("a", "", client("late-callee", 1, 0, time.Millisecond)), t0.Add(10*time.Minute))
	snap = e.Score(t0.Add(71 * time.Minute))
	assert.Equal(t, []string{"a", "b"}, names(snap))
	st = e.Stats()
	assert.Equal(t, map[string]uint64{"component": 3, "edge": 3, "host": 2}, st.Expired)
	assert.Equal(t, int64(1), st.Edges)
	assert.Equal(t, int64(1), st.Hosts)
}

func names(s *Snapshot) []string {
	out := make([]string, 0, len(s.Components))
	for _, c := range s.Components {
		out = append(out, c.Name)
	}
	return out
}

func TestWeightZeroLeavesASignalOut(t *testing.T) {
	s := testSettings()
	s.Weights[score.Probe] = 0
	e := New(s)
	e.ObserveMetrics(gaugeMetrics(map[string]any{"service.name": "legacy"}, "healthcheck.status", point{0, map[string]any{"healthcheck.target": "x"}}), t0)
	c := find(t, e.Score(t0), "legacy")
	assert.Equal(t, "unknown", c.Status, "the only signal has weight 0")
}

func TestALastingRegressionIsReportedThenLearned(t *testing.T) {
	s := testSettings()
	s.BaselineHalfLife = time.Minute
	s.StaleAfter = 30 * time.Second
	e := New(s)
	at := warm(e, "search", 3, 20*time.Millisecond, t0)
	var reported, relearned int
	for i := range 100 {
		at = at.Add(10 * time.Second)
		e.ObserveTraces(traces("search", "", server(100, 0, 60*time.Millisecond)), at)
		v, ok := signalOf(find(t, e.Score(at), "search"), score.Latency)
		switch {
		case ok && v < 0.9 && relearned == 0:
			reported = i + 1
		case ok && v >= 0.9 && reported > 0 && relearned == 0:
			relearned = i + 1
		}
	}
	assert.GreaterOrEqual(t, reported, 5, "the 3x slowdown is reported for a while")
	assert.Positive(t, relearned, "then, the old baseline forgotten, 60 ms is the new normal")
	assert.Less(t, relearned, 30)
	t.Logf("reported for %d intervals, learned after %d", reported, relearned)
}

// logRecords is one batch of log records of service svc, n records of each severity.
func logRecords(svc string, n map[plog.SeverityNumber]int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	if svc != "" {
		rl.Resource().Attributes().PutStr("service.name", svc)
	}
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for sev, k := range n {
		for range k {
			r := recs.AppendEmpty()
			r.SetSeverityNumber(sev)
			r.Body().SetStr("something happened")
		}
	}
	return ld
}

// TestEventsSignal: a service that only logs is scored from its ERROR and FATAL records against
// its own learned rate.
func TestEventsSignal(t *testing.T) {
	e := New(testSettings())
	at := t0
	// Ten minutes of a steady 1 error/s among its info logs: the rate is learned, the signal 1.
	for range 60 {
		at = at.Add(10 * time.Second)
		e.ObserveLogs(logRecords("worker", map[plog.SeverityNumber]int{plog.SeverityNumberInfo: 100, plog.SeverityNumberError: 10}), at)
		e.Score(at)
	}
	at = at.Add(10 * time.Second)
	e.ObserveLogs(logRecords("worker", map[plog.SeverityNumber]int{plog.SeverityNumberInfo: 100, plog.SeverityNumberError: 10}), at)
	c := find(t, e.Score(at), "worker")
	v, ok := signalOf(c, score.Events)
	require.True(t, ok)
	assert.Equal(t, 1.0, v, "its usual rate")
	assert.Equal(t, "healthy", c.Status, "scored from logs alone")

	// A burst: 30 ERROR and FATAL records a second for 10 s, thirty times its rate.
	at = at.Add(10 * time.Second)
	e.ObserveLogs(logRecords("worker", map[plog.SeverityNumber]int{plog.SeverityNumberError: 200, plog.SeverityNumberFatal: 100}), at)
	c = find(t, e.Score(at), "worker")
	v, _ = signalOf(c, score.Events)
	assert.Less(t, v, 0.5)
	assert.Equal(t, "unhealthy", c.Status)

	// Severity 16 (WARN4) is not an error; 17 (ERROR) is.
	e2 := New(testSettings())
	e2.ObserveLogs(logRecords("quiet", map[plog.SeverityNumber]int{plog.SeverityNumberWarn4: 1000}), t0)
	c = find(t, e2.Score(t0), "quiet")
	v, _ = signalOf(c, score.Events)
	assert.Equal(t, 1.0, v)
	e2.ObserveLogs(logRecords("quiet", map[plog.SeverityNumber]int{plog.SeverityNumberError: 1000}), t0.Add(10*time.Second))
	c = find(t, e2.Score(t0.Add(10*time.Second)), "quiet")
	v, _ = signalOf(c, score.Events)
	assert.Less(t, v, 0.5, "a new service allowed min_rate: 100 errors/s is far above it")

	// A resource without a service name is counted and skipped.
	e2.ObserveLogs(logRecords("", map[plog.SeverityNumber]int{plog.SeverityNumberError: 3}), t0)
	assert.Equal(t, uint64(3), e2.Stats().Skipped["no_service_name"])
}
