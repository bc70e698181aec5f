package healingexporter

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
)

func TestFactoryType(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, "healing", f.Type().String())
	assert.Equal(t, metadata.MetricsStability, f.MetricsStability())
}

func TestDefaultConfigNeedsOnlyTheAuditPath(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	err := confmap.Validate(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "audit: path: required")
	cfg.Audit.Path = filepath.Join(t.TempDir(), "audit.jsonl")
	require.NoError(t, confmap.Validate(cfg))
}

func TestFactoryLifecycle(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Audit.Path = filepath.Join(t.TempDir(), "state", "audit.jsonl")
	exp, err := f.CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	assert.False(t, exp.Capabilities().MutatesData)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeMetrics(context.Background(), pmetric.NewMetrics()))
	require.NoError(t, exp.Shutdown(context.Background()))
	_, err = os.Stat(cfg.Audit.Path)
	assert.NoError(t, err, "start creates the audit file and its folder")
}

func TestFactoryShutdownWithoutStart(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Audit.Path = filepath.Join(t.TempDir(), "audit.jsonl")
	exp, err := f.CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Shutdown(context.Background()))
}

func TestTracesAndLogsAreNotSupported(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig()
	_, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	assert.Error(t, err)
	_, err = f.CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	assert.Error(t, err)
}
