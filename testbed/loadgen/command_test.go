package loadgen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestConfigMergesTheCommandsPart: the shared API config with a command's pipeline and settings.
func TestConfigMergesTheCommandsPart(t *testing.T) {
	out, err := Config(13180, 4317, `
exporters:
  debug: {verbosity: basic}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`)
	require.NoError(t, err)
	var got struct {
		Extensions map[string]map[string]string
		Exporters  map[string]map[string]string
		Service    struct {
			Extensions []string
			Telemetry  struct{ Metrics struct{ Level string } }
			Pipelines  map[string]map[string][]string
		}
	}
	require.NoError(t, yaml.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, "127.0.0.1:13180", got.Extensions["status"]["endpoint"])
	assert.Equal(t, "status", got.Extensions["breaker"]["status_extension"])
	assert.Equal(t, "basic", got.Exporters["debug"]["verbosity"])
	assert.Equal(t, []string{"status", "breaker"}, got.Service.Extensions)
	assert.Equal(t, "none", got.Service.Telemetry.Metrics.Level)
	assert.Equal(t, map[string][]string{"receivers": {"otlp"}, "exporters": {"debug"}}, got.Service.Pipelines["traces"])
	assert.Contains(t, out, "127.0.0.1:4317")
}
