package guardprocessor

import (
	"context"
	"encoding/binary"
	"slices"
	"time"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/vigil-collector/vigil/processor/guardprocessor/internal/metadata"
)

// Signals, as the signal attribute of the processor's own telemetry.
const (
	signalTraces  = "traces"
	signalMetrics = "metrics"
	signalLogs    = "logs"
)

// resourceSalt sets a resource's own key apart from the keys of its series.
const resourceSalt = 0x9e3779b97f4a7c15

// guard is one processor instance (one per pipeline and signal).
type guard struct {
	cfg     *Config
	signal  string
	logger  *zap.Logger
	tel     *metadata.TelemetryBuilder
	tracker *tracker
	now     func() time.Time

	signalAttr metric.MeasurementOption
}

func newGuard(set processor.Settings, cfg *Config, signal string) (*guard, error) {
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	g := &guard{
		cfg:        cfg,
		signal:     signal,
		logger:     set.Logger,
		tel:        tel,
		tracker:    newTracker(cfg.Series),
		now:        time.Now,
		signalAttr: metric.WithAttributes(attribute.String("signal", signal)),
	}
	if signal != signalLogs {
		if err := tel.ObserveInt64(tel.GuardSeries, g.tracker.total, g.signalAttr); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (g *guard) shutdown(context.Context) error {
	return g.tel.Shutdown()
}

// report turns a batch's counts into the processor's own telemetry and a warning, once per
// interval, when series were refused.
func (g *guard) report(ctx context.Context, cl *cleaner, tc trackerCounts, dropped int64) {
	if cl.truncated > 0 {
		g.tel.GuardValuesTruncated.Add(ctx, cl.truncated, g.signalAttr)
	}
	if cl.sanitized > 0 {
		g.tel.GuardValuesSanitized.Add(ctx, cl.sanitized, g.signalAttr)
	}
	if tc.refusedMax > 0 {
		g.tel.GuardSeriesRefused.Add(ctx, tc.refusedMax, metric.WithAttributes(
			attribute.String("signal", g.signal), attribute.String("reason", reasonMaxSeries)))
	}
	if tc.refusedNew > 0 {
		g.tel.GuardSeriesRefused.Add(ctx, tc.refusedNew, metric.WithAttributes(
			attribute.String("signal", g.signal), attribute.String("reason", reasonMaxNew)))
	}
	if tc.expired > 0 {
		g.tel.GuardSeriesExpired.Add(ctx, tc.expired, g.signalAttr)
	}
	if dropped > 0 {
		g.tel.GuardItemsDropped.Add(ctx, dropped, g.signalAttr)
	}
	if tc.warn {
		g.logger.Warn("guard: refusing new series until the budget frees (counted in otelcol_guard_series_refused)",
			zap.String("signal", g.signal),
			zap.Int64("tracked", tc.weight),
			zap.Int("max_series", g.cfg.Series.MaxSeries),
			zap.Int("max_new_per_interval", g.cfg.Series.MaxNewPerInterval),
			zap.Duration("interval", g.cfg.Series.Interval))
	}
}

// pass is one batch's walk: the cleaner and the hash state its keys are made with, the time its
// series are admitted at, and the items it dropped.
type pass struct {
	g       *guard
	cl      *cleaner
	nowNano int64
	h       xxhash.Digest
	dropped int64
}

// begin starts a pass over a batch with cl (the caller's, so that nothing escapes): the
// tracker begins its interval at the pass's time.
func (g *guard) begin(cl *cleaner) pass {
	now := g.now()
	g.tracker.begin(now)
	return pass{g: g, cl: cl, nowNano: now.UnixNano()}
}

// resourceKey cleans the resource's attributes and returns its key.
func (p *pass) resourceKey(res pcommon.Resource) uint64 {
	p.cl.cleanMap(res.Attributes())
	return mapHash(&p.h, res.Attributes(), 0)
}

// admit asks the tracker to admit the series key, of weight lines, at the pass's time.
func (p *pass) admit(key uint64, weight int) bool {
	return p.g.tracker.admit(key, weight, p.nowNano)
}

// end reports the pass's counts.
func (p *pass) end(ctx context.Context) {
	p.g.report(ctx, p.cl, p.g.tracker.end(), p.dropped)
}

func (g *guard) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	p := g.begin(&cleaner{maxLen: g.cfg.MaxValueLength})
	md.ResourceMetrics().RemoveIf(func(rm pmetric.ResourceMetrics) bool {
		resKey := p.resourceKey(rm.Resource())
		// A resource is a series of its own: the Prometheus exporter gives each a target_info line.
		if !p.admit(resKey^resourceSalt, 1) {
			p.dropped += int64(rm.ScopeMetrics().Len()) // counted per scope: the points are not walked
			return true
		}
		rm.ScopeMetrics().RemoveIf(func(sm pmetric.ScopeMetrics) bool {
			scopeKey := scopeHash(&p.h, p.cl, sm.Scope(), resKey)
			sm.Metrics().RemoveIf(func(m pmetric.Metric) bool {
				p.cl.cleanName(m.Name(), m.SetName)
				nameKey := stringHash(&p.h, m.Name(), scopeKey)
				admit := func(attrs pcommon.Map, weight int) bool {
					p.cl.cleanMap(attrs)
					if p.admit(mapHash(&p.h, attrs, nameKey), weight) {
						return false
					}
					p.dropped++
					return true
				}
				return removePoints(m, admit)
			})
			return sm.Metrics().Len() == 0
		})
		return rm.ScopeMetrics().Len() == 0
	})
	p.end(ctx)
	return md, nil
}

// removePoints drops the data points refuse says to drop, and reports whether the metric is
// left empty. Each point's weight is the lines it takes in a Prometheus page.
func removePoints(m pmetric.Metric, refuse func(pcommon.Map, int) bool) bool {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		dps.RemoveIf(func(dp pmetric.NumberDataPoint) bool { return refuse(dp.Attributes(), 1) })
		return dps.Len() == 0
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		dps.RemoveIf(func(dp pmetric.NumberDataPoint) bool { return refuse(dp.Attributes(), 1) })
		return dps.Len() == 0
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		dps.RemoveIf(func(dp pmetric.HistogramDataPoint) bool {
			return refuse(dp.Attributes(), dp.ExplicitBounds().Len()+3)
		})
		return dps.Len() == 0
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		dps.RemoveIf(func(dp pmetric.ExponentialHistogramDataPoint) bool {
			return refuse(dp.Attributes(), dp.Positive().BucketCounts().Len()+dp.Negative().BucketCounts().Len()+3)
		})
		return dps.Len() == 0
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		dps.RemoveIf(func(dp pmetric.SummaryDataPoint) bool {
			return refuse(dp.Attributes(), dp.QuantileValues().Len()+2)
		})
		return dps.Len() == 0
	}
	return true // an empty metric carries nothing
}

