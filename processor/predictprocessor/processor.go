package predictprocessor

import (
	"context"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
	"github.com/vigil-collector/vigil/processor/predictprocessor/internal/metadata"
)

// predictProcessor learns one model per watched series and appends predict.* metrics.
type predictProcessor struct {
	cfg      *Config
	logger   *zap.Logger
	rules    map[string][]*rule
	store    *store
	tel      *metadata.TelemetryBuilder
	trendCfg forecast.TrendConfig
	detCfg   forecast.DetectorConfig
	warmUp   int64                // ns
	status   statusfeed.Publisher // where predictions of services go (nil: nowhere); set at start
}

func newPredictProcessor(set processor.Settings, cfg *Config) (*predictProcessor, error) {
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &predictProcessor{
		cfg:      cfg,
		logger:   set.Logger,
		rules:    compileRules(cfg),
		store:    newStore(cfg.MaxSeries),
		tel:      tel,
		trendCfg: forecast.TrendConfig{Fast: cfg.Model.Fast, Slow: cfg.Model.Slow, Damping: cfg.Model.Damping},
		detCfg:   forecast.DefaultDetectorConfig(),
		warmUp:   int64(cfg.WarmUp),
	}
	if err := tel.ObserveInt64(tel.PredictSeries, p.store.len); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *predictProcessor) start(_ context.Context, host component.Host) error {
	pub, err := statusfeed.Find(host, p.cfg.StatusExtension)
	if err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	p.status = pub
	p.logger.Info("predict processor watching", zap.Int("rules", len(p.cfg.Watch)), zap.Int("max_series", p.cfg.MaxSeries))
	for _, w := range thresholdWarnings(p.cfg.Watch) {
		p.logger.Warn("predict: " + w)
	}
	return nil
}

func (p *predictProcessor) shutdown(context.Context) error {
	return p.tel.Shutdown()
}

// batchStats are the telemetry counts of one batch, added once at its end.
type batchStats struct {
	points  int64
	skipped map[skipReason]int64
}

func (b *batchStats) skip(r skipReason) {
	if r == skipFirst {
		return
	}
	if b.skipped == nil {
		b.skipped = map[skipReason]int64{}
	}
	b.skipped[r]++
}

func (p *predictProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	var stats batchStats
	var preds []statusfeed.Prediction
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		p.processResource(rms.At(i), &stats, &preds)
	}
	if p.status != nil && len(preds) > 0 {
		p.status.PublishPredictions(preds)
	}
	if stats.points > 0 {
		p.tel.PredictPoints.Add(ctx, stats.points)
	}
	if n := p.store.evicted.Swap(0); n > 0 {
		p.tel.PredictSeriesEvicted.Add(ctx, n)
	}
	for r, n := range stats.skipped {
		p.tel.PredictPointsSkipped.Add(ctx, n, metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", string(r)))))
	}
	return md, nil
}

// pointRef is a watched point: where it sits and which value it yielded.
type pointRef struct {
	metric string
	unit   string
	attrs  pcommon.Map
	ts     pcommon.Timestamp
}

func (p *predictProcessor) processResource(rm pmetric.ResourceMetrics, stats *batchStats, preds *[]statusfeed.Prediction) {
	out := emitter{rm: rm}
	if p.status != nil {
		if svc, ok := rm.Resource().Attributes().Get("service.name"); ok && svc.Str() != "" {
			out.service, out.preds = svc.Str(), preds
		}
	}
	var resHash [2]uint64
	hashed := false
	sms := rm.ScopeMetrics()
	n := sms.Len() // outputs are appended after the existing scopes and not read again
	for j := 0; j < n; j++ {
		sm := sms.At(j)
		if sm.Scope().Name() == metadata.ScopeName {
			continue // our own output from an earlier predict in the pipeline
		}
		ms := sm.Metrics()
		for k := 0; k < ms.Len(); k++ {
			m := ms.At(k)
			rules := p.rules[m.Name()]
			if len(rules) == 0 {
				continue
			}
			if !hashed {
				resHash = [2]uint64{mapHash(rm.Resource().Attributes(), keySeeds[0]), mapHash(rm.Resource().Attributes(), keySeeds[1])}
				hashed = true
			}
			p.processMetric(m, rules, rm.Resource().Attributes(), resHash, &out, stats)
		}
	}
}

