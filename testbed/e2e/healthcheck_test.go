package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/testbed/harness"
)

// TestHealthcheckReceiverProbes checks that the built binary's healthcheck receiver probes the
// collector's own health endpoint (up) and a closed port (down, connection_refused), and that the
// results reach Prometheus.
func TestHealthcheckReceiverProbes(t *testing.T) {
	v := startVigil(t, nil, baseConfig)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		body, ok := v.prom(c)
		if !ok {
			return
		}
		up := harness.FindSample(body, "healthcheck_status", map[string]string{"healthcheck_target": "vigil-health", "healthcheck_type": "http", "job": "otelcol-vigil"})
		assert.Equal(c, []float64{1}, up)
		down := harness.FindSample(body, "healthcheck_status", map[string]string{"healthcheck_target": "nothing-listens", "healthcheck_type": "tcp"})
		assert.Equal(c, []float64{0}, down)
		refused := harness.FindSample(body, "healthcheck_error_total", map[string]string{"healthcheck_target": "nothing-listens", "error_type": "connection_refused"})
		if assert.Len(c, refused, 1) {
			assert.GreaterOrEqual(c, refused[0], 1.0)
		}
	}, 20*time.Second, 250*time.Millisecond)
}
