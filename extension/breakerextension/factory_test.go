package breakerextension

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/metadata"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, "breaker", f.Type().String())
	assert.Equal(t, component.StabilityLevelDevelopment, f.Stability())
	require.NoError(t, componenttest.CheckConfigStruct(f.CreateDefaultConfig()))
}
