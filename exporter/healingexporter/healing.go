package healingexporter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // maintenance windows name time zones; do not depend on the host's tz database

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/action"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/audit"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/engine"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
)

// maxTargetBytes bounds a target value; longer values are skipped and counted.
const maxTargetBytes = 256

type healingExporter struct {
	cfg     *Config
	set     exporter.Settings
	tel     *metadata.Telemetry
	now     func() time.Time
	rules   []compiledRule
	metrics map[string][]int // metric name → rule indexes
	windows []window
	runners map[string]action.Runner
	timeout map[string]time.Duration

	mu     sync.Mutex // serialises the engine and the audit log
	eng    *engine.Engine
	log    *audit.Log
	closed bool

	queue   chan engine.Dispatch
	workers sync.WaitGroup
	stop    chan struct{}
	sweeper sync.WaitGroup
	host    component.Host
	bad     atomic.Bool // a recoverable status is reported
	status  statusfeed.Publisher // where decisions are published (nil: nowhere); set at start
}

type compiledRule struct {
	cfg   RuleConfig
	match []matcher
}

type matcher struct{ key, value string }

func newHealingExporter(cfg *Config, set exporter.Settings) (*healingExporter, error) {
	tel, err := metadata.NewTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &healingExporter{cfg: cfg, set: set, tel: tel, now: time.Now, metrics: map[string][]int{},
		runners: map[string]action.Runner{}, timeout: map[string]time.Duration{}}
	for i, r := range cfg.Rules {
		cr := compiledRule{cfg: r}
		for k, v := range r.When.Match {
			cr.match = append(cr.match, matcher{k, v})
		}
		slices.SortFunc(cr.match, func(a, b matcher) int { return strings.Compare(a.key, b.key) })
		e.rules = append(e.rules, cr)
		e.metrics[r.When.Metric] = append(e.metrics[r.When.Metric], i)
	}
	for _, m := range cfg.Maintenance {
		w, err := newWindow(m)
		if err != nil {
			return nil, err
		}
		e.windows = append(e.windows, w)
	}
	for name, a := range cfg.Actions {
		r, timeout, err := e.newRunner(name, a)
		if err != nil {
			return nil, fmt.Errorf("healing: actions.%s: %w", name, err)
		}
		e.runners[name], e.timeout[name] = r, timeout
	}
	return e, nil
}

