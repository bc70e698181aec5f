package healthscoreprocessor

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/score"
)

func TestLoadConfig(t *testing.T) {
	load := func(id component.ID) (*Config, error) {
		cfg, err := componenttest.Unmarshal(t, NewFactory(), id)
		if err != nil {
			return nil, err
		}
		return cfg.(*Config), confmap.Validate(cfg)
	}

	def, err := load(component.NewID(metadata.Type))
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), def)
	assert.Equal(t, component.ID{}, def.Breaker, "no breaker named: no feeding")

	c, err := load(component.NewIDWithName(metadata.Type, "custom"))
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, c.Interval)
	assert.Equal(t, component.MustNewIDWithName("breaker", "edge"), c.Breaker)
	s := c.engineSettings()
	assert.Equal(t, 500, s.MaxComponents)
	assert.Equal(t, 2000, s.MaxEdges)
	assert.Equal(t, 100, s.MaxHosts)
	assert.Equal(t, 128, s.MaxNameLength)
	assert.Equal(t, time.Minute, s.StaleAfter)
	assert.Equal(t, 10*time.Minute, s.ExpireAfter)
	assert.Equal(t, score.Weights{score.Errors: 0.5, score.Latency: 0.3, score.Probe: 0.2, score.Events: 0.1}, s.Weights)
	assert.Equal(t, 0.95, s.Healthy)
	assert.Equal(t, 0.6, s.Degraded)
	assert.Equal(t, 0.99, s.SLOTarget)
	assert.Equal(t, 0.0, s.PriorCalls)
	assert.Equal(t, 300*time.Millisecond, s.LatencyThreshold)
	assert.Equal(t, map[string]time.Duration{"payments": 800 * time.Millisecond, "search": 50 * time.Millisecond}, s.LatencyThresholds)
	assert.Equal(t, 0.99, s.LatencyQuantile)
	assert.Equal(t, 30*time.Minute, s.BaselineHalfLife)
	assert.Equal(t, 500.0, s.BaselineMinCalls)
	assert.Equal(t, 0.9, s.SaturationThreshold)
	assert.Equal(t, 0.3, s.SaturationFloor)
	assert.Equal(t, 0.25, s.Damping)

	_, err = load(component.NewIDWithName(metadata.Type, "unknown_key"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "intervall")
}

func TestConfigStruct(t *testing.T) {
	componenttest.CheckFactory(t, NewFactory(), "healthscore")
}

func TestDefaultConfigIsValid(t *testing.T) {
	require.NoError(t, confmap.Validate(createDefaultConfig()))
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		field  string
		mutate func(*Config)
	}{
		{"interval", func(c *Config) { c.Interval = 10 * time.Millisecond }},
		{"interval", func(c *Config) { c.Interval = time.Hour }},
		{"max_components", func(c *Config) { c.MaxComponents = 0 }},
		{"max_edges", func(c *Config) { c.MaxEdges = -1 }},
		{"max_hosts", func(c *Config) { c.MaxHosts = 20_000_000 }},
		{"max_name_length", func(c *Config) { c.MaxNameLength = 0 }},
		{"stale_after", func(c *Config) { c.StaleAfter = time.Second }},
		{"expire_after", func(c *Config) { c.ExpireAfter = time.Minute }},
		{"weights: errors", func(c *Config) { c.Weights.Errors = -0.1 }},
		{"weights: latency", func(c *Config) { c.Weights.Latency = math.NaN() }},
		{"weights: saturation", func(c *Config) { c.Weights.Saturation = math.Inf(1) }},
		{"weights: probe", func(c *Config) { c.Weights.Probe = -1 }},
		{"weights: dependencies", func(c *Config) { c.Weights.Dependencies = -1 }},
		{"weights: events", func(c *Config) { c.Weights.Events = -1 }},
		{"weights", func(c *Config) { c.Weights = WeightsConfig{} }},
		{"status: degraded", func(c *Config) { c.Status.Degraded = 0 }},
		{"status: healthy", func(c *Config) { c.Status.Healthy = 0.4 }},
		{"status: healthy", func(c *Config) { c.Status.Healthy = 1.5 }},
		{"errors: slo_target", func(c *Config) { c.Errors.SLOTarget = 1 }},
		{"errors: slo_target", func(c *Config) { c.Errors.SLOTarget = 99.9 }},
		{"errors: prior_calls", func(c *Config) { c.Errors.PriorCalls = -1 }},
		{"latency: threshold", func(c *Config) { c.Latency.Threshold = -time.Second }},
		{`latency: thresholds["payments"]`, func(c *Config) { c.Latency.Thresholds = map[string]time.Duration{"payments": 0} }},
		{"latency: thresholds", func(c *Config) { c.Latency.Thresholds = map[string]time.Duration{"bad\nname": time.Second} }},
		{"latency: quantile", func(c *Config) { c.Latency.Quantile = 1 }},
		{"latency: baseline_half_life", func(c *Config) { c.Latency.BaselineHalfLife = 0 }},
		{"latency: baseline_min_calls", func(c *Config) { c.Latency.BaselineMinCalls = 0 }},
		{"saturation: threshold", func(c *Config) { c.Saturation.Threshold = 1 }},
		{"saturation: floor", func(c *Config) { c.Saturation.Floor = 2 }},
		{"dependencies: damping", func(c *Config) { c.Dependencies.Damping = 1.5 }},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			c := createDefaultConfig().(*Config)
			tt.mutate(c)
			err := confmap.Validate(c)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tt.field+": "), "%q should start with %q", err.Error(), tt.field)
		})
	}
}

func TestValidateEventsNamesTheField(t *testing.T) {
	for _, tt := range []struct {
		field  string
		mutate func(*Config)
	}{
		{"events: min_rate", func(c *Config) { c.Events.MinRate = 0 }},
		{"events: min_rate", func(c *Config) { c.Events.MinRate = math.NaN() }},
		{"events: warm_up", func(c *Config) { c.Events.WarmUp = -time.Second }},
	} {
		c := createDefaultConfig().(*Config)
		tt.mutate(c)
		err := confmap.Validate(c)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.field+":")
	}
}

func TestValidateReportsEveryError(t *testing.T) {
	c := createDefaultConfig().(*Config)
	c.MaxComponents = 0
	c.Dependencies.Damping = -1
	err := confmap.Validate(c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "max_components")
	assert.Contains(t, err.Error(), "dependencies: damping")
}