func (g *guard) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	p := g.begin(&cleaner{maxLen: g.cfg.MaxValueLength})
	cl := p.cl
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		resKey := p.resourceKey(rs.Resource())
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			scopeKey := scopeHash(&p.h, cl, ss.Scope(), resKey)
			// Spans of one scope mostly repeat a few (name, kind) pairs: the last decision is
			// reused for the next span with the same pair, without hashing it again.
			var lastName string
			lastKind, lastAdmit := ptrace.SpanKind(-1), false
			ss.Spans().RemoveIf(func(s ptrace.Span) bool {
				cl.cleanName(s.Name(), s.SetName)
				cl.cleanMap(s.Attributes())
				for i := 0; i < s.Events().Len(); i++ {
					ev := s.Events().At(i)
					cl.cleanName(ev.Name(), ev.SetName)
					cl.cleanMap(ev.Attributes())
				}
				if s.Kind() != lastKind || s.Name() != lastName {
					lastName, lastKind = s.Name(), s.Kind()
					lastAdmit = p.admit(stringHash(&p.h, lastName, scopeKey^uint64(lastKind)), 1)
				}
				if lastAdmit {
					return false
				}
				p.dropped++
				return true
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	p.end(ctx)
	return td, nil
}

// processLogs only cleans: logs make no series here.
func (g *guard) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	cl := &cleaner{maxLen: g.cfg.MaxValueLength}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		cl.cleanMap(rl.Resource().Attributes())
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			cl.cleanMap(sl.Scope().Attributes())
			for k := 0; k < sl.LogRecords().Len(); k++ {
				cl.cleanMap(sl.LogRecords().At(k).Attributes())
			}
		}
	}
	g.report(ctx, cl, trackerCounts{}, 0)
	return ld, nil
}

// scopeHash cleans the scope's name, version and attributes and returns its key under parent:
// the Prometheus exporter puts the scope name and version on every series.
func scopeHash(h *xxhash.Digest, cl *cleaner, sc pcommon.InstrumentationScope, parent uint64) uint64 {
	cl.cleanName(sc.Name(), sc.SetName)
	cl.cleanName(sc.Version(), sc.SetVersion)
	cl.cleanMap(sc.Attributes())
	k := stringHash(h, sc.Name(), parent)
	k = stringHash(h, sc.Version(), k)
	return mapHash(h, sc.Attributes(), k)
}

// stringHash hashes s under parent.
func stringHash(h *xxhash.Digest, s string, parent uint64) uint64 {
	h.Reset()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], parent)
	_, _ = h.Write(b[:])
	_, _ = h.WriteString(s)
	return h.Sum64()
}

// mapHash hashes m's keys and values in key order under parent, so the order a sender wrote the
// attributes in does not make a new series.
func mapHash(h *xxhash.Digest, m pcommon.Map, parent uint64) uint64 {
	h.Reset()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], parent)
	_, _ = h.Write(b[:])
	if m.Len() == 0 {
		return h.Sum64()
	}
	keys := make([]string, 0, m.Len())
	m.Range(func(k string, _ pcommon.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.Sort(keys)
	for _, k := range keys {
		v, _ := m.Get(k)
		_, _ = h.WriteString(k)
		_, _ = h.Write([]byte{0})
		_, _ = h.WriteString(v.AsString())
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}
