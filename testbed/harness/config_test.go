package harness

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestComposeRendersThenMerges: each fragment is a template of the same data; later fragments add
// keys and replace lists.
func TestComposeRendersThenMerges(t *testing.T) {
	out := Compose(t, map[string]any{"Prom": 8889, "Timeout": "1s"}, `
exporters:
  prometheus: {endpoint: "127.0.0.1:{{.Prom}}"}
service:
  extensions: [zpages]
`, `
processors:
  batch: {timeout: {{.Timeout}}}
exporters:
  prometheus: {metric_expiration: 3s}
service:
  extensions: [zpages, pprof]
`)
	var got struct {
		Processors struct{ Batch struct{ Timeout string } }
		Exporters  struct {
			Prometheus struct {
				Endpoint   string
				Expiration string `yaml:"metric_expiration"`
			}
		}
		Service struct{ Extensions []string }
	}
	require.NoError(t, yaml.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, "1s", got.Processors.Batch.Timeout)
	assert.Equal(t, "127.0.0.1:8889", got.Exporters.Prometheus.Endpoint)
	assert.Equal(t, "3s", got.Exporters.Prometheus.Expiration, "maps merge key by key")
	assert.Equal(t, []string{"zpages", "pprof"}, got.Service.Extensions, "lists are replaced")
}

// TestRepeatStops: fn runs until it returns false, or until stop, which waits for it and may be
// called twice.
func TestRepeatStops(t *testing.T) {
	var n atomic.Int64
	stop := Repeat(time.Millisecond, func() bool { return n.Add(1) < 3 })
	require.Eventually(t, func() bool { return n.Load() == 3 }, 10*time.Second, time.Millisecond)
	stop()
	assert.Equal(t, int64(3), n.Load(), "no call after fn returned false")

	var m atomic.Int64
	stop = Repeat(time.Millisecond, func() bool { m.Add(1); return true })
	require.Eventually(t, func() bool { return m.Load() >= 2 }, 10*time.Second, time.Millisecond)
	stop()
	after := m.Load()
	stop()
	time.Sleep(5 * time.Millisecond)
	assert.Equal(t, after, m.Load(), "no call after stop")
}