func (e *healingExporter) newRunner(name string, a ActionConfig) (action.Runner, time.Duration, error) {
	// client builds an HTTP client with the action's TLS settings. Redirects are not followed:
	// the URL fixed in config is the only destination.
	client := func(t time.Duration, tlsCfg configtls.ClientConfig) (*http.Client, error) {
		conf, err := tlsCfg.LoadTLSConfig(context.Background())
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = conf
		return &http.Client{Timeout: t, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
	}
	switch a.Type {
	case ActionWebhook:
		w := a.Webhook
		c, err := client(w.Timeout, w.TLS)
		if err != nil {
			return nil, 0, err
		}
		// The whole run, retries included, is bounded by (1 + retries) timeouts and their pauses.
		total := time.Duration(w.MaxRetries+1)*w.Timeout + 10*time.Second
		return &action.Webhook{Name: name, URL: w.URL, Secret: []byte(w.Secret), Client: c, MaxRetries: w.MaxRetries, Now: e.now}, total, nil
	case ActionAlertmanager:
		c, err := client(a.Alertmanager.Timeout, a.Alertmanager.TLS)
		if err != nil {
			return nil, 0, err
		}
		return &action.Alertmanager{URL: a.Alertmanager.URL, Client: c, Now: e.now}, 3*a.Alertmanager.Timeout + 5*time.Second, nil
	case ActionPagerDuty:
		c, err := client(a.PagerDuty.Timeout, a.PagerDuty.TLS)
		if err != nil {
			return nil, 0, err
		}
		return &action.PagerDuty{URL: a.PagerDuty.URL, RoutingKey: string(a.PagerDuty.RoutingKey), Client: c}, 3*a.PagerDuty.Timeout + 5*time.Second, nil
	case ActionExec:
		re, err := regexp.Compile(a.Exec.TargetPattern)
		if err != nil {
			return nil, 0, err
		}
		return &action.Exec{Command: a.Exec.Command, Args: a.Exec.Args, Env: a.Exec.Env, TargetPattern: re, MaxOutputBytes: a.Exec.MaxOutputBytes}, a.Exec.Timeout, nil
	case ActionLog:
		return &action.Log{Name: name, Logger: e.set.Logger}, time.Second, nil
	}
	return nil, 0, fmt.Errorf("unknown type %q", a.Type)
}

func (e *healingExporter) settings() engine.Settings {
	c := e.cfg
	s := engine.Settings{
		Global:              engine.Rate{PerMinute: c.Limits.Global.PerMinute, Burst: c.Limits.Global.Burst},
		PerAction:           engine.Rate{PerMinute: c.Limits.PerAction.PerMinute, Burst: c.Limits.PerAction.Burst},
		PerTarget:           engine.Rate{PerMinute: c.Limits.PerTarget.PerMinute, Burst: c.Limits.PerTarget.Burst},
		MaxPerTargetPerHour: c.Limits.MaxPerTargetPerHour,
		BackoffInitial:      c.Backoff.Initial, BackoffMax: c.Backoff.Max,
		BackoffMultiplier: c.Backoff.Multiplier, BackoffResetAfter: c.Backoff.ResetAfter,
		MaxIncidents: c.MaxIncidents, QueueSize: c.QueueSize, ResolveTimeout: c.ResolveTimeout,
		DryRun: c.DryRun, ActionDryRun: map[string]bool{}, ResolvableActions: map[string]bool{},
		Maintenance: e.inMaintenance,
		Admit: func(name, target string) error {
			if x, ok := e.runners[name].(*action.Exec); ok {
				return x.Admit(target)
			}
			return nil
		},
	}
	for _, r := range c.Rules {
		s.Rules = append(s.Rules, engine.Rule{Name: r.Name, For: r.For, Cooldown: r.Cooldown, Actions: r.Actions, EscalateAfter: r.EscalateAfter})
	}
	for name, a := range c.Actions {
		s.ActionDryRun[name] = a.DryRun
		s.ResolvableActions[name] = e.runners[name].Resolvable()
	}
	return s
}

// openEngine opens the audit file and rebuilds the engine from it.
func (e *healingExporter) openEngine() error {
	if err := os.MkdirAll(filepath.Dir(e.cfg.Audit.Path), 0o700); err != nil {
		return fmt.Errorf("healing: audit folder: %w", err)
	}
	l, recs, torn, err := audit.Open(e.cfg.Audit.Path)
	if err != nil {
		return fmt.Errorf("healing: %w", err)
	}
	if torn > 0 {
		e.set.Logger.Warn("healing: cut a torn last line from the audit file (the collector stopped during a write)", zap.Int64("bytes", torn))
	}
	eng, err := engine.New(e.settings(), countingWriter{log: l, tel: e.tel, status: e.status}, recs, e.now())
	if err != nil {
		l.Close()
		return fmt.Errorf("healing: %w", err)
	}
	e.eng, e.log = eng, l
	e.set.Logger.Info("healing: audit file loaded", zap.String("path", e.cfg.Audit.Path), zap.Int("records", len(recs)))
	return nil
}

func (e *healingExporter) start(_ context.Context, host component.Host) error {
	e.host = host
	pub, err := statusfeed.Find(host, e.cfg.StatusExtension)
	if err != nil {
		return fmt.Errorf("healing: %w", err)
	}
	e.status = pub
	if err := e.openEngine(); err != nil {
		return err
	}
	e.queue = make(chan engine.Dispatch, e.cfg.QueueSize)
	e.stop = make(chan struct{})
	for range e.cfg.Workers {
		e.workers.Go(e.work)
	}
	e.sweeper.Go(e.sweep)
	return nil
}

func (e *healingExporter) shutdown(context.Context) error {
	if e.stop == nil {
		return nil
	}
	close(e.stop)
	e.sweeper.Wait()
	e.mu.Lock()
	e.closed = true
	close(e.queue)
	e.mu.Unlock()
	e.workers.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.log.Close()
}

func (e *healingExporter) sweep() {
	t := time.NewTicker(min(e.cfg.ResolveTimeout/4, 30*time.Second))
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.mu.Lock()
			d, err := e.eng.Sweep(e.now())
			e.afterDecide(d, err)
			e.mu.Unlock()
		}
	}
}

// afterDecide queues dispatches and updates telemetry; the caller holds e.mu.
func (e *healingExporter) afterDecide(d []engine.Dispatch, err error) {
	if err != nil {
		e.set.Logger.Error("healing: audit write failed; state reloaded from the audit file, nothing was dispatched", zap.Error(err))
		e.reloadLocked()
		return
	}
	for _, x := range d {
		e.tel.Pending.Add(context.Background(), 1)
		e.queue <- x // never blocks: the engine keeps at most queue_size in flight
	}
}

// reloadLocked rebuilds the engine from the audit file after a failed write, so that memory never
// runs ahead of the record.
func (e *healingExporter) reloadLocked() {
	_ = e.log.Close()
	if err := e.openEngine(); err != nil {
		e.set.Logger.Error("healing: cannot reopen the audit file", zap.Error(err))
		componentstatus.ReportStatus(e.host, componentstatus.NewPermanentErrorEvent(err))
	}
}

func (e *healingExporter) work() {
	for d := range e.queue {
		e.run(d)
	}
}

