package healingexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
	"github.com/vigil-collector/vigil/internal/componenttest"
)

// load returns the config of the exporter named name in testdata/config.yaml.
func load(t *testing.T, name string) *Config {
	return componenttest.Load(t, NewFactory(), component.NewIDWithName(metadata.Type, name)).(*Config)
}

func TestLoadConfig(t *testing.T) {
	def := load(t, "")
	require.NoError(t, confmap.Validate(def))
	assert.Equal(t, RateConfig{PerMinute: 30, Burst: 10}, def.Limits.Global)
	assert.Equal(t, 6, def.Limits.MaxPerTargetPerHour)
	assert.Equal(t, 10*time.Second, def.Backoff.Initial)
	assert.Equal(t, 300*time.Second, def.Backoff.Max)
	assert.Equal(t, 10*time.Minute, def.Backoff.ResetAfter)

	cfg := load(t, "full")
	require.NoError(t, confmap.Validate(cfg))
	assert.True(t, cfg.DryRun)
	assert.Equal(t, 3, cfg.Limits.MaxPerTargetPerHour)
	require.Len(t, cfg.Rules, 2)
	r := cfg.Rules[0]
	assert.Equal(t, "service-down", r.Name)
	assert.Equal(t, map[string]string{"healthcheck.type": "http"}, r.When.Match)
	assert.Equal(t, 2, r.EscalateAfter)
	// Rule defaults.
	d := cfg.Rules[1]
	assert.Equal(t, "service.name", d.Target)
	assert.Equal(t, 1, d.EscalateAfter)
	assert.Equal(t, 10*time.Minute, d.Cooldown)
	assert.Equal(t, "warning", d.Severity)
	// Action defaults.
	assert.Equal(t, defaultTargetPattern, cfg.Actions["restart"].Exec.TargetPattern)
	assert.Equal(t, time.Minute, cfg.Actions["restart"].Exec.Timeout)
	assert.Equal(t, 4096, cfg.Actions["restart"].Exec.MaxOutputBytes)
	assert.Equal(t, defaultPagerDutyURL, cfg.Actions["page"].PagerDuty.URL)
	assert.Equal(t, 3, cfg.Actions["notify"].Webhook.MaxRetries)
	assert.True(t, cfg.Actions["notify"].DryRun)
}

