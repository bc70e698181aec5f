package healingexporter

import (
	"bytes"
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

	queues map[string]*actionQueue // one per action: its own queue and workers
	hung   atomic.Bool             // a degraded status is reported for a hung action
	// auditBad: the last audit write failed (recoverable); untrusted: the file does not verify.
	auditBad, untrusted atomic.Bool
	auditFault          func() error // tests only: see countingWriter
	workers             sync.WaitGroup
	stop                chan struct{}
	sweeper             sync.WaitGroup
	host                component.Host
	bad                 atomic.Bool // a recoverable status is reported
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
		RenotifyAfterRestart: map[string]bool{},
		Maintenance:          e.inMaintenance,
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
		s.RenotifyAfterRestart[name] = a.RenotifyAfterRestart
	}
	return s
}

// openEngine opens the audit file and rebuilds the engine from it.
func (e *healingExporter) openEngine() error {
	if err := os.MkdirAll(filepath.Dir(e.cfg.Audit.Path), 0o700); err != nil {
		return fmt.Errorf("healing: audit folder: %w", err)
	}
	opt := audit.Options{CheckpointPath: e.cfg.Audit.checkpointPath()}
	if e.cfg.Audit.KeyFile != "" {
		key, err := os.ReadFile(e.cfg.Audit.KeyFile)
		if err != nil {
			return fmt.Errorf("healing: audit.key_file: %w", err)
		}
		opt.Key = bytes.TrimRight(key, "\r\n")
	}
	l, recs, torn, err := audit.OpenWith(e.cfg.Audit.Path, opt)
	if err != nil {
		return fmt.Errorf("healing: %w", err)
	}
	if torn > 0 {
		e.set.Logger.Warn("healing: cut a torn last line from the audit file (the collector stopped during a write)", zap.Int64("bytes", torn))
	}
	eng, err := engine.New(e.settings(), countingWriter{log: l, tel: e.tel, result: e.auditResult, fault: e.auditFault}, recs, e.now())
	if err != nil {
		l.Close()
		return fmt.Errorf("healing: %w", err)
	}
	e.eng, e.log = eng, l
	for name, n := range eng.Interrupted() {
		e.tel.Interrupted.Add(context.Background(), int64(n), metric.WithAttributes(attribute.String("action", name)))
		what := "never run again (at most once)"
		if e.cfg.Actions[name].RenotifyAfterRestart {
			what = "run again if their incident still fires (renotify_after_restart)"
		}
		e.set.Logger.Warn("healing: intents interrupted by the last stop: outcome unknown, "+what,
			zap.String("action", name), zap.Int("intents", n))
	}
	e.set.Logger.Info("healing: audit file loaded", zap.String("path", e.cfg.Audit.Path), zap.Int("records", len(recs)))
	return nil
}

