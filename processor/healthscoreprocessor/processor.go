package healthscoreprocessor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/health"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

// appendWindow is how long a scoring pass's metrics wait for a metrics batch to ride on before
// the processor emits them on its own (at most half the interval).
const appendWindow = time.Second

// healthScore is the state one component ID shares between its traces and metrics halves.
type healthScore struct {
	cfg     *Config
	logger  *zap.Logger
	engine  *health.Engine
	tel     *metadata.TelemetryBuilder
	release func()
	now     func() time.Time

	mu      sync.Mutex // running, stop, done
	running int        // halves started and not shut down
	stop    chan struct{}
	done    chan struct{}

	outMu   sync.Mutex // outputs; held while emitting, so a detaching half waits for it
	outputs []*metricsHalf

	pending atomic.Pointer[pmetric.Metrics] // the last pass's metrics, not yet sent

	status statusfeed.Publisher // set at start before the loop runs, read by the loop only
}

func newHealthScore(set processor.Settings, cfg *Config, release func()) (*healthScore, error) {
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	return &healthScore{
		cfg:     cfg,
		logger:  set.Logger,
		engine:  health.New(cfg.engineSettings()),
		tel:     tel,
		release: release,
		now:     time.Now,
	}, nil
}

// engineSettings converts the config to the engine's settings.
func (c *Config) engineSettings() health.Settings {
	return health.Settings{
		Interval:      c.Interval,
		MaxComponents: c.MaxComponents,
		MaxEdges:      c.MaxEdges,
		MaxHosts:      c.MaxHosts,
		MaxNameLength: c.MaxNameLength,
		StaleAfter:    c.StaleAfter,
		ExpireAfter:   c.ExpireAfter,
		Weights: score.Weights{
			score.Errors:       c.Weights.Errors,
			score.Latency:      c.Weights.Latency,
			score.Saturation:   c.Weights.Saturation,
			score.Probe:        c.Weights.Probe,
			score.Dependencies: c.Weights.Dependencies,
			score.Events:       c.Weights.Events,
		},
		Healthy:             c.Status.Healthy,
		Degraded:            c.Status.Degraded,
		SLOTarget:           c.Errors.SLOTarget,
		PriorCalls:          c.Errors.PriorCalls,
		LatencyThreshold:    c.Latency.Threshold,
		LatencyThresholds:   c.Latency.Thresholds,
		LatencyQuantile:     c.Latency.Quantile,
		BaselineHalfLife:    c.Latency.BaselineHalfLife,
		BaselineMinCalls:    float64(c.Latency.BaselineMinCalls),
		SaturationThreshold: c.Saturation.Threshold,
		SaturationFloor:     c.Saturation.Floor,
		Damping:             c.Dependencies.Damping,
		EventsMinRate:       c.Events.MinRate,
		EventsWarmUp:        c.Events.WarmUp,
	}
}

// start starts the shared state on the first half's start: it finds the breaker extension and
// starts the scoring timer.
func (hs *healthScore) start(_ context.Context, host component.Host) error {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.running == 0 {
		feeder, err := findBreaker(host, hs.cfg.Breaker)
		if err != nil {
			return err
		}
		hs.engine.SetFeeder(feeder)
		if hs.status, err = statusfeed.Find(host, hs.cfg.StatusExtension); err != nil {
			return fmt.Errorf("healthscore: %w", err)
		}
		if err := hs.tel.RegisterObservables(hs.observe); err != nil {
			return fmt.Errorf("telemetry: %w", err)
		}
		hs.stop, hs.done = make(chan struct{}), make(chan struct{})
		go hs.loop(hs.stop, hs.done)
	}
	hs.running++
	return nil
}

// shutdown stops the shared state when the last started half shuts down.
func (hs *healthScore) shutdown(context.Context) error {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.running == 0 {
		return nil // never started (a failed start elsewhere), or already down
	}
	hs.running--
	if hs.running > 0 {
		return nil
	}
	close(hs.stop)
	<-hs.done
	hs.engine.SetFeeder(nil)
	hs.release()
	return hs.tel.Shutdown()
}

// findBreaker returns the breaker extension named id; none when id is empty.
func findBreaker(host component.Host, id component.ID) (breakerfeed.Feeder, error) {
	if id == (component.ID{}) {
		return nil, nil
	}
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("breaker extension %q not found: configure it and list it in service.extensions", id)
	}
	feeder, ok := ext.(breakerfeed.Feeder)
	if !ok {
		return nil, fmt.Errorf("extension %q is not a breaker extension (it does not implement breakerfeed.Feeder)", id)
	}
	return feeder, nil
}

