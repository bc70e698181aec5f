// Package healingexporter turns rules over metrics into healing actions (webhooks, Alertmanager,
// PagerDuty, allow-listed commands, log records) that are rate-limited, deduplicated, backed off,
// suppressed in maintenance windows and recorded in a tamper-evident audit file.
package healingexporter

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
)

// NewFactory creates the healing exporter's factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithMetrics(createMetrics, metadata.MetricsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Limits: LimitsConfig{
			Global:              RateConfig{PerMinute: defaultGlobalPerMinute, Burst: defaultGlobalBurst},
			PerAction:           RateConfig{PerMinute: defaultActionPerMinute, Burst: defaultActionBurst},
			PerTarget:           RateConfig{PerMinute: defaultTargetPerMinute, Burst: defaultTargetBurst},
			MaxPerTargetPerHour: defaultMaxPerTargetPerHour,
		},
		Backoff: BackoffConfig{
			Initial: defaultBackoffInitial, Max: defaultBackoffMax,
			Multiplier: defaultBackoffMultiplier, ResetAfter: defaultBackoffResetAfter,
		},
		MaxIncidents:   defaultMaxIncidents,
		Workers:        defaultWorkers,
		QueueSize:      defaultQueueSize,
		ResolveTimeout: defaultResolveTimeout,
	}
}

func createMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	e, err := newHealingExporter(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	// No sending queue: a batch is acknowledged only once its decisions are in the audit file.
	return exporterhelper.NewMetrics(ctx, set, cfg, e.consumeMetrics,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}))
}
