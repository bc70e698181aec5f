package healingexporter

import (
	"context"
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
	l, recs, torn, err := audit.Open(e.cfg.Audit.Path)
	if err != nil {
		return fmt.Errorf("audit file: %w", err)
	}
	if torn > 0 {
		e.set.Logger.Warn("cut a torn last line from the audit file (the collector stopped during a write)", zap.Int64("bytes", torn))
	}
	eng, err := engine.New(e.settings(), countingWriter{log: l, tel: e.tel, status: e.status}, recs, e.now())
	if err != nil {
		l.Close()
		return err
	}
	e.eng, e.log = eng, l
	e.set.Logger.Info("audit file loaded", zap.String("path", e.cfg.Audit.Path), zap.Int("records", len(recs)))
	return nil
}

// reloadLocked rebuilds the engine from the audit file after a failed write, so that memory never
// runs ahead of the record.
func (e *healingExporter) reloadLocked() {
	_ = e.log.Close()
	if err := e.openEngine(); err != nil {
		e.set.Logger.Error("cannot reopen the audit file", zap.Error(err))
		componentstatus.ReportStatus(e.host, componentstatus.NewPermanentErrorEvent(err))
	}
}

// countingWriter counts each decision in the exporter's telemetry as it is written, and
// publishes it to the status extension, where it joins the target's incident timeline.
type countingWriter struct {
	log    *audit.Log
	tel    *metadata.TelemetryBuilder
	status statusfeed.Publisher
}

func (w countingWriter) Write(recs ...*audit.Record) error {
	if err := w.log.Write(recs...); err != nil {
		return err
	}
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
