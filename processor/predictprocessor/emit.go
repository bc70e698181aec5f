package predictprocessor

import (
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/processor/predictprocessor/internal/metadata"
)

// Names of the metrics and attributes the processor appends (DESIGN.md's contract).
const (
	metricValue       = "predict.value"
	metricTTT         = "predict.time_to_threshold"
	metricRisk        = "predict.risk"
	metricAnomaly     = "predict.anomaly.score"
	metricBurnRate    = "predict.error_budget.burn_rate"
	attrSource        = "predict.source"
	attrHorizon       = "predict.horizon"
	attrThreshold     = "predict.threshold"
	attrRiskType      = "predict.risk.type"
	attrWindow        = "predict.window"
	attrFiring        = "predict.firing"
	riskTypeThreshold = "threshold"
	riskTypeBudget    = "error_budget"
	attrBurnFactor    = "predict.burn.factor"
	attrBurnSpan      = "predict.burn.span"
)

// emitter appends predict.* metrics to one ResourceMetrics, creating its scope and each metric
// the first time it is needed.
type emitter struct {
	rm      pmetric.ResourceMetrics
	sm      pmetric.ScopeMetrics
	started bool
	values  map[string]pmetric.NumberDataPointSlice // by unit
	gauges  map[string]pmetric.NumberDataPointSlice // by metric name

	// service is the resource's service.name; when set, each prediction is also appended to
	// preds for the status extension.
	service string
	preds   *[]statusfeed.Prediction
}

func (e *emitter) scope() pmetric.ScopeMetrics {
	if !e.started {
		e.sm = e.rm.ScopeMetrics().AppendEmpty()
		e.sm.Scope().SetName(metadata.ScopeName)
		e.started = true
		e.values = map[string]pmetric.NumberDataPointSlice{}
		e.gauges = map[string]pmetric.NumberDataPointSlice{}
	}
	return e.sm
}

func (e *emitter) gauge(name, unit, description string) pmetric.NumberDataPointSlice {
	return e.cachedGauge(false, name, name, unit, description)
}

// valueGauge returns predict.value for a source unit: one metric per unit, since a metric has one.
func (e *emitter) valueGauge(unit string) pmetric.NumberDataPointSlice {
	return e.cachedGauge(true, unit, metricValue, unit, "Forecast of the source series predict.horizon seconds ahead")
}

// cachedGauge returns the points of the gauge cached under key (among the predict.value
// gauges when values is set), adding the gauge to the output scope the first time.
func (e *emitter) cachedGauge(values bool, key, name, unit, description string) pmetric.NumberDataPointSlice {
	sm := e.scope()
	cache := e.gauges
	if values {
		cache = e.values
	}
	if g, ok := cache[key]; ok {
		return g
	}
	m := sm.Metrics().AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	m.SetDescription(description)
	g := m.SetEmptyGauge().DataPoints()
	cache[key] = g
	return g
}

// point appends a point carrying the source point's attributes and predict.source.
func point(g pmetric.NumberDataPointSlice, ref pointRef, v float64) pcommon.Map {
	dp := g.AppendEmpty()
	dp.SetTimestamp(ref.ts)
	dp.SetDoubleValue(v)
	attrs := dp.Attributes()
	ref.attrs.CopyTo(attrs)
	attrs.PutStr(attrSource, ref.metric)
	return attrs
}

func (e *emitter) emit(r *rule, ref pointRef, pred *prediction) {
	if e.preds != nil {
		sp := statusfeed.Prediction{Service: e.service, Source: ref.metric, At: ref.ts.AsTime(),
			Risk: max(pred.risk, pred.burnRisk), Anomaly: pred.anomaly, HasThreshold: r.hasThreshold, Threshold: r.threshold}
		if r.hasThreshold && pred.hasTTT {
			sp.HasTimeToThreshold, sp.TimeToThreshold = true, time.Duration(pred.ttt*float64(time.Second))
		}
		*e.preds = append(*e.preds, sp)
	}
	if len(pred.values) > 0 {
		g := e.valueGauge(ref.unit)
		for i, v := range pred.values {
			if !math.IsNaN(v) {
				point(g, ref, v).PutInt(attrHorizon, r.horizonAttr[i])
			}
		}
	}
	if r.hasThreshold {
		if pred.hasTTT {
			g := e.gauge(metricTTT, "s", "Seconds until the forecast crosses predict.threshold (0: already past it)")
			point(g, ref, pred.ttt).PutDouble(attrThreshold, r.threshold)
		}
		g := e.gauge(metricRisk, "1", "Probability of crossing the threshold within the horizon, or error-budget burn risk")
		a := point(g, ref, pred.risk)
		a.PutStr(attrRiskType, riskTypeThreshold)
		a.PutDouble(attrThreshold, r.threshold)
	}
	if pred.hasAnomaly {
		g := e.gauge(metricAnomaly, "1", "How unusual the latest value is for this series, 0..1")
		point(g, ref, pred.anomaly)
	}
	if len(pred.burn) > 0 {
		g := e.gauge(metricRisk, "1", "Probability of crossing the threshold within the horizon, or error-budget burn risk")
		a := point(g, ref, pred.burnRisk)
		a.PutStr(attrRiskType, riskTypeBudget)
		a.PutStr(attrWindow, pred.burnWindow)
		a.PutBool(attrFiring, pred.burnFiring)
		rates := e.gauge(metricBurnRate, "1", "Error-budget burn rate over each window pair (1 = on budget)")
		for _, b := range pred.burn {
			ba := point(rates, ref, b.LongRate)
			ba.PutStr(attrWindow, b.Window.Name())
			ba.PutStr(attrBurnSpan, "long")
			ba.PutDouble(attrBurnFactor, b.Window.Factor)
			ba.PutBool(attrFiring, b.Firing)
			ba = point(rates, ref, b.ShortRate)
			ba.PutStr(attrWindow, b.Window.Name())
			ba.PutStr(attrBurnSpan, "short")
			ba.PutDouble(attrBurnFactor, b.Window.Factor)
			ba.PutBool(attrFiring, b.Firing)
		}
	}
}