// loop scores every interval and emits the pass's metrics when no batch took them.
func (hs *healthScore) loop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ticker := time.NewTicker(hs.cfg.Interval)
	defer ticker.Stop()
	flush := time.NewTimer(hs.cfg.Interval)
	flush.Stop()
	defer flush.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			if hs.scoreOnce(hs.now()) {
				flush.Reset(min(hs.cfg.Interval/2, appendWindow))
			}
		case <-flush.C:
			if p := hs.pending.Swap(nil); p != nil {
				hs.emit(*p)
			}
		}
	}
}

// scoreOnce runs a scoring pass and leaves its metrics pending; it reports whether there are
// any to send.
func (hs *healthScore) scoreOnce(now time.Time) bool {
	began := time.Now()
	snap := hs.engine.Score(now)
	hs.tel.ScoringDuration.Record(context.Background(), time.Since(began).Seconds())
	if hs.status != nil {
		hs.status.PublishScores(statusPass(snap))
	}
	if !hs.hasOutputs() {
		return false // only in a traces pipeline: scores feed nothing
	}
	md := snap.MetricsOf(metadata.ScopeName, hs.cfg.Metrics.selection())
	if md.DataPointCount() == 0 {
		return false
	}
	if old := hs.pending.Swap(&md); old != nil {
		hs.emit(*old)
	}
	return true
}

// emit sends metrics down the (first) metrics pipeline on the processor's own account.
func (hs *healthScore) emit(md pmetric.Metrics) {
	hs.outMu.Lock()
	defer hs.outMu.Unlock()
	if len(hs.outputs) == 0 {
		return
	}
	// Bounded, so a stuck pipeline cannot hold a shutdown (which waits for this) for ever.
	ctx, cancel := context.WithTimeout(context.Background(), hs.cfg.Interval)
	defer cancel()
	if err := hs.outputs[0].next.ConsumeMetrics(ctx, md); err != nil {
		hs.logger.Warn("healthscore: sending health metrics failed", zap.Error(err))
	}
}

func (hs *healthScore) hasOutputs() bool {
	hs.outMu.Lock()
	defer hs.outMu.Unlock()
	return len(hs.outputs) > 0
}

// observe reports the engine's counts to the processor's own telemetry.
func (hs *healthScore) observe(_ context.Context, o metric.Observer) error {
	st := hs.engine.Stats()
	o.ObserveInt64(hs.tel.Components, st.Components)
	o.ObserveInt64(hs.tel.Edges, st.Edges)
	o.ObserveInt64(hs.tel.Hosts, st.Hosts)
	for class, n := range st.Outcomes {
		o.ObserveInt64(hs.tel.Outcomes, int64(n), metric.WithAttributes(attribute.String("class", class)))
	}
	for reason, n := range st.Skipped {
		o.ObserveInt64(hs.tel.Skipped, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
	for kind, n := range st.Evicted {
		o.ObserveInt64(hs.tel.Evictions, int64(n), metric.WithAttributes(attribute.String("kind", kind), attribute.String("reason", "cap")))
	}
	for kind, n := range st.Expired {
		o.ObserveInt64(hs.tel.Evictions, int64(n), metric.WithAttributes(attribute.String("kind", kind), attribute.String("reason", "expired")))
	}
	return nil
}

// processTraces observes the spans and passes them on unchanged.
func (hs *healthScore) processTraces(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	hs.engine.ObserveTraces(td, hs.now())
	return td, nil
}

// processLogs counts the log records and passes them on unchanged.
func (hs *healthScore) processLogs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	hs.engine.ObserveLogs(ld, hs.now())
	return ld, nil
}

// metricsHalf is the processor's place in one metrics pipeline.
type metricsHalf struct {
	hs   *healthScore
	next consumer.Metrics
}

func (hs *healthScore) metricsHalf(next consumer.Metrics) *metricsHalf {
	return &metricsHalf{hs: hs, next: next}
}

func (m *metricsHalf) start(ctx context.Context, host component.Host) error {
	if err := m.hs.start(ctx, host); err != nil {
		return err
	}
	m.hs.outMu.Lock()
	m.hs.outputs = append(m.hs.outputs, m)
	m.hs.outMu.Unlock()
	return nil
}

func (m *metricsHalf) shutdown(ctx context.Context) error {
	m.hs.outMu.Lock()
	m.hs.outputs = slices.DeleteFunc(m.hs.outputs, func(o *metricsHalf) bool { return o == m })
	m.hs.outMu.Unlock()
	return m.hs.shutdown(ctx)
}

// processMetrics observes the metrics and appends the last scoring pass's metrics, if no
// batch took them yet.
func (m *metricsHalf) processMetrics(_ context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	m.hs.engine.ObserveMetrics(md, m.hs.now())
	if p := m.hs.pending.Swap(nil); p != nil {
		p.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	}
	return md, nil
}
