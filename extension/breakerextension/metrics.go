package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/metadata"
)

// metrics exposes per-target breaker state on the API port's /metrics through its own
// client_golang registry, behind the API's auth (the collector's own telemetry carries the
// extension's aggregate figures: observe). Per-target values are read from the breakers at
// scrape time, so the hot path pays nothing for them; per-target transition counters are kept
// here, and forgotten with their target when it is evicted.
type metrics struct {
	registry *breaker.Registry
	hub      *hub

	mu          sync.Mutex
	transitions map[transitionKey]uint64
	byState     map[stateReason]uint64 // every transition, by state entered and reason; never pruned

	stateDesc, callsDesc, failureRateDesc, slowRateDesc, baselineDesc    *prometheus.Desc
	transitionsDesc, targetsDesc, droppedDesc, evictedDesc, watchersDesc *prometheus.Desc
	watchDroppedDesc                                                     *prometheus.Desc
}

type transitionKey struct{ target, to, reason string }

// stateReason is bounded: a few states times a few reasons.
type stateReason struct{ to, reason string }

func newMetrics() *metrics {
	target := []string{"target"}
	return &metrics{
		transitions: map[transitionKey]uint64{},
		byState:     map[stateReason]uint64{},
		stateDesc: prometheus.NewDesc("vigil_breaker_state",
			"Breaker state the target acts in: 0 closed, 1 half-open, 2 open (forced_open is 2, forced_closed 0, disabled shows the machine).",
			[]string{"target", "mode"}, nil),
		callsDesc: prometheus.NewDesc("vigil_breaker_window_calls",
			"Calls in the target's evaluation window.", target, nil),
		failureRateDesc: prometheus.NewDesc("vigil_breaker_failure_rate",
			"Failure rate (errors and timeouts) in the target's evaluation window.", target, nil),
		slowRateDesc: prometheus.NewDesc("vigil_breaker_slow_rate",
			"Slow-call rate in the target's evaluation window.", target, nil),
		baselineDesc: prometheus.NewDesc("vigil_breaker_baseline_failure_rate",
			"The target's learned failure rate.", target, nil),
		transitionsDesc: prometheus.NewDesc("vigil_breaker_transitions_total",
			"Transitions of the target's breaker, by the state entered and why.",
			[]string{"target", "to", "reason"}, nil),
		targetsDesc: prometheus.NewDesc("vigil_breaker_targets",
			"Targets tracked (at most max_targets).", nil, nil),
		droppedDesc: prometheus.NewDesc("vigil_breaker_dropped_total",
			"Outcomes and probes dropped for an invalid target name.", nil, nil),
		evictedDesc: prometheus.NewDesc("vigil_breaker_evicted_targets_total",
			"Targets evicted, least recently seen first, to stay within max_targets.", nil, nil),
		watchersDesc: prometheus.NewDesc("vigil_breaker_watch_streams",
			"Open gRPC health Watch streams.", nil, nil),
		watchDroppedDesc: prometheus.NewDesc("vigil_breaker_watch_dropped_total",
			"Transitions a slow watch stream missed because its buffer was full.", nil, nil),
	}
}

func (m *metrics) countTransition(tr breaker.Transition) {
	m.mu.Lock()
	m.transitions[transitionKey{tr.Target, tr.To, tr.Reason}]++
	m.byState[stateReason{tr.To, tr.Reason}]++
	m.mu.Unlock()
}

// observe returns the callback that reports the extension's aggregate figures through the
// collector's own telemetry.
func (m *metrics) observe(tb *metadata.TelemetryBuilder) metric.Callback {
	return func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(tb.Targets, int64(m.registry.Len()))
		o.ObserveInt64(tb.Dropped, int64(m.registry.Dropped()))
		o.ObserveInt64(tb.Evicted, int64(m.registry.Evicted()))
		o.ObserveInt64(tb.WatchStreams, int64(m.hub.Subscribers()))
		o.ObserveInt64(tb.WatchDropped, int64(m.hub.Dropped()))
		m.mu.Lock()
		defer m.mu.Unlock()
		for k, n := range m.byState {
			o.ObserveInt64(tb.Transitions, int64(n), metric.WithAttributes(attribute.String("to", k.to), attribute.String("reason", k.reason)))
		}
		return nil
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		m.stateDesc, m.callsDesc, m.failureRateDesc, m.slowRateDesc, m.baselineDesc,
		m.transitionsDesc, m.targetsDesc, m.droppedDesc, m.evictedDesc, m.watchersDesc, m.watchDroppedDesc,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	known := map[string]bool{}
	for _, st := range m.registry.List() {
		known[st.Target] = true
		state, _ := m.registry.State(st.Target)
		ch <- prometheus.MustNewConstMetric(m.stateDesc, prometheus.GaugeValue, stateValue(state), st.Target, st.Mode)
		ch <- prometheus.MustNewConstMetric(m.callsDesc, prometheus.GaugeValue, float64(st.Calls), st.Target)
		ch <- prometheus.MustNewConstMetric(m.failureRateDesc, prometheus.GaugeValue, st.FailureRate, st.Target)
		ch <- prometheus.MustNewConstMetric(m.slowRateDesc, prometheus.GaugeValue, st.SlowRate, st.Target)
		ch <- prometheus.MustNewConstMetric(m.baselineDesc, prometheus.GaugeValue, st.Baseline.FailureRate, st.Target)
	}
	m.mu.Lock()
	for k, n := range m.transitions {
		if !known[k.target] {
			delete(m.transitions, k) // evicted: its counters go with it
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.transitionsDesc, prometheus.CounterValue, float64(n), k.target, k.to, k.reason)
	}
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.targetsDesc, prometheus.GaugeValue, float64(m.registry.Len()))
	ch <- prometheus.MustNewConstMetric(m.droppedDesc, prometheus.CounterValue, float64(m.registry.Dropped()))
	ch <- prometheus.MustNewConstMetric(m.evictedDesc, prometheus.CounterValue, float64(m.registry.Evicted()))
	ch <- prometheus.MustNewConstMetric(m.watchersDesc, prometheus.GaugeValue, float64(m.hub.Subscribers()))
	ch <- prometheus.MustNewConstMetric(m.watchDroppedDesc, prometheus.CounterValue, float64(m.hub.Dropped()))
}

// stateValue encodes a state as the breaker.state metric does.
func stateValue(s breakerfeed.State) float64 { return float64(s) }
