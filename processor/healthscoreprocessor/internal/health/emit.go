package health

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

// The metrics the processor emits (see docs/DESIGN.md's contract).
const (
	MetricScore          = "health.score"
	MetricStatus         = "health.status"
	MetricRootCause      = "health.root_cause"
	MetricSignal         = "health.signal"
	MetricDependencyRate = "health.dependency.call.rate"
	MetricDependencyErr  = "health.dependency.error.ratio"
	MetricDependencyP95  = "health.dependency.latency.p95"
	MetricBreakerState   = "breaker.state"

	attrServiceName = "service.name"
	attrStatus      = "health.status"
	attrSignalName  = "health.signal.name"
	attrPeerService = "peer.service"
	attrBreaker     = "breaker.target"
	attrMode        = "breaker.mode"
)

// statuses are the values of the health.status state set, one point each.
var statuses = [...]string{"healthy", "degraded", "unhealthy", "unknown"}

// resourceOut collects one resource's metrics while a snapshot is written out.
type resourceOut struct {
	ms  pmetric.MetricSlice
	dps [len(defs)]pmetric.NumberDataPointSlice // by defs index, once created
	has [len(defs)]bool
}

type metricDef struct {
	name, unit, desc string
}

var defs = [8]metricDef{
	{MetricScore, "{score}", "Health of the component: 1 healthy, 0 down; NaN while unknown (see health.status)."},
	{MetricSignal, "{score}", "The signals behind health.score, each in [0,1]; only signals with fresh data."},
	{MetricDependencyRate, "{call}/s", "Calls per second from the resource's service to peer.service."},
	{MetricDependencyErr, "1", "Share of the calls to peer.service that failed."},
	{MetricDependencyP95, "s", "95th percentile latency of the calls to peer.service."},
	{MetricBreakerState, "{state}", "Circuit breaker state of breaker.target: 0 closed, 1 half-open, 2 open; breaker.mode says whether the state machine (auto) or an operator's override decides."},
	{MetricStatus, "{state}", "Status of the component as a state set: one point per health.status value, 1 for the current status, 0 for the others."},
	{MetricRootCause, "{rank}", "The component's rank among the root causes of this pass (1 = most likely): its own evidence explains why connected components are not healthy; 0 when it is none."},
}

// points returns the points of metric defs[i] in this resource, adding the metric on first use.
func (r *resourceOut) points(i int) pmetric.NumberDataPointSlice {
	if !r.has[i] {
		m := r.ms.AppendEmpty()
		m.SetName(defs[i].name)
		m.SetUnit(defs[i].unit)
		m.SetDescription(defs[i].desc)
		r.dps[i] = m.SetEmptyGauge().DataPoints()
		r.has[i] = true
	}
	return r.dps[i]
}

// Selection says which metrics a snapshot writes out.
type Selection struct {
	Score, Status, RootCause, Signal                               bool
	DependencyCallRate, DependencyErrorRatio, DependencyLatencyP95 bool
	BreakerState                                                   bool
}

// AllMetrics selects every metric.
var AllMetrics = Selection{
	Score: true, Status: true, RootCause: true, Signal: true,
	DependencyCallRate: true, DependencyErrorRatio: true, DependencyLatencyP95: true,
	BreakerState: true,
}

// Metrics writes every metric of the snapshot (MetricsOf with AllMetrics).
func (s *Snapshot) Metrics(scope string) pmetric.Metrics { return s.MetricsOf(scope, AllMetrics) }

// MetricsOf writes the selected metrics of the snapshot as OTLP metrics under scope: one resource per service
// (service.name) holding its health.score, health.signal, the health.dependency.* of its
// outgoing edges and its breaker.state; breaker targets that are not components get a resource
// of their own. Everything is sorted by name, so equal snapshots give equal metrics.
func (s *Snapshot) MetricsOf(scope string, sel Selection) pmetric.Metrics {
	md := pmetric.NewMetrics()
	ts := pcommon.NewTimestampFromTime(s.At)
	out := map[string]*resourceOut{}
	resource := func(name string) *resourceOut {
		if r, ok := out[name]; ok {
			return r
		}
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr(attrServiceName, name)
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(scope)
		r := &resourceOut{ms: sm.Metrics()}
		out[name] = r
		return r
	}
	point := func(dps pmetric.NumberDataPointSlice, v float64) pmetric.NumberDataPoint {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(ts)
		dp.SetDoubleValue(v)
		return dp
	}

	for _, c := range s.Components {
		if !sel.Score && !sel.Status && !sel.RootCause && !sel.Signal {
			break
		}
		r := resource(c.Name)
		if sel.Score {
			point(r.points(0), c.Score)
		}
		if sel.Status {
			for _, st := range statuses {
				v := 0.0
				if st == c.Status {
					v = 1
				}
				point(r.points(6), v).Attributes().PutStr(attrStatus, st)
			}
		}
		if sel.RootCause {
			point(r.points(7), float64(c.RootCauseRank))
		}
		for n := range score.NumSignals {
			if sel.Signal && c.Signals.Present[n] {
				point(r.points(1), c.Signals.Value[n]).Attributes().PutStr(attrSignalName, n.String())
			}
		}
	}
	for _, d := range s.Edges {
		if !sel.DependencyCallRate && !sel.DependencyErrorRatio && !sel.DependencyLatencyP95 {
			break
		}
		r := resource(d.Caller)
		if sel.DependencyCallRate {
			point(r.points(2), d.Rate).Attributes().PutStr(attrPeerService, d.Callee)
		}
		if sel.DependencyErrorRatio && d.HasCalls {
			point(r.points(3), d.ErrorRatio).Attributes().PutStr(attrPeerService, d.Callee)
		}
		if sel.DependencyLatencyP95 && d.HasLatency {
			point(r.points(4), d.LatencyP95).Attributes().PutStr(attrPeerService, d.Callee)
		}
	}
	for _, b := range s.Breakers {
		if !sel.BreakerState {
			break
		}
		r := resource(b.Target)
		attrs := point(r.points(5), float64(b.State)).Attributes()
		attrs.PutStr(attrBreaker, b.Target)
		attrs.PutStr(attrMode, b.Mode)
	}
	return md
}
