package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFindSample(t *testing.T) {
	body := `# HELP healthcheck_status x
healthcheck_status{healthcheck_target="a",job="svc"} 1
healthcheck_status{healthcheck_target="b",job="svc"} 0
healthcheck_status_other{healthcheck_target="a"} 7
plain_metric 3.5
`
	assert.Equal(t, []float64{1}, FindSample(body, "healthcheck_status", map[string]string{"healthcheck_target": "a"}))
	assert.Equal(t, []float64{1, 0}, FindSample(body, "healthcheck_status", map[string]string{"job": "svc"}))
	assert.Empty(t, FindSample(body, "healthcheck_status", map[string]string{"healthcheck_target": "c"}))
	assert.Equal(t, []float64{3.5}, FindSample(body, "plain_metric", nil))
	assert.Empty(t, FindSample(body, "plain", nil), "a prefix of a name is not the name")
}
