package healingexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/vigil-collector/vigil/exporter/healingexporter/internal/metadata"
	"github.com/vigil-collector/vigil/extension/statusextension/statustest"
)

// TestDecisionsJoinTheIncidentTimeline: every audited decision reaches the real status
// extension, where a firing rule opens the target's incident and the actions show on it.
func TestDecisionsJoinTheIncidentTimeline(t *testing.T) {
	st, base := statustest.Start(t, nil)
	statusID := statustest.ID

	hook := newHookServer(t, "s3cr3t")
	cfg := testConfig(t, hook.URL)
	cfg.StatusExtension = statusID
	exp, err := NewFactory().CreateMetrics(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), statustest.NewHost(map[component.ID]component.Component{statusID: st})))
	ctx := context.Background()
	require.NoError(t, exp.ConsumeMetrics(ctx, statusMetrics(map[string]int64{"checkout": 0})))
	waitSettled(t, cfg.Audit.Path)
	require.NoError(t, exp.ConsumeMetrics(ctx, statusMetrics(map[string]int64{"checkout": 1})))
	require.Eventually(t, func() bool { return len(hook.got()) == 2 }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, exp.Shutdown(ctx))

	var body struct {
		Incidents []struct {
			State  string `json:"state"`
			Events []struct {
				Kind     string `json:"kind"`
				Decision string `json:"decision"`
				Action   string `json:"action"`
			} `json:"events"`
		} `json:"incidents"`
	}
	raw := statustest.GetJSON(t, base+"/v1/incidents?service=checkout", &body)
	require.Len(t, body.Incidents, 1, "%s", raw)
	inc := body.Incidents[0]
	assert.Equal(t, "resolved", inc.State, "the rule resolved and nothing else is wrong: %s", raw)
	var got []string
	for _, ev := range inc.Events {
		got = append(got, ev.Kind+":"+ev.Decision+":"+ev.Action)
	}
	require.GreaterOrEqual(t, len(got), 5, "%v", got)
	assert.Equal(t, []string{"healing:fired:", "healing:executing:notify"}, got[:2], "%v", got)
	assert.Contains(t, got, "healing:executed:notify")
	assert.Contains(t, got, "healing:resolved:")
	assert.Contains(t, got, "resolved::", "the incident ends when the rule resolves; its resolve notification joins it after")
}
