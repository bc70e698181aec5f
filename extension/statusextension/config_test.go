package statusextension

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/vigil-collector/vigil/extension/statusextension/internal/metadata"
	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/internal/ownmetrics"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	componenttest.CheckFactory(t, f, "status")
	assert.Equal(t, component.StabilityLevelDevelopment, f.Stability())
}

func TestLoadConfig(t *testing.T) {
	load := func(id component.ID) *Config { return componenttest.LoadValid(t, NewFactory(), id).(*Config) }
	def := load(component.NewID(metadata.Type))
	assert.Equal(t, createDefaultConfig(), def)
	assert.Equal(t, "localhost:13180", def.NetAddr.Endpoint, "the API address of the breaker before it")
	assert.True(t, def.Page.Enabled)

	c := load(component.NewIDWithName(metadata.Type, "custom"))
	assert.Equal(t, "127.0.0.1:23180", c.NetAddr.Endpoint)
	require.True(t, c.Auth.HasValue())
	assert.Equal(t, "bearertokenauth", c.Auth.Get().Config.AuthenticatorID.String())
	assert.Equal(t, 500, c.MaxComponents)
	assert.Equal(t, []string{"checkout", "payments"}, c.Critical)
	assert.Equal(t, 2*time.Hour, c.Incidents.Retention)
	assert.Equal(t, 20, c.Incidents.MaxEvents)
	assert.Equal(t, 4, c.Watch.MaxSubscribers)
	assert.False(t, c.Page.Enabled)
	assert.Equal(t, 5000, c.API.MaxLimit)
}

// TestValidateNamesTheField checks every bad value is refused with its field path, as the
// collector reports it (confmap walks the nested configs and prefixes their fields).
func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		field  string
		mutate func(*Config)
	}{
		{"endpoint", func(c *Config) { c.NetAddr.Endpoint = "" }},
		{"max_components", func(c *Config) { c.MaxComponents = 0 }},
		{"max_name_length", func(c *Config) { c.MaxNameLength = 0 }},
		{"critical[0]", func(c *Config) { c.Critical = []string{"bad\nname"} }},
		{"critical[1]", func(c *Config) { c.Critical = []string{"a", "a"} }},
		{"score_change", func(c *Config) { c.ScoreChange = 0 }},
		{"incidents: max", func(c *Config) { c.Incidents.Max = 0 }},
		{"incidents: retention", func(c *Config) { c.Incidents.Retention = 0 }},
		{"incidents: max_events", func(c *Config) { c.Incidents.MaxEvents = 1 }},
		{"watch: max_subscribers", func(c *Config) { c.Watch.MaxSubscribers = 0 }},
		{"watch: buffer", func(c *Config) { c.Watch.Buffer = 0 }},
		{"api: max_limit", func(c *Config) { c.API.MaxLimit = 0 }},
		{"api: default_limit", func(c *Config) { c.API.DefaultLimit = 0 }},
		{"api.default_limit", func(c *Config) { c.API.DefaultLimit = c.API.MaxLimit + 1 }},
		{"api: max_incidents_per_page", func(c *Config) { c.API.MaxIncidentsPerPage = 0 }},
	}
	for _, tt := range tests {
		componenttest.AssertBadField(t, tt.field, defaultConfig, tt.mutate)
	}
}

// TestOwnTelemetry starts the extension with the collector's telemetry and checks every
// instrument it documents is there, with the model's figures.
func TestOwnTelemetry(t *testing.T) {
	tel := componenttest.NewTelemetry(t)
	cfg := createDefaultConfig().(*Config)
	cfg.NetAddr.Endpoint = "127.0.0.1:0"
	set := extensiontest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.Settings()
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NopHost()))
	defer func() { require.NoError(t, ext.Shutdown(context.Background())) }()
	pub := ext.(statusfeed.Publisher)
	pub.PublishScores(&statusfeed.Pass{At: time.Now(), Components: []statusfeed.Component{
		{Name: "a", Known: true, Score: 0.1, Status: "unhealthy"}, {Name: "bad\nname", Known: true, Score: 1, Status: "healthy"}}})

	want := map[string]int64{"otelcol_status_components": 1, "otelcol_status_incidents_open": 1, "otelcol_status_watch_streams": 0,
		"otelcol_status_dropped": 1, "otelcol_status_incidents_refused": 0, "otelcol_status_watch_dropped": 0}
	tel.AssertInt64(want)
	componenttest.AssertDocumented(t, ownmetrics.Names(new(metadata.TelemetryBuilder))...)
}

// defaultConfig is the factory's default config, as the validation tests start from.
func defaultConfig() *Config { return createDefaultConfig().(*Config) }
