package healthscoreprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/vigil-collector/vigil/extension/statusextension/statustest"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/health"
	"github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"
)

var statusID = statustest.ID

func TestScoringPassesArePublishedToTheStatusExtension(t *testing.T) {
	ext, base := statustest.Start(t, nil)
	cfg := testConfig()
	cfg.Interval = time.Hour // the test scores by hand
	cfg.StatusExtension = statusID
	p := newPair(t, cfg, processortest.NewNopSettings(metadata.Type))
	p.start(t, testHost{statusID: ext})
	ctx := context.Background()
	require.NoError(t, p.traces.ConsumeTraces(ctx, spans("checkout", 20, 20, ptrace.SpanKindServer, nil)))
	require.NoError(t, p.traces.ConsumeTraces(ctx, spans("web", 20, 10, ptrace.SpanKindClient, map[string]any{"peer.service": "checkout"})))
	p.hs.scoreOnce(time.Now())

	var doc struct {
		Components []struct {
			Name       string             `json:"name"`
			Status     string             `json:"status"`
			Signals    map[string]float64 `json:"signals"`
			Dependents []struct {
				Service    string  `json:"service"`
				ErrorRatio float64 `json:"error_ratio"`
			} `json:"dependents"`
			Incident *string `json:"incident"`
		} `json:"components"`
	}
	raw := statustest.GetJSON(t, base+"/v1/status?service=checkout", &doc)
	require.Len(t, doc.Components, 1, "%s", raw)
	c := doc.Components[0]
	assert.Equal(t, "unhealthy", c.Status)
	assert.Contains(t, c.Signals, "errors")
	require.Len(t, c.Dependents, 1)
	assert.Equal(t, "web", c.Dependents[0].Service)
	assert.InDelta(t, 0.5, c.Dependents[0].ErrorRatio, 1e-9)
	assert.NotNil(t, c.Incident, "an unhealthy score opens an incident")
}

// The root cause the pass ranked is the one the status extension shows; a component the ranking
// explains by nothing is left to the extension's own walk.
func TestStatusPassCarriesTheRankedRootCause(t *testing.T) {
	p := statusPass(&health.Snapshot{Components: []health.ComponentScore{
		{Name: "checkout", Known: true, Status: "unhealthy", RootCause: "payments"},
		{Name: "payments", Known: true, Status: "unhealthy", RootCause: "payments", RootCauseRank: 1},
		{Name: "web", Known: true, Status: "degraded"},
	}})
	require.Len(t, p.Components, 3)
	assert.Equal(t, []string{"payments"}, p.Components[0].RootCause)
	assert.Equal(t, []string{"payments"}, p.Components[1].RootCause)
	assert.Empty(t, p.Components[2].RootCause)
}

func TestStatusExtensionMissingIsAStartError(t *testing.T) {
	cfg := testConfig()
	cfg.StatusExtension = statusID
	p := newPair(t, cfg, processortest.NewNopSettings(metadata.Type))
	err := p.traces.Start(context.Background(), testHost{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `healthscore: status extension "status" not found`)
	p.shutdown(t)
}
