package healingexporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/audit"
	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
	"github.com/vigil-collector/vigil/testbed/hostile"
)

// TestHungWebhookStarvesNoOtherAction: a webhook that never answers fills its own queue; alerts
// of another rule with a log action still run; the exporter reports itself degraded naming the
// pending count and the oldest age, and OK again once the endpoint answers and the queue drains.
func TestHungWebhookStarvesNoOtherAction(t *testing.T) {
	hung, err := hostile.NewHungWebhook()
	require.NoError(t, err)
	defer hung.Close()

	cfg := testConfig(t, hung.URL)
	cfg.Actions = map[string]ActionConfig{
		"hook": {Type: ActionWebhook, Webhook: WebhookConfig{URL: hung.URL + "/hook", Timeout: 30 * time.Second, MaxRetries: 0}},
		"log":  {Type: ActionLog},
	}
	cfg.Rules = []RuleConfig{
		{Name: "to-hook", When: WhenConfig{Metric: "healthcheck.status", Op: "<", Threshold: 1}, Target: "service.name", Actions: []string{"hook"}, EscalateAfter: 1, Cooldown: time.Minute, Severity: "critical"},
		{Name: "to-log", When: WhenConfig{Metric: "health.score", Op: "<", Threshold: 0.5}, Target: "service.name", Actions: []string{"log"}, EscalateAfter: 1, Cooldown: time.Minute, Severity: "warning"},
	}
	cfg.QueueSize, cfg.Workers = 5, 1
	cfg.Limits.Global = RateConfig{PerMinute: 60000, Burst: 10000}
	cfg.Limits.PerAction = RateConfig{PerMinute: 60000, Burst: 10000}
	require.NoError(t, cfg.Validate())

	e, err := newHealingExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	host := &statusHost{}
	require.NoError(t, e.start(context.Background(), host))
	defer func() { require.NoError(t, e.shutdown(context.Background())) }()

	down := map[string]int64{}
	for i := range 40 {
		down[fmt.Sprintf("svc-%02d", i)] = 0
	}
	require.NoError(t, e.consumeMetrics(context.Background(), statusMetrics(down)))
	require.NoError(t, e.consumeMetrics(context.Background(), scoreMetrics([]string{"a", "b", "c"}, 0.1)))

	require.Eventually(t, func() bool {
		n := 0
		for _, r := range auditRecords(t, cfg.Audit.Path) {
			if r.Action == "log" && r.Decision == audit.DecisionExecuted {
				n++
			}
		}
		return n == 3
	}, 10*time.Second, 20*time.Millisecond, "the log action ran for all three despite the hung webhook")
	full := 0
	for _, r := range auditRecords(t, cfg.Audit.Path) {
		if r.Reason == "queue_full" {
			full++
			assert.Equal(t, "hook", r.Action)
		}
	}
	assert.Equal(t, 35, full, "the hook's own queue of 5 bounds it")

	assert.True(t, e.checkQueues(time.Now().Add(5*time.Minute)), "runs are pending: checked again")
	assert.Equal(t, "StatusRecoverableError", host.last())
	n, _ := e.queues["hook"].stats()
	assert.Equal(t, 5, n)

	hung.Release() // the endpoint answers, the held requests first
	require.Eventually(t, func() bool { n, _ := e.queues["hook"].stats(); return n == 0 }, 10*time.Second, 20*time.Millisecond)
	assert.False(t, e.checkQueues(time.Now()), "every queue empty and the hung status cleared: no more checks until a run is queued")
	assert.Equal(t, "StatusOK", host.last())
}

func scoreMetrics(services []string, v float64) pmetric.Metrics {
	md := statusMetrics(nil)
	for _, s := range services {
		gaugePoint(md, s, "health.score").SetDoubleValue(v)
	}
	return md
}