func TestValidateNamesTheField(t *testing.T) {
	base := func() *Config { return load(t, "full") }
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"audit path", func(c *Config) { c.Audit.Path = "" }, "audit: path: required"},
		{"rate", func(c *Config) { c.Limits.Global.PerMinute = 0 }, "limits::global: per_minute: must be above 0"},
		{"burst", func(c *Config) { c.Limits.PerTarget.Burst = 0 }, "limits::per_target: burst: must be between 1 and 10000"},
		{"hourly", func(c *Config) { c.Limits.MaxPerTargetPerHour = 0 }, "limits: max_per_target_per_hour"},
		{"backoff", func(c *Config) { c.Backoff.Max = time.Second }, "backoff: max: must be at least backoff.initial"},
		{"multiplier", func(c *Config) { c.Backoff.Multiplier = 0.5 }, "backoff: multiplier"},
		{"workers", func(c *Config) { c.Workers = 0 }, "workers: must be between 1 and 256"},
		{"relative command", func(c *Config) { c.AllowedCommands = []string{"restart.sh"} }, `allowed_commands::0: must be a clean absolute path, got "restart.sh"`},
		{"not allowed", func(c *Config) { c.AllowedCommands = nil }, `actions::restart::exec::command: "/usr/local/bin/restart-unit" is not in allowed_commands`},
		{"unanchored pattern", func(c *Config) { a := c.Actions["restart"]; a.Exec.TargetPattern = "[a-z]+"; c.Actions["restart"] = a }, "actions::restart: exec::target_pattern: must be anchored"},
		{"vigil env", func(c *Config) {
			a := c.Actions["restart"]
			a.Exec.Env = map[string]string{"VIGIL_TARGET": "x"}
			c.Actions["restart"] = a
		}, `actions::restart: exec::env: "VIGIL_TARGET"`},
		{"webhook scheme", func(c *Config) {
			a := c.Actions["notify"]
			a.Webhook.URL = "file:///etc/passwd"
			c.Actions["notify"] = a
		}, `actions::notify: webhook::url: scheme must be http or https, got "file"`},
		{"routing key", func(c *Config) { a := c.Actions["page"]; a.PagerDuty.RoutingKey = ""; c.Actions["page"] = a }, "actions::page: pagerduty::routing_key: required"},
		{"action type", func(c *Config) { c.Actions["x"] = ActionConfig{Type: "shell"} }, `actions::x: type: must be one of`},
		{"unknown action", func(c *Config) { c.Rules[0].Actions = []string{"nope"} }, `rules::0::actions::0: no action named "nope"`},
		{"op", func(c *Config) { c.Rules[0].When.Op = "=~" }, `rules::0::when: op: must be one of`},
		{"metric", func(c *Config) { c.Rules[1].When.Metric = "" }, "rules::1::when: metric: required"},
		{"dup rule", func(c *Config) { c.Rules[1].Name = c.Rules[0].Name }, `rules::1::name: "service-down" already names rules::0`},
		{"severity", func(c *Config) { c.Rules[0].Severity = "fatal" }, "rules::0: severity"},
		{"escalate", func(c *Config) { c.Rules[0].EscalateAfter = 0 }, "rules::0: escalate_after"},
		{"timezone", func(c *Config) { c.Maintenance[0].Timezone = "Mars/Olympus" }, `maintenance::0: timezone: unknown time zone "Mars/Olympus"`},
		{"day", func(c *Config) { c.Maintenance[0].Days = []string{"someday"} }, "maintenance::0: days::0"},
		{"start", func(c *Config) { c.Maintenance[0].Start = "25:00" }, "maintenance::0: start: want HH:MM"},
		{"window rule", func(c *Config) { c.Maintenance[0].Rules = []string{"ghost"} }, `maintenance::0::rules::0: no rule named "ghost"`},
	}
	for _, tt := range tests {
		componenttest.AssertInvalid(t, tt.name, base, tt.mutate, tt.want)
	}
}

func TestMaintenanceWindow(t *testing.T) {
	w, err := newWindow(MaintenanceConfig{Name: "sun", Timezone: "Europe/Paris", Days: []string{"sun"}, Start: "23:00", Duration: 2 * time.Hour})
	require.NoError(t, err)
	paris, _ := time.LoadLocation("Europe/Paris")
	// Sunday 2026-03-29 is the day Paris moves to summer time.
	assert.True(t, w.active(time.Date(2026, 3, 29, 23, 30, 0, 0, paris)))
	assert.True(t, w.active(time.Date(2026, 3, 30, 0, 30, 0, 0, paris)), "runs past midnight into Monday")
	assert.False(t, w.active(time.Date(2026, 3, 30, 1, 0, 0, 0, paris)))
	assert.False(t, w.active(time.Date(2026, 3, 28, 23, 30, 0, 0, paris)), "not on Saturday")
	// The same instant seen from UTC.
	assert.True(t, w.active(time.Date(2026, 3, 29, 21, 30, 0, 0, time.UTC)))
	every, err := newWindow(MaintenanceConfig{Name: "nightly", Start: "02:00", Duration: time.Hour})
	require.NoError(t, err)
	assert.True(t, every.active(time.Date(2026, 11, 27, 2, 59, 0, 0, time.UTC)))
	assert.False(t, every.active(time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)))
}

// validate runs the collector's validation of a config, which calls the Validate of every nested
// config type and prefixes each error with its field's path.
func validate(cfg any) error { return confmap.Validate(cfg) }
