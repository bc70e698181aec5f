package healingexporter

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/exporter"
	"go.uber.org/zap"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/action"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/audit"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/engine"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// healingExporter evaluates the rules on every batch, records each decision in the audit file
// before acting on it, and runs the actions on its workers.
type healingExporter struct {
	cfg     *Config
	set     exporter.Settings
	tel     *metadata.TelemetryBuilder
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
	queued              chan struct{} // a dispatch was queued: the queue check runs again
	sweeper             sync.WaitGroup
	host                component.Host
	bad                 atomic.Bool          // a recoverable status is reported
	status              statusfeed.Publisher // where decisions are published (nil: nowhere); set at start
}

func newHealingExporter(cfg *Config, set exporter.Settings) (*healingExporter, error) {
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &healingExporter{cfg: cfg, set: set, tel: tel, now: time.Now}
	e.rules, e.metrics = compileRules(cfg.Rules)
	if e.windows, err = compileWindows(cfg.Maintenance); err != nil {
		return nil, err
	}
	if err := e.newRunners(); err != nil {
		return nil, err
	}
	return e, nil
}

// settings turns the configuration into the engine's settings.
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

func (e *healingExporter) start(_ context.Context, host component.Host) error {
	e.host = host
	pub, err := statusfeed.Find(host, e.cfg.StatusExtension)
	if err != nil {
		return err
	}
	e.status = pub
	for _, w := range rangeWarnings(e.cfg.Rules) {
		e.set.Logger.Warn("healing: " + w)
	}
	if err := e.openEngine(); err != nil {
		if !errors.Is(err, audit.ErrUntrusted) {
			return err
		}
		// A broken or forged audit file stops the healing exporter alone: no action may run on a
		// record that cannot be trusted, but the rest of the collector keeps its telemetry.
		e.untrusted.Store(true)
		e.set.Logger.Error("the audit file does not verify; healing is off until it is repaired "+
			"(move the file and its checkpoint aside as evidence and restart: a new chain starts; "+
			"`vigil-audit verify` names the first broken record)", zap.Error(err))
		componentstatus.ReportStatus(host, componentstatus.NewPermanentErrorEvent(err))
	}
	e.stop = make(chan struct{})
	e.queued = make(chan struct{}, 1)
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
