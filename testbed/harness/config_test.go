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
	out := Compose(t, map[string]any{"GRPC": 4317, "API": 13180}, `
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:{{.GRPC}}}
service:
  extensions: [healthcheckv2]
`, `
extensions:
  status: {endpoint: 127.0.0.1:{{.API}}}
service:
  extensions: [healthcheckv2, status]
`)
	var got struct {
		Receivers struct {
			OTLP struct {
				Protocols struct{ GRPC struct{ Endpoint string } }
			} `yaml:"otlp"`
		}
		Extensions struct{ Status struct{ Endpoint string } }
		Service    struct{ Extensions []string }
	}
	require.NoError(t, yaml.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, "127.0.0.1:4317", got.Receivers.OTLP.Protocols.GRPC.Endpoint)
	assert.Equal(t, "127.0.0.1:13180", got.Extensions.Status.Endpoint)
	assert.Equal(t, []string{"healthcheckv2", "status"}, got.Service.Extensions)
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
