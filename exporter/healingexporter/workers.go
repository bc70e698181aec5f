package healingexporter

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/action"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/engine"
)

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
		e.set.Logger.Error("audit write failed; state reloaded from the audit file, nothing was dispatched", zap.Error(err))
		e.reloadLocked()
		return
	}
	for _, x := range d {
		e.tel.HealingPending.Add(context.Background(), 1)
		e.queue <- x // never blocks: the engine keeps at most queue_size in flight
	}
}

func (e *healingExporter) work() {
	for d := range e.queue {
		e.run(d)
	}
}

func (e *healingExporter) run(d engine.Dispatch) {
	defer e.tel.HealingPending.Add(context.Background(), -1)
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
	e.tel.HealingActions.Add(context.Background(), 1, metric.WithAttributes(attribute.String("action", d.Action), attribute.String("outcome", outcome)))
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
