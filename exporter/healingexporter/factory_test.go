package healingexporter

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

// TestFactory checks the type and stability, and that the default config lacks only the audit path.
func TestFactory(t *testing.T) {
	f := NewFactory()
	cfg := componenttest.CheckFactory(t, f, "healing").(*Config)
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, metadata.MetricsStability, f.MetricsStability())
	err := validate(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "audit: path: required")
	cfg.Audit.Path = filepath.Join(t.TempDir(), "audit.jsonl")
	require.NoError(t, validate(cfg))
}

func TestFactoryLifecycle(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Audit.Path = filepath.Join(t.TempDir(), "state", "audit.jsonl")
	exp, err := f.CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	assert.False(t, exp.Capabilities().MutatesData)
	require.NoError(t, exp.Start(context.Background(), componenttest.NopHost()))
	require.NoError(t, exp.ConsumeMetrics(context.Background(), pmetric.NewMetrics()))
	require.NoError(t, exp.Shutdown(context.Background()))
	_, err = os.Stat(cfg.Audit.Path)
	assert.NoError(t, err, "start creates the audit file and its folder")
}

func TestFactoryShutdownWithoutStart(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Audit.Path = filepath.Join(t.TempDir(), "audit.jsonl")
	componenttest.ShutdownWithoutStart(t, func() (exporter.Metrics, error) {
		return f.CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	})
}

func TestTracesAndLogsAreNotSupported(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig()
	_, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	assert.Error(t, err)
	_, err = f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	assert.Error(t, err)
}

// TestOwnTelemetry adds to each of the exporter's own instruments and checks the sums the
// collector's telemetry then holds, their units, and that documentation.md lists each.
func TestOwnTelemetry(t *testing.T) {
	tel, b := componenttest.TelemetryBuilder(t, metadata.NewTelemetryBuilder)
	ctx := context.Background()
	b.HealingDecisions.Add(ctx, 2, metric.WithAttributes(attribute.String("decision", "fired"), attribute.String("reason", "")))
	b.HealingActions.Add(ctx, 1, metric.WithAttributes(attribute.String("action", "restart"), attribute.String("outcome", "success")))
	b.HealingPending.Add(ctx, 3)
	b.HealingPending.Add(ctx, -1)
	b.HealingSkipped.Add(ctx, 4, metric.WithAttributes(attribute.String("reason", "no_target")))

	want := map[string]struct {
		unit string
		sum  int64
	}{
		"otelcol_healing_decisions": {"{decision}", 2},
		"otelcol_healing_actions":   {"{action}", 1},
		"otelcol_healing_pending":   {"{action}", 2},
		"otelcol_healing_skipped":   {"{point}", 4},
	}
	for name, w := range want {
		assert.Equal(t, w.unit, tel.Metric(name).Unit, name)
		assert.Equal(t, w.sum, tel.Sum(name).DataPoints[0].Value, name)
	}
	componenttest.AssertDocumented(t, ownmetrics.Names(new(metadata.TelemetryBuilder))...)
}