func (e *healingExporter) run(d engine.Dispatch) {
	defer e.tel.Pending.Add(context.Background(), -1)
	r := e.cfg.Rules[d.RuleIdx]
	req := action.Request{Incident: d.Incident, Rule: d.Rule, Target: d.Target, TargetAttr: r.Target, Severity: r.Severity,
		Summary: r.Summary, Value: d.Value, FiredAt: d.FiredAt, Resolve: d.Resolve}
	var (
		detail string
		err    error
	)
	select {
	case <-e.stop:
		err = errors.New("the collector is shutting down; not run")
	default:
		ctx, cancel := context.WithTimeout(context.Background(), e.timeout[d.Action])
		detail, err = e.runners[d.Action].Run(ctx, req)
		cancel()
	}
	outcome := "success"
	if err != nil {
		outcome = "failure"
	}
	e.tel.Actions.Add(context.Background(), 1, metric.WithAttributes(attribute.String("action", d.Action), attribute.String("outcome", outcome)))
	e.reportStatus(err)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.eng == nil {
		return
	}
	if cerr := e.eng.Complete(e.now(), d, err, detail); cerr != nil {
		e.afterDecide(nil, cerr)
	}
}

func (e *healingExporter) reportStatus(err error) {
	if e.host == nil {
		return
	}
	switch {
	case errors.Is(err, action.ErrUnreachable):
		e.bad.Store(true)
		componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(err))
	case err == nil && e.bad.CompareAndSwap(true, false):
		componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// countingWriter counts each decision in the exporter's telemetry as it is written, and
// publishes it to the status extension, where it joins the target's incident timeline.
type countingWriter struct {
	log    *audit.Log
	tel    *metadata.Telemetry
	status statusfeed.Publisher
}

func (w countingWriter) Write(recs ...*audit.Record) error {
	if err := w.log.Write(recs...); err != nil {
		return err
	}
	for _, r := range recs {
		w.tel.Decisions.Add(context.Background(), 1, metric.WithAttributes(
			attribute.String("decision", r.Decision), attribute.String("reason", reasonClass(r.Reason))))
		if w.status != nil {
			w.status.PublishHealing(statusfeed.HealingDecision{At: r.Time, Incident: r.Incident, Rule: r.Rule,
				Target: r.Target, Decision: r.Decision, Reason: r.Reason, Action: r.Action, DryRun: r.DryRun, Detail: r.Detail})
		}
	}
	return nil
}

// reasonClass drops the window name from maintenance reasons, keeping the label's values few.
func reasonClass(reason string) string {
	if strings.HasPrefix(reason, engine.ReasonMaintenance+":") {
		return engine.ReasonMaintenance
	}
	return reason
}

func (e *healingExporter) consumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	obs := e.observe(ctx, md)
	if len(obs) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("healing: shutting down")
	}
	d, err := e.eng.Observe(e.now(), obs)
	if err != nil {
		e.afterDecide(nil, err)
		return err
	}
	e.afterDecide(d, nil)
	return nil
}

// observe turns the data points of the rules' metrics into observations.
func (e *healingExporter) observe(ctx context.Context, md pmetric.Metrics) []engine.Observation {
	var obs []engine.Observation
	skip := func(reason string) {
		e.tel.Skipped.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason)))
	}
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		res := rms.At(i).Resource().Attributes()
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				rules := e.metrics[m.Name()]
				if len(rules) == 0 {
					continue
				}
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				default:
					skip("not_a_number_metric")
					continue
				}
				for l := 0; l < dps.Len(); l++ {
					dp := dps.At(l)
					v := dp.DoubleValue()
					if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
						v = float64(dp.IntValue())
					}
					if math.IsNaN(v) || dp.ValueType() == pmetric.NumberDataPointValueTypeEmpty {
						skip("no_value")
						continue
					}
					for _, ri := range rules {
						o, reason := e.rules[ri].evaluate(ri, dp, res, v)
						switch {
						case reason != "":
							skip(reason)
						case o != nil:
							obs = append(obs, *o)
						}
					}
				}
			}
		}
	}
	return obs
}

func lookup(key string, dp pcommon.Map, res pcommon.Map) (string, bool) {
	if v, ok := dp.Get(key); ok {
		return v.AsString(), true
	}
	if v, ok := res.Get(key); ok {
		return v.AsString(), true
	}
	return "", false
}

// evaluate returns the observation of one rule on one point; a non-empty reason is a counted skip,
// and (nil, "") a point the rule's matchers do not select.
func (r *compiledRule) evaluate(idx int, dp pmetric.NumberDataPoint, res pcommon.Map, v float64) (*engine.Observation, string) {
	for _, m := range r.match {
		got, ok := lookup(m.key, dp.Attributes(), res)
		if !ok || got != m.value {
			return nil, ""
		}
	}
	target, ok := lookup(r.cfg.Target, dp.Attributes(), res)
	switch {
	case !ok || target == "":
		return nil, "no_target"
	case len(target) > maxTargetBytes:
		return nil, "target_too_long"
	}
	return &engine.Observation{Rule: idx, Target: strings.ToValidUTF8(target, "\uFFFD"), Holds: compare(v, r.cfg.When.Op, r.cfg.When.Threshold),
		Value: v, ObservedAt: int64(dp.Timestamp())}, ""
}

func compare(v float64, op string, t float64) bool {
	switch op {
	case ">":
		return v > t
	case ">=":
		return v >= t
	case "<":
		return v < t
	case "<=":
		return v <= t
	case "==":
		return v == t
	case "!=":
		return v != t
	}
	return false
}
