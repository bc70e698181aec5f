package healingexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
)

func TestThresholdOutsideTheMetricsRangeWarnsAtStart(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1")
	cfg.Rules = append(cfg.Rules,
		RuleConfig{Name: "percent", When: WhenConfig{Metric: "health.score", Op: "<", Threshold: 90}, Target: "service.name", Actions: []string{"log"}, EscalateAfter: 1, Severity: "warning"},
		RuleConfig{Name: "fine", When: WhenConfig{Metric: "breaker.state", Op: "==", Threshold: 2}, Target: "breaker.target", Actions: []string{"log"}, EscalateAfter: 1, Severity: "warning"},
		RuleConfig{Name: "own", When: WhenConfig{Metric: "app.queue.depth", Op: ">", Threshold: 5000}, Target: "service.name", Actions: []string{"log"}, EscalateAfter: 1, Severity: "warning"},
	)
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(zapcore.WarnLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateMetrics(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	warned := logs.FilterMessageSnippet("outside").All()
	require.Len(t, warned, 1, "only the rule with 90 on a 0–1 metric")
	assert.Contains(t, warned[0].Message, "rules[1] (percent): threshold 90 is outside health.score's range [0, 1]")
}
