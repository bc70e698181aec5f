package breakerextension

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/metadata"
	"github.com/vigil-collector/vigil/internal/componenttest"
)

func TestLoadConfig(t *testing.T) {
	load := func(id component.ID) *Config { return componenttest.LoadValid(t, NewFactory(), id).(*Config) }

	def := load(component.NewID(metadata.Type))
	assert.Equal(t, createDefaultConfig(), def)
	assert.Equal(t, component.ID{}, def.StatusExtension, "no HTTP API unless a status extension is named")
	assert.False(t, def.GRPC.HasValue(), "the gRPC health endpoint is off unless configured")

	c := load(component.NewIDWithName(metadata.Type, "custom"))
	assert.Equal(t, component.MustNewID("status"), c.StatusExtension)
	require.True(t, c.GRPC.HasValue())
	assert.Equal(t, "127.0.0.1:23181", c.GRPC.Get().NetAddr.Endpoint)
	s := c.settings()
	assert.Equal(t, 500, s.MaxTargets)
	assert.Equal(t, 3, s.ConsecutiveFailures)
	assert.Equal(t, 30*time.Second, s.Window)
	assert.Equal(t, 30, s.WindowBuckets)
	assert.Equal(t, 4.0, s.Z)
	assert.Equal(t, 0.4, s.MaxBaselineFailureRate)
	assert.Equal(t, 250*time.Millisecond, s.SlowThreshold)
	assert.Equal(t, 0.99, s.SlowQuantile)
	assert.Equal(t, 30*time.Minute, s.BaselineHalfLife)
	assert.Equal(t, time.Minute, s.OpenMax)
	assert.Equal(t, []float64{5, 25, 100}, s.HalfOpenSteps)
	assert.Equal(t, 32, s.TransitionHistory)
	assert.Equal(t, 8, c.Watch.MaxSubscribers)
}

func TestDefaultsMatchBreakerDefaults(t *testing.T) {
	s := createDefaultConfig().(*Config).settings()
	d := breaker.DefaultSettings()
	assert.Equal(t, d, s)
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		field  string
		mutate func(*Config)
	}{
		{"max_targets", func(c *Config) { c.MaxTargets = 0 }},
		{"max_target_length", func(c *Config) { c.MaxTargetLength = 5000 }},
		{"consecutive_failures", func(c *Config) { c.ConsecutiveFailures = -1 }},
		{"window", func(c *Config) { c.Window = 0 }},
		{"window_buckets", func(c *Config) { c.WindowBuckets = 0 }},
		{"window_buckets", func(c *Config) { c.Window = time.Millisecond }},
		{"min_calls", func(c *Config) { c.MinCalls = 0 }},
		{"significance_z", func(c *Config) { c.SignificanceZ = 0 }},
		{"failure_rate: min_increase", func(c *Config) { c.FailureRate.MinIncrease = 2 }},
		{"failure_rate: relative_increase", func(c *Config) { c.FailureRate.RelativeIncrease = -1 }},
		{"failure_rate: max_baseline", func(c *Config) { c.FailureRate.MaxBaseline = 1 }},
		{"slow_call: quantile", func(c *Config) { c.SlowCall.Quantile = 1 }},
		{"slow_call: multiplier", func(c *Config) { c.SlowCall.Multiplier = 0 }},
		{"slow_call: threshold", func(c *Config) { c.SlowCall.Threshold = -time.Second }},
		{"slow_call: min_increase", func(c *Config) { c.SlowCall.MinIncrease = -0.1 }},
		{"slow_call: relative_increase", func(c *Config) { c.SlowCall.RelativeIncrease = -0.1 }},
		{"baseline: half_life", func(c *Config) { c.Baseline.HalfLife = 0 }},
		{"baseline: warmup_calls", func(c *Config) { c.Baseline.WarmupCalls = 0 }},
		{"baseline: initial_failure_rate", func(c *Config) { c.Baseline.InitialFailureRate = 0 }},
		{"open: initial", func(c *Config) { c.Open.Initial = 0 }},
		{"open: multiplier", func(c *Config) { c.Open.Multiplier = 0.5 }},
		{"open: max", func(c *Config) { c.Open.Max = time.Second }},
		{"open: jitter", func(c *Config) { c.Open.Jitter = 1 }},
		{"open: decay_after", func(c *Config) { c.Open.DecayAfter = -time.Second }},
		{"half_open: steps", func(c *Config) { c.HalfOpen.Steps = nil }},
		{"half_open: steps", func(c *Config) { c.HalfOpen.Steps = []float64{10, 5, 100} }},
		{"half_open: steps", func(c *Config) { c.HalfOpen.Steps = []float64{10, 50} }},
		{"half_open: steps", func(c *Config) { c.HalfOpen.Steps = []float64{10, 150} }},
		{"half_open: successes_per_step", func(c *Config) { c.HalfOpen.SuccessesPerStep = 0 }},
		{"half_open: max_step_duration", func(c *Config) { c.HalfOpen.MaxStepDuration = -1 }},
		{"watch: max_subscribers", func(c *Config) { c.Watch.MaxSubscribers = 0 }},
		{"watch: buffer", func(c *Config) { c.Watch.Buffer = 0 }},
		{"transition_history", func(c *Config) { c.TransitionHistory = 0 }},
	}
	for _, tt := range tests {
		componenttest.AssertBadField(t, tt.field, defaultConfig, tt.mutate)
	}
}

// defaultConfig is the factory's default config, as the validation tests start from.
func defaultConfig() *Config { return createDefaultConfig().(*Config) }
