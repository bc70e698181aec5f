package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/metadata"
)

// Defaults of the gRPC health server and its watch streams; the breaker's own defaults are
// breaker.DefaultSettings.
const (
	defaultGRPCEndpoint   = "localhost:13181"
	defaultMaxSubscribers = 64
	defaultWatchBuffer    = 256
	// maxOverrideBody bounds a PUT override body; the JSON is a few dozen bytes.
	maxOverrideBody = 4 << 10
)

// NewFactory returns the breaker extension's factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	d := breaker.DefaultSettings()
	grpc := configgrpc.NewDefaultServerConfig()
	grpc.NetAddr.Endpoint = defaultGRPCEndpoint
	return &Config{
		GRPC:                configoptional.Default(grpc),
		MaxTargets:          d.MaxTargets,
		MaxTargetLength:     d.MaxTargetLength,
		ConsecutiveFailures: d.ConsecutiveFailures,
		Window:              d.Window,
		WindowBuckets:       d.WindowBuckets,
		MinCalls:            d.MinCalls,
		SignificanceZ:       d.Z,
		FailureRate: FailureRateConfig{
			MinIncrease:      d.FailureMinIncrease,
			RelativeIncrease: d.FailureRelativeIncrease,
			MaxBaseline:      d.MaxBaselineFailureRate,
		},
		SlowCall: SlowCallConfig{
			Enabled:          d.SlowEnabled,
			Quantile:         d.SlowQuantile,
			Multiplier:       d.SlowMultiplier,
			MinIncrease:      d.SlowMinIncrease,
			RelativeIncrease: d.SlowRelativeIncrease,
		},
		Baseline: BaselineConfig{
			HalfLife:           d.BaselineHalfLife,
			WarmupCalls:        d.WarmupCalls,
			InitialFailureRate: d.InitialFailureRate,
		},
		Open: OpenConfig{
			Initial:    d.OpenInitial,
			Multiplier: d.OpenMultiplier,
			Max:        d.OpenMax,
			Jitter:     d.OpenJitter,
			DecayAfter: d.OpenDecayAfter,
		},
		HalfOpen: HalfOpenConfig{
			Steps:            d.HalfOpenSteps,
			SuccessesPerStep: d.SuccessesPerStep,
			MaxStepDuration:  d.MaxStepDuration,
		},
		Watch:             WatchConfig{MaxSubscribers: defaultMaxSubscribers, Buffer: defaultWatchBuffer},
		TransitionHistory: d.TransitionHistory,
	}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newExtension(cfg.(*Config), set.TelemetrySettings, breaker.SystemClock{}), nil
}