func (e *healingExporter) start(_ context.Context, host component.Host) error {
	e.host = host
	if err := e.openEngine(); err != nil {
		if !errors.Is(err, audit.ErrUntrusted) {
			return err
		}
		e.untrusted.Store(true)
		// A broken or forged audit file stops the healing exporter alone: no action may run on a
		// record that cannot be trusted, but the rest of the collector keeps its telemetry.
		e.set.Logger.Error("healing: the audit file does not verify; healing is off until it is repaired "+
			"(move the file and its checkpoint aside as evidence and restart: a new chain starts; "+
			"`vigil-audit verify` names the first broken record)", zap.Error(err))
		componentstatus.ReportStatus(host, componentstatus.NewPermanentErrorEvent(err))
	}
	e.stop = make(chan struct{})
	e.queues = map[string]*actionQueue{}
	for name := range e.runners {
		// queue_size of the action's own runs, and as many again for resolve notifications (which
		// the engine does not count as in flight).
		q := newActionQueue(name, 2*e.cfg.QueueSize)
		e.queues[name] = q
		for range e.cfg.Workers {
			e.workers.Go(func() { e.work(q) })
		}
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
	for _, q := range e.queues {
		close(q.ch)
	}
	e.mu.Unlock()
	e.workers.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.log == nil {
		return nil
	}
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
			e.checkQueues(e.now())
			e.mu.Lock()
			if e.eng == nil && e.auditBad.Load() && !e.untrusted.Load() && !e.closed {
				e.reloadLocked() // the disk may have space again
			}
			if e.eng == nil {
				e.mu.Unlock()
				continue
			}
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
	now := e.now()
	for _, x := range d {
		q := e.queues[x.Action]
		if q != nil && q.offer(x, now) {
			e.tel.Pending.Add(context.Background(), 1, metric.WithAttributes(attribute.String("action", x.Action)))
			continue
		}
		// Only resolve notifications can find the queue full (the engine bounds the rest): the
		// notification is recorded as failed rather than blocking every other decision.
		e.set.Logger.Warn("healing: action queue full; notification not sent", zap.String("action", x.Action), zap.String("target", x.Target))
		if err := e.eng.Complete(now, x, errQueueFull, ""); err != nil {
			e.set.Logger.Error("healing: audit write failed", zap.Error(err))
		}
	}
}

// reloadLocked rebuilds the engine from the audit file after a failed write, so that memory never
// runs ahead of the record. When the file cannot be reopened (the disk is still full), healing
// pauses and the sweeper tries again; only a file that no longer verifies is a permanent error.
func (e *healingExporter) reloadLocked() {
	if e.log != nil {
		_ = e.log.Close()
	}
	e.eng, e.log = nil, nil
	if err := e.openEngine(); err != nil {
		if errors.Is(err, audit.ErrUntrusted) {
			e.untrusted.Store(true)
			e.set.Logger.Error("healing: the audit file does not verify; healing is off until it is repaired", zap.Error(err))
			componentstatus.ReportStatus(e.host, componentstatus.NewPermanentErrorEvent(err))
			return
		}
		e.set.Logger.Error("healing: cannot reopen the audit file; healing paused, retried at every sweep", zap.Error(err))
		e.auditResult(err)
	}
}

// auditResult turns audit writes into status: a failed write is a recoverable error (the disk may
// fill and empty again); the first write that succeeds after it reports OK.
func (e *healingExporter) auditResult(err error) {
	if e.host == nil {
		return
	}
	if err != nil {
		e.auditBad.Store(true)
		componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("healing: audit write failed, nothing dispatched: %w", err)))
		return
	}
	if e.auditBad.CompareAndSwap(true, false) && !e.hung.Load() && !e.bad.Load() {
		e.set.Logger.Info("healing: audit writes succeed again")
		componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// errQueueFull is the outcome recorded for a notification its action's full queue could not take.
var errQueueFull = errors.New("the action's queue is full")

func (e *healingExporter) work(q *actionQueue) {
	for it := range q.ch {
		e.run(it.Dispatch)
		q.done(it.id)
	}
}

func (e *healingExporter) run(d engine.Dispatch) {
	defer e.tel.Pending.Add(context.Background(), -1, metric.WithAttributes(attribute.String("action", d.Action)))
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
	case err == nil && e.bad.CompareAndSwap(true, false) && !e.hung.Load():
		componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// countingWriter counts each decision in the exporter's telemetry as it is written.
type countingWriter struct {
	log    *audit.Log
	tel    *metadata.Telemetry
	result func(error)
	fault  func() error // tests: a write failure (a full disk) before the file is touched
}

func (w countingWriter) Write(recs ...*audit.Record) error {
	if w.fault != nil {
		if err := w.fault(); err != nil {
			w.result(err)
			return err
		}
	}
	if err := w.log.Write(recs...); err != nil {
		w.result(err)
		return err
	}
	w.result(nil)
	for _, r := range recs {
		w.tel.Decisions.Add(context.Background(), 1, metric.WithAttributes(
			attribute.String("decision", r.Decision), attribute.String("reason", reasonClass(r.Reason))))
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
	if e.eng == nil {
		// Healing is off (an audit file that does not verify): the points are counted, not
		// refused, so that the pipeline's other exporters keep their data.
		e.tel.Skipped.Add(ctx, int64(len(obs)), metric.WithAttributes(attribute.String("reason", "audit_unavailable")))
		return nil
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

// checkQueues records each action's oldest pending age, and reports a hung action (its oldest run
// waiting longer than twice the action's whole-run bound) as a recoverable error naming the pending
// count and the oldest age; OK again once every queue moves.
func (e *healingExporter) checkQueues(now time.Time) {
	var hung []string
	for _, q := range sortedQueues(e.queues) {
		n, oldest := q.stats()
		age := time.Duration(0)
		if n > 0 {
			age = now.Sub(oldest)
		}
		e.tel.OldestPendingAge.Record(context.Background(), age.Seconds(), metric.WithAttributes(attribute.String("action", q.name)))
		if n > 0 && age > 2*e.timeout[q.name] {
			hung = append(hung, fmt.Sprintf("action %s: %d pending, oldest %s", q.name, n, age.Round(time.Second)))
		}
	}
	if e.host == nil {
		return
	}
	if len(hung) > 0 {
		err := fmt.Errorf("healing: %s (its endpoint hangs or is slow; other actions run on their own queues)", strings.Join(hung, "; "))
		if !e.hung.Swap(true) {
			e.set.Logger.Warn("healing: an action's queue is not moving", zap.Error(err))
		}
		componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(err))
		return
	}
	if e.hung.CompareAndSwap(true, false) && !e.bad.Load() {
		componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}
