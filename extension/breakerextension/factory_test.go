package breakerextension

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/metadata"
	"github.com/vigil-collector/vigil/internal/componenttest"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	componenttest.CheckFactory(t, f, "breaker")
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, component.StabilityLevelDevelopment, f.Stability())
}
