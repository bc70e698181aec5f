package healthcheckreceiver

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/internal/componenttest"
	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/metadata"
)

func loadConfig(t *testing.T, id component.ID) *Config {
	return componenttest.Load(t, NewFactory(), id).(*Config)
}

func TestLoadConfig(t *testing.T) {
	def := loadConfig(t, component.NewID(metadata.Type))
	assert.Equal(t, 10*time.Second, def.CollectionInterval)
	assert.Equal(t, 5*time.Second, def.Timeout)
	assert.Empty(t, def.Targets)
	require.NoError(t, confmap.Validate(def))

	cfg := loadConfig(t, component.NewIDWithName(metadata.Type, "full"))
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, 30*time.Second, cfg.CollectionInterval)
	assert.Equal(t, 2*time.Second, cfg.InitialDelay)
	assert.Equal(t, 3*time.Second, cfg.Timeout)
	require.Len(t, cfg.Targets, 3)

	follow := false
	var headers configopaque.MapList
	headers.Set("Authorization", "Bearer s3cr3t")
	assert.Equal(t, TargetConfig{
		Name: "checkout-http", Service: "checkout", Type: TypeHTTP,
		Endpoint: "https://checkout.internal:8443/healthz",
		Interval: 15 * time.Second, Timeout: 2 * time.Second,
		FailureThreshold: 3, SuccessThreshold: 2,
		TLS: configoptional.Some(configtls.ClientConfig{Config: configtls.Config{CAFile: "testdata/internal-ca.pem"}}),
		HTTP: HTTPConfig{
			Method: "POST", Headers: headers, Body: `{"deep": true}`,
			ExpectedStatus: []string{"2xx", "304"}, BodyContains: "UP", BodyRegex: `"status":\s*"UP"`,
			MaxBodyBytes: 1024, FollowRedirects: &follow, ProxyURL: "http://proxy.internal:3128", PhaseTimings: true,
		},
	}, cfg.Targets[0])
	assert.Equal(t, TargetConfig{Name: "redis", Type: TypeTCP, Endpoint: "redis.internal:6379"}, cfg.Targets[1])
	assert.False(t, cfg.Targets[1].TLS.HasValue(), "no tls section: plaintext")
	assert.Equal(t, "payments.v1.Payments", cfg.Targets[2].GRPC.Service)
	require.True(t, cfg.Targets[2].TLS.HasValue())
	assert.True(t, cfg.Targets[2].TLS.Get().Insecure)

	// Header values are secrets: they never print.
	assert.NotContains(t, fmt.Sprintf("%v %+v", cfg.Targets[0], cfg.Targets[0].HTTP.Headers), "s3cr3t")
}