// metricWalk is what the points of one watched metric share while they are walked.
type metricWalk struct {
	p        *predictProcessor
	rules    []*rule
	resAttrs pcommon.Map
	resHash  [2]uint64
	ref      pointRef
	out      *emitter
	stats    *batchStats
}

// find returns the first rule the point matches, or nil.
func (w *metricWalk) find(attrs pcommon.Map) *rule {
	for _, r := range w.rules {
		if r.matches(attrs, w.resAttrs) {
			return r
		}
	}
	return nil
}

// dataPoint is what every pdata point type offers that the walk reads.
type dataPoint interface {
	Attributes() pcommon.Map
	Timestamp() pcommon.Timestamp
	Flags() pmetric.DataPointFlags
}

// pointSlice is a pdata slice of points of type P.
type pointSlice[P dataPoint] interface {
	Len() int
	At(int) P
}

// walkPoints learns every point of dps that a rule selects, value turning the point into the
// value its series learns. A point flagged as holding no recorded value is a counted skip.
func walkPoints[P dataPoint, S pointSlice[P]](w *metricWalk, dps S, value func(*series, P, int64) (float64, skipReason)) {
	for i := 0; i < dps.Len(); i++ {
		dp := dps.At(i)
		r := w.find(dp.Attributes())
		if r == nil {
			continue
		}
		w.ref.attrs, w.ref.ts = dp.Attributes(), dp.Timestamp()
		w.p.observe(r, w.ref, w.resHash, w.out, w.stats, func(s *series, ts int64) (float64, skipReason) {
			if dp.Flags().NoRecordedValue() {
				return 0, skipNoValue
			}
			return value(s, dp, ts)
		})
	}
}

func (p *predictProcessor) processMetric(m pmetric.Metric, rules []*rule, resAttrs pcommon.Map, resHash [2]uint64, out *emitter, stats *batchStats) {
	w := &metricWalk{p: p, rules: rules, resAttrs: resAttrs, resHash: resHash, ref: pointRef{metric: m.Name(), unit: m.Unit()}, out: out, stats: stats}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		walkPoints(w, m.Gauge().DataPoints(), gaugeValue)
	case pmetric.MetricTypeSum:
		sum := m.Sum()
		if sum.IsMonotonic() {
			w.ref.unit += "/s"
		}
		walkPoints(w, sum.DataPoints(), func(s *series, dp pmetric.NumberDataPoint, ts int64) (float64, skipReason) {
			return s.sumValue(sum, dp, ts)
		})
	case pmetric.MetricTypeHistogram:
		temporality := m.Histogram().AggregationTemporality()
		walkPoints(w, m.Histogram().DataPoints(), func(s *series, dp pmetric.HistogramDataPoint, ts int64) (float64, skipReason) {
			return s.histogramValue(temporality, dp, ts)
		})
	case pmetric.MetricTypeExponentialHistogram:
		temporality := m.ExponentialHistogram().AggregationTemporality()
		walkPoints(w, m.ExponentialHistogram().DataPoints(), func(s *series, dp pmetric.ExponentialHistogramDataPoint, ts int64) (float64, skipReason) {
			return s.expHistogramValue(temporality, dp, ts)
		})
	case pmetric.MetricTypeSummary:
		walkPoints(w, m.Summary().DataPoints(), (*series).summaryValue)
	default:
		stats.skip(skipUnsupported)
	}
}

// prediction is what one learnt point yields, computed under the series' lock and written after.
type prediction struct {
	values     []float64
	hasTTT     bool
	ttt        float64
	risk       float64
	anomaly    float64
	hasAnomaly bool // the detector is warm: before, no anomaly score is emitted
	burn       []forecast.BurnState
	burnRisk   float64
	burnWindow string
	burnFiring bool
}

// maxRiskNotFiring caps the error-budget risk of pairs that do not fire (yet).
const maxRiskNotFiring = 0.99

// observe learns one point of series (r, ref) and emits its predictions once the series is warm.
func (p *predictProcessor) observe(r *rule, ref pointRef, resHash [2]uint64, out *emitter, stats *batchStats, value func(*series, int64) (float64, skipReason)) {
	s, err := p.store.getOrCreate(makeKey(r, ref.metric, resHash, ref.attrs), func() *series { return p.newSeries(r) })
	if err != nil { // not expected: keys are valid names and no series is pinned
		stats.skip(skipUnsupported)
		return
	}
	if ref.ts == 0 { // a point without a time is taken as observed now
		ref.ts = pcommon.NewTimestampFromTime(time.Now())
	}
	s.mu.Lock()
	v, reason := value(s, int64(ref.ts))
	if reason != skipNone {
		s.mu.Unlock()
		stats.skip(reason)
		return
	}
	stats.points++
	pred, warm := p.learn(s, int64(ref.ts), v)
	s.mu.Unlock()
	if warm {
		out.emit(r, ref, &pred)
	}
}

