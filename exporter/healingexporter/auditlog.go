package healingexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/audit"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/engine"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// openEngine opens the audit file and rebuilds the engine from it.
func (e *healingExporter) openEngine() error {
	if err := os.MkdirAll(filepath.Dir(e.cfg.Audit.Path), 0o700); err != nil {
		return fmt.Errorf("audit folder: %w", err)
	}
	opt := audit.Options{CheckpointPath: e.cfg.Audit.checkpointPath()}
	if e.cfg.Audit.KeyFile != "" {
		key, err := os.ReadFile(e.cfg.Audit.KeyFile)
		if err != nil {
			return fmt.Errorf("audit::key_file: %w", err)
		}
		opt.Key = bytes.TrimRight(key, "\r\n")
	}
	l, recs, torn, err := audit.OpenWith(e.cfg.Audit.Path, opt)
	if err != nil {
		return fmt.Errorf("audit file: %w", err)
	}
	if torn > 0 {
		e.set.Logger.Warn("cut a torn last line from the audit file (the collector stopped during a write)", zap.Int64("bytes", torn))
	}
	eng, err := engine.New(e.settings(), countingWriter{log: l, tel: e.tel, status: e.status, result: e.auditResult, fault: e.auditFault}, recs, e.now())
	if err != nil {
		l.Close()
		return err
	}
	e.eng, e.log = eng, l
	for name, n := range eng.Interrupted() {
		e.tel.HealingInterrupted.Add(context.Background(), int64(n), metric.WithAttributes(attribute.String("action", name)))
		what := "never run again (at most once)"
		if e.cfg.Actions[name].RenotifyAfterRestart {
			what = "run again if their incident still fires (renotify_after_restart)"
		}
		e.set.Logger.Warn("intents interrupted by the last stop: outcome unknown, "+what,
			zap.String("action", name), zap.Int("intents", n))
	}
	e.set.Logger.Info("audit file loaded", zap.String("path", e.cfg.Audit.Path), zap.Int("records", len(recs)))
	return nil
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
			e.set.Logger.Error("the audit file does not verify; healing is off until it is repaired", zap.Error(err))
			componentstatus.ReportStatus(e.host, componentstatus.NewPermanentErrorEvent(err))
			return
		}
		e.set.Logger.Error("cannot reopen the audit file; healing paused, retried at every sweep", zap.Error(err))
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
		componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("audit write failed, nothing dispatched: %w", err)))
		return
	}
	if e.auditBad.CompareAndSwap(true, false) && !e.hung.Load() && !e.bad.Load() {
		e.set.Logger.Info("audit writes succeed again")
		componentstatus.ReportStatus(e.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

// countingWriter counts each decision in the exporter's telemetry as it is written, reports each
// write's result, and publishes the decision to the status extension, where it joins the target's
// incident timeline.
type countingWriter struct {
	log    *audit.Log
	tel    *metadata.TelemetryBuilder
	status statusfeed.Publisher
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
		w.tel.HealingDecisions.Add(context.Background(), 1, metric.WithAttributes(
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