func validTarget() TargetConfig {
	return TargetConfig{Name: "api", Type: TypeHTTP, Endpoint: "http://localhost:8080/healthz"}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // substring of the error; "" = valid
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{name: "valid target", mutate: func(c *Config) { c.Targets = []TargetConfig{validTarget()} }},
		{name: "interval too short", mutate: func(c *Config) { c.CollectionInterval = time.Millisecond }, want: "collection_interval: must be at least 100ms"},
		{name: "negative initial delay", mutate: func(c *Config) { c.InitialDelay = -time.Second }, want: "initial_delay: must not be negative"},
		{name: "zero timeout", mutate: func(c *Config) { c.Timeout = 0 }, want: "timeout: must be positive"},
		{name: "timeout not below interval", mutate: func(c *Config) { c.Timeout = 10 * time.Second }, want: "timeout: must be below collection_interval (10s), got 10s"},
		{name: "missing name", mutate: func(c *Config) { tg := validTarget(); tg.Name = ""; c.Targets = []TargetConfig{tg} }, want: "targets::0: name: required"},
		{name: "duplicate name", mutate: func(c *Config) { c.Targets = []TargetConfig{validTarget(), validTarget()} }, want: `targets::1: target "api": name: duplicate of targets::0`},
		{name: "huge name", mutate: func(c *Config) {
			tg := validTarget()
			tg.Name = strings.Repeat("n", 129)
			c.Targets = []TargetConfig{tg}
		}, want: "name: at most 128 bytes"},
		{name: "control characters", mutate: func(c *Config) { tg := validTarget(); tg.Name = "a\nb"; c.Targets = []TargetConfig{tg} }, want: "name: must not contain control characters"},
		{name: "C1 control character", mutate: func(c *Config) { tg := validTarget(); tg.Name = "a\u0085b"; c.Targets = []TargetConfig{tg} }, want: "name: must not contain control characters"},
		{name: "invalid utf-8 service", mutate: func(c *Config) { tg := validTarget(); tg.Service = "\xff"; c.Targets = []TargetConfig{tg} }, want: `targets::0: target "api": service: must be valid UTF-8`},
		{name: "missing type", mutate: func(c *Config) { tg := validTarget(); tg.Type = ""; c.Targets = []TargetConfig{tg} }, want: "targets::0: target \"api\": type: required (http, tcp or grpc)"},
		{name: "bad type", mutate: func(c *Config) { tg := validTarget(); tg.Type = "icmp"; c.Targets = []TargetConfig{tg} }, want: `type: must be http, tcp or grpc, got "icmp"`},
		{name: "http endpoint missing", mutate: func(c *Config) { tg := validTarget(); tg.Endpoint = ""; c.Targets = []TargetConfig{tg} }, want: "endpoint: required (a URL"},
		{name: "http endpoint scheme", mutate: func(c *Config) { tg := validTarget(); tg.Endpoint = "ftp://x/"; c.Targets = []TargetConfig{tg} }, want: `endpoint: scheme must be http or https, got "ftp"`},
		{name: "tcp endpoint not host:port", mutate: func(c *Config) {
			c.Targets = []TargetConfig{{Name: "db", Type: TypeTCP, Endpoint: "db.internal"}}
		}, want: `targets::0: target "db": endpoint: want host:port`},
		{name: "grpc endpoint bad port", mutate: func(c *Config) {
			c.Targets = []TargetConfig{{Name: "g", Type: TypeGRPC, Endpoint: "g:99999"}}
		}, want: `endpoint: port must be a number from 1 to 65535, got "99999"`},
		{name: "http settings on tcp", mutate: func(c *Config) {
			c.Targets = []TargetConfig{{Name: "db", Type: TypeTCP, Endpoint: "db:5432", HTTP: HTTPConfig{Method: "GET"}}}
		}, want: `targets::0: target "db": http: only for targets of type http`},
		{name: "grpc settings on http", mutate: func(c *Config) { tg := validTarget(); tg.GRPC.Service = "x"; c.Targets = []TargetConfig{tg} }, want: "grpc: only for targets of type grpc"},
		{name: "target timeout not below its interval", mutate: func(c *Config) {
			tg := validTarget()
			tg.Interval, tg.Timeout = 2*time.Second, 2*time.Second
			c.Targets = []TargetConfig{tg}
		}, want: `targets::0: target "api": timeout: must be below the target's interval (2s), got 2s`},
		{name: "receiver timeout not below target interval", mutate: func(c *Config) {
			tg := validTarget()
			tg.Interval = time.Second
			c.Targets = []TargetConfig{tg}
		}, want: "timeout: must be below the target's interval (1s), got 5s"},
		{name: "target interval too short", mutate: func(c *Config) { tg := validTarget(); tg.Interval = time.Millisecond; c.Targets = []TargetConfig{tg} }, want: "interval: must be at least 100ms"},
		{name: "negative threshold", mutate: func(c *Config) { tg := validTarget(); tg.FailureThreshold = -1; c.Targets = []TargetConfig{tg} }, want: "failure_threshold: must be between 1 and 100, got -1"},
		{name: "absurd threshold", mutate: func(c *Config) { tg := validTarget(); tg.SuccessThreshold = 1000; c.Targets = []TargetConfig{tg} }, want: "success_threshold: must be between 1 and 100, got 1000"},
		{name: "bad status", mutate: func(c *Config) {
			tg := validTarget()
			tg.HTTP.ExpectedStatus = []string{"2xx", "ok"}
			c.Targets = []TargetConfig{tg}
		}, want: `targets::0::http: expected_status::1: invalid status "ok"`},
		{name: "bad regex", mutate: func(c *Config) { tg := validTarget(); tg.HTTP.BodyRegex = "(("; c.Targets = []TargetConfig{tg} }, want: "targets::0::http: body_regex: error parsing regexp"},
		{name: "bad method", mutate: func(c *Config) { tg := validTarget(); tg.HTTP.Method = "GET /x"; c.Targets = []TargetConfig{tg} }, want: `targets::0::http: method: not an HTTP method: "GET /x"`},
		{name: "head with body match", mutate: func(c *Config) {
			tg := validTarget()
			tg.HTTP.Method, tg.HTTP.BodyContains = "HEAD", "ok"
			c.Targets = []TargetConfig{tg}
		}, want: "targets::0::http: method: HEAD responses have no body"},
		{name: "negative max body", mutate: func(c *Config) { tg := validTarget(); tg.HTTP.MaxBodyBytes = -1; c.Targets = []TargetConfig{tg} }, want: "targets::0::http: max_body_bytes: must be between 1 and 16777216, got -1"},
		{name: "bad header name", mutate: func(c *Config) {
			tg := validTarget()
			tg.HTTP.Headers.Set("Bad Header", "x")
			c.Targets = []TargetConfig{tg}
		}, want: `targets::0::http: headers: not a header name: "Bad Header"`},
		{name: "bad proxy", mutate: func(c *Config) { tg := validTarget(); tg.HTTP.ProxyURL = "::"; c.Targets = []TargetConfig{tg} }, want: "targets::0::http: proxy_url: not a proxy URL"},
		{name: "huge endpoint", mutate: func(c *Config) {
			tg := validTarget()
			tg.Endpoint = "http://x/" + strings.Repeat("a", 3000)
			c.Targets = []TargetConfig{tg}
		}, want: "endpoint: at most 2048 bytes"},
		{name: "bad tls", mutate: func(c *Config) {
			tg := validTarget()
			tg.TLS = configoptional.Some(configtls.ClientConfig{Config: configtls.Config{MinVersion: "9.9"}})
			c.Targets = []TargetConfig{tg}
		}, want: `targets::0::tls:`},
		{name: "missing ca_file", mutate: func(c *Config) {
			tg := validTarget()
			tg.TLS = configoptional.Some(configtls.ClientConfig{Config: configtls.Config{CAFile: "/nonexistent/ca.pem"}})
			c.Targets = []TargetConfig{tg}
		}, want: `targets::0: target "api": tls.ca_file: open /nonexistent/ca.pem: no such file or directory`},
		{name: "cert_file is a folder", mutate: func(c *Config) {
			tg := validTarget()
			tg.TLS = configoptional.Some(configtls.ClientConfig{Config: configtls.Config{CertFile: "testdata", KeyFile: "testdata/internal-ca.pem"}})
			c.Targets = []TargetConfig{tg}
		}, want: `targets::0: target "api": tls.cert_file: testdata is a directory`},
	}
	for _, tt := range tests {
		componenttest.AssertInvalid(t, tt.name, func() *Config { return createDefaultConfig().(*Config) }, tt.mutate, tt.want)
	}
}

func TestEmptyTLSSectionEnablesTLS(t *testing.T) {
	// tls: {} asks for TLS with the system's roots; a bare "tls:" (null) is no section at all.
	for _, tc := range []struct {
		tls  any
		want bool
	}{{map[string]any{}, true}, {nil, false}} {
		conf := confmap.NewFromStringMap(map[string]any{
			"targets": []any{map[string]any{"name": "db", "type": "tcp", "endpoint": "db:5432", "tls": tc.tls}},
		})
		cfg := createDefaultConfig().(*Config)
		require.NoError(t, conf.Unmarshal(cfg))
		assert.Equal(t, tc.want, cfg.Targets[0].TLS.HasValue(), "tls: %v", tc.tls)
	}
}

// validate runs the collector's validation of a config, which calls the Validate of every nested
// config type and prefixes each error with its field's path.
func validate(cfg any) error { return confmap.Validate(cfg) }
