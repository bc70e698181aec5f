package componenttest

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// Unmarshal returns the factory's default config with the section id of testdata/config.yaml
// unmarshalled over it, and the unmarshalling error; the section must exist.
func Unmarshal(t testing.TB, f component.Factory, id component.ID) (component.Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(id.String())
	require.NoError(t, err)
	cfg := f.CreateDefaultConfig()
	return cfg, sub.Unmarshal(cfg)
}

// Load is Unmarshal where the section must unmarshal.
func Load(t testing.TB, f component.Factory, id component.ID) component.Config {
	t.Helper()
	cfg, err := Unmarshal(t, f, id)
	require.NoError(t, err)
	return cfg
}

// LoadValid is Load where the config must also pass the collector's validation.
func LoadValid(t testing.TB, f component.Factory, id component.ID) component.Config {
	t.Helper()
	cfg := Load(t, f, id)
	require.NoError(t, confmap.Validate(cfg))
	return cfg
}