func (p *predictProcessor) newSeries(r *rule) *series {
	s := &series{rule: r, trend: forecast.NewTrend(p.trendCfg)}
	s.det.Init(p.detCfg)
	if r.linear {
		s.linear = forecast.NewLinear(r.window.Milliseconds(), defaultLinearMaxPoints)
	}
	if r.objective > 0 {
		// Windows were validated with the config, so NewBurn cannot fail here.
		s.burn, _ = forecast.NewBurn(r.objective, r.burnWindows)
	}
	return s
}

// learn updates every model of s with v at ts (ns) and, once s is warm, returns its predictions.
func (p *predictProcessor) learn(s *series, ts int64, v float64) (prediction, bool) {
	t := float64(ts) / 1e9
	dt := 0.0
	if s.points > 0 {
		dt = float64(ts-s.last) / 1e9
	} else {
		s.first = ts
	}
	s.last = ts
	s.points++
	s.trend.Add(t, v)
	anomaly := s.det.UpdateAt(time.Unix(0, ts), v)
	if s.linear != nil {
		s.linear.Add(ts/1e6, v)
	}
	if s.burn != nil {
		s.burn.Update(t, v, dt)
	}
	if s.points < p.cfg.WarmUpPoints || ts-s.first < p.warmUp {
		return prediction{}, false
	}
	r := s.rule
	pred := prediction{anomaly: anomaly, hasAnomaly: s.det.Warm(), values: make([]float64, len(r.horizons))}
	reach := math.Inf(1) // a linear rule extrapolates as far as asked, as predict_linear does
	if s.linear == nil {
		reach = s.trend.Reach()
	}
	var slope, intercept float64
	if s.linear != nil {
		slope, intercept = s.linear.Fit(s.linear.Latest())
	}
	for i, h := range r.horizons {
		if h > reach { // not enough history to look this far: no value (NaN is not emitted)
			pred.values[i] = math.NaN()
			continue
		}
		if s.linear != nil {
			pred.values[i] = intercept + slope*h // predict_linear(series[window], h)
		} else {
			pred.values[i] = s.trend.Mean(h)
		}
		pred.values[i] = math.Min(math.Max(pred.values[i], r.lo), r.hi)
	}
	if r.hasThreshold {
		if s.linear != nil {
			pred.ttt, pred.hasTTT = linearCrossing(slope, intercept, r.threshold, r.dir, r.maxHorizon)
			pred.risk = s.trend.Risk(r.threshold, r.dir, r.maxHorizon, r.horizons)
		} else {
			a := s.trend.Assess(r.threshold, r.dir, r.maxHorizon, r.horizons)
			pred.ttt, pred.hasTTT, pred.risk = a.TimeToThreshold, a.Crosses, a.Risk
		}
	}
	if s.burn != nil {
		pred.burn = s.burn.Evaluate(make([]forecast.BurnState, 0, len(r.burnWindows)))
		// Risk 1 names the first firing pair (the configured order is fastest first); short of
		// firing, the pair closest to it, capped below 1.
		for _, b := range pred.burn {
			if b.Firing {
				pred.burnRisk, pred.burnWindow, pred.burnFiring = 1, b.Window.Name(), true
				break
			}
			if lvl := math.Min(b.Level(), maxRiskNotFiring); lvl > pred.burnRisk || pred.burnWindow == "" {
				pred.burnRisk, pred.burnWindow = math.Max(lvl, 0), b.Window.Name()
			}
		}
	}
	return pred, true
}

// linearCrossing is the time until the least-squares line over the window reaches thr.
func linearCrossing(slope, intercept, thr, dir, maxH float64) (float64, bool) {
	if math.IsNaN(slope) {
		return 0, false
	}
	if dir*(thr-intercept) <= 0 {
		return 0, true
	}
	if dir*slope <= 0 {
		return 0, false
	}
	h := (thr - intercept) / slope
	return h, h <= maxH
}
