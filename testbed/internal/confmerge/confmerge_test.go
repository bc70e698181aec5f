package confmerge

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestMergeMapsKeyByKeyAndReplacesTheRest(t *testing.T) {
	out, err := Merge(`
extensions:
  healthcheckv2: {endpoint: 127.0.0.1:1}
exporters:
  debug:
service:
  extensions: [healthcheckv2]
  telemetry: {metrics: {readers: [{pull: {}}]}}
`, `
extensions:
  status: {endpoint: 127.0.0.1:2}
service:
  extensions: [healthcheckv2, status]
  telemetry: {metrics: {level: none}}
`)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(out), &got))
	assert.Equal(t, map[string]any{
		"extensions": map[string]any{
			"healthcheckv2": map[string]any{"endpoint": "127.0.0.1:1"},
			"status":        map[string]any{"endpoint": "127.0.0.1:2"},
		},
		"exporters": map[string]any{"debug": nil},
		"service": map[string]any{
			"extensions": []any{"healthcheckv2", "status"},
			"telemetry":  map[string]any{"metrics": map[string]any{"level": "none", "readers": []any{map[string]any{"pull": map[string]any{}}}}},
		},
	}, got)
}

func TestMergeNamesTheBadDocument(t *testing.T) {
	_, err := Merge("a: 1\n", "b: [\n")
	assert.ErrorContains(t, err, "config document 1")
}
