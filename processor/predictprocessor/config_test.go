package predictprocessor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/processor/predictprocessor/internal/metadata"
)

func ptr(v float64) *float64 { return &v }

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := componenttest.CheckFactory(t, NewFactory(), "predict").(*Config)
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, 50_000, cfg.MaxSeries)
	var metrics []string
	for _, w := range cfg.Watch {
		metrics = append(metrics, w.Metric)
	}
	assert.Equal(t, []string{"system.filesystem.utilization", "system.memory.utilization", "health.score"}, metrics)
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		id   component.ID
		want func(*Config)
	}{
		{id: component.NewID(metadata.Type), want: func(*Config) {}},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: func(c *Config) {
			c.MaxSeries, c.WarmUp, c.WarmUpPoints = 1000, 5*time.Minute, 20
			c.Model = ModelConfig{Fast: 30 * time.Minute, Slow: 12 * time.Hour, Damping: 72 * time.Hour}
			c.Watch = []WatchRule{
				{
					Metric: "system.filesystem.utilization", MinValue: ptr(0), MaxValue: ptr(1),
					Attributes: []AttributeMatcher{{Key: "state", Value: "used"}, {Key: "mountpoint", Regex: "/|/var.*"}},
					Threshold:  ptr(0.9), Horizons: []time.Duration{time.Hour, 4 * time.Hour, 24 * time.Hour}, MaxHorizon: 48 * time.Hour,
				},
				{Metric: "system.memory.utilization", Threshold: ptr(0.95), Model: "linear", Window: 6 * time.Hour},
				{Metric: "health.score", Threshold: ptr(0.5), Direction: "below"},
				{Metric: "http.server.request.duration", Histogram: HistogramConfig{Statistic: "quantile", Quantile: 0.95}},
				{Metric: "checkout.error_ratio", ErrorBudget: &ErrorBudgetConfig{Objective: 0.999, Windows: []BurnWindowConfig{
					{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4}, {Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6},
				}}},
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := componenttest.LoadValid(t, NewFactory(), tt.id)
			want := createDefaultConfig().(*Config)
			tt.want(want)
			assert.Equal(t, want, cfg)
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"max_series", func(c *Config) { c.MaxSeries = 0 }, "max_series: must be positive"},
		{"warm_up", func(c *Config) { c.WarmUp = -time.Second }, "warm_up: must not be negative"},
		{"warm_up_points", func(c *Config) { c.WarmUpPoints = 1 }, "warm_up_points: must be at least 3"},
		{"model.fast", func(c *Config) { c.Model.Fast = 0 }, "model: fast: must be positive"},
		{"model.slow", func(c *Config) { c.Model.Slow = time.Minute }, "model: slow: must be at least model.fast"},
		{"model.damping", func(c *Config) { c.Model.Damping = -1 }, "model: damping: must not be negative"},
		{"watch empty", func(c *Config) { c.Watch = nil }, "watch: at least one rule is required"},
		{"metric", func(c *Config) { c.Watch[0].Metric = "" }, "watch::0: metric: must not be empty"},
		{"attribute key", func(c *Config) { c.Watch[1].Attributes = []AttributeMatcher{{Value: "x"}} }, "watch::1::attributes::0: key: must not be empty"},
		{"attribute regex", func(c *Config) { c.Watch[0].Attributes = []AttributeMatcher{{Key: "k", Regex: "("}} }, "watch::0::attributes::0: regex:"},
		{"attribute both", func(c *Config) { c.Watch[0].Attributes = []AttributeMatcher{{Key: "k", Value: "v", Regex: "v"}} }, "attributes::0: set value or regex, not both"},
		{"direction", func(c *Config) { c.Watch[2].Direction = "sideways" }, `watch::2: direction: want "above" or "below", got "sideways"`},
		{"horizons", func(c *Config) { c.Watch[0].Horizons = []time.Duration{time.Hour, 0} }, "watch::0: horizons::1: must be positive"},
		{"max_horizon", func(c *Config) { c.Watch[0].MaxHorizon = -time.Hour }, "watch::0: max_horizon: must not be negative"},
		{"bounds", func(c *Config) { c.Watch[0].MinValue, c.Watch[0].MaxValue = ptr(1), ptr(0) }, "watch::0: min_value: must be below max_value"},
		{"model", func(c *Config) { c.Watch[0].Model = "prophet" }, `watch::0: model: want "damped_trend" or "linear"`},
		{"window", func(c *Config) { c.Watch[0].Model, c.Watch[0].Window = "linear", -time.Hour }, "watch::0: window: must not be negative"},
		{"statistic", func(c *Config) { c.Watch[0].Histogram.Statistic = "median" }, "watch::0::histogram: statistic"},
		{"quantile", func(c *Config) { c.Watch[0].Histogram = HistogramConfig{Statistic: "quantile", Quantile: 1} }, "watch::0::histogram: quantile: want a value in (0,1)"},
		{"objective", func(c *Config) { c.Watch[0].ErrorBudget = &ErrorBudgetConfig{Objective: 99.9} }, "watch::0::error_budget: objective"},
		{"burn short", func(c *Config) {
			c.Watch[0].ErrorBudget = &ErrorBudgetConfig{Objective: 0.99, Windows: []BurnWindowConfig{{Long: time.Minute, Short: time.Hour, Factor: 2}}}
		}, "error_budget::windows::0: short: must not exceed long"},
		{"burn factor", func(c *Config) {
			c.Watch[0].ErrorBudget = &ErrorBudgetConfig{Objective: 0.99, Windows: []BurnWindowConfig{{Long: time.Hour, Short: time.Minute}}}
		}, "error_budget::windows::0: factor: must be positive"},
		{"burn durations", func(c *Config) {
			c.Watch[0].ErrorBudget = &ErrorBudgetConfig{Objective: 0.99, Windows: []BurnWindowConfig{{Factor: 1}}}
		}, "error_budget::windows::0: long and short must be positive"},
	}
	for _, tt := range tests {
		componenttest.AssertInvalid(t, tt.name, defaultConfig, tt.modify, tt.want)
	}
}

func TestConfigIsAValidator(t *testing.T) {
	var _ confmap.Validator = createDefaultConfig().(*Config)
}

// validate runs the collector's validation of a config, which calls the Validate of every nested
// config type and prefixes each error with its field's path.
func validate(cfg any) error { return confmap.Validate(cfg) }

// defaultConfig is the factory's default config, as the validation tests start from.
func defaultConfig() *Config { return createDefaultConfig().(*Config) }
