package healingexporter

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	// The queues are looked at more often than the incidents, so that a hung action shows within
	// seconds of passing its bound; but only while a run is queued or running, or a hung status
	// waits to be cleared: an idle collector is not woken for empty queues.
	q := time.NewTicker(queueCheckEvery)
	defer q.Stop()
	qc := q.C
	for {
		select {
		case <-e.stop:
			return
		case <-e.queued:
			if qc == nil {
				q.Reset(queueCheckEvery)
				qc = q.C
			}
		case <-qc:
			if !e.checkQueues(e.now()) {
				q.Stop()
				qc = nil
			}
		case <-t.C:
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
		e.set.Logger.Error("audit write failed; state reloaded from the audit file, nothing was dispatched", zap.Error(err))
		e.reloadLocked()
		return
	}
	now := e.now()
	for _, x := range d {
		q := e.queues[x.Action]
		if q != nil && q.offer(x, now) {
			e.tel.HealingPending.Add(context.Background(), 1, metric.WithAttributes(attribute.String("action", x.Action)))
			select {
			case e.queued <- struct{}{}:
			default: // the queue check is already told
			}
			continue
		}
		// Only resolve notifications can find the queue full (the engine bounds the rest): the
		// notification is recorded as failed rather than blocking every other decision.
		e.set.Logger.Warn("action queue full; notification not sent", zap.String("action", x.Action), zap.String("target", x.Target))
		if err := e.eng.Complete(now, x, errQueueFull, ""); err != nil {
			e.set.Logger.Error("audit write failed", zap.Error(err))
		}
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
	defer e.tel.HealingPending.Add(context.Background(), -1, metric.WithAttributes(attribute.String("action", d.Action)))
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
	case err == nil && e.bad.CompareAndSwap(true, false) && !e.hung.Load() && !e.auditBad.Load():
		componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// queueCheckEvery is how often the queues' oldest ages are recorded and checked while a run is
// queued or running.
const queueCheckEvery = 5 * time.Second

// checkQueues records each action's oldest pending age, and reports a hung action (its oldest run
// waiting longer than twice the action's whole-run bound) as a recoverable error naming the pending
// count and the oldest age; OK again once every queue moves. It returns whether to check again:
// false once every queue is empty (their ages recorded as 0) and no hung status is left to clear.
func (e *healingExporter) checkQueues(now time.Time) bool {
	var hung []string
	busy := false
	for _, q := range sortedQueues(e.queues) {
		n, oldest := q.stats()
		busy = busy || n > 0
		age := time.Duration(0)
		if n > 0 {
			age = now.Sub(oldest)
		}
		e.tel.HealingPendingOldestAge.Record(context.Background(), age.Seconds(), metric.WithAttributes(attribute.String("action", q.name)))
		if n > 0 && age > 2*e.timeout[q.name] {
			hung = append(hung, fmt.Sprintf("action %s: %d pending, oldest %s", q.name, n, age.Round(time.Second)))
		}
	}
	if e.host == nil {
		return busy
	}
	if len(hung) > 0 {
		err := fmt.Errorf("%s (its endpoint hangs or is slow; other actions run on their own queues)", strings.Join(hung, "; "))
		if !e.hung.Swap(true) {
			e.set.Logger.Warn("an action's queue is not moving", zap.Error(err))
		}
		componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(err))
		return true
	}
	if e.hung.CompareAndSwap(true, false) && !e.bad.Load() && !e.auditBad.Load() {
		componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
	return busy
}
