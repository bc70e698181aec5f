// Package componenttest holds the test steps every Vigil component repeats, so that each
// component's tests say only what is particular to it: the factory's checks, loading a config
// from testdata/config.yaml, starting and shutting down, and reading its own telemetry (and its
// documentation.md) from the collector's test telemetry. It builds on the collector's
// component/componenttest and fails the test through testify, like the tests it serves.
package componenttest

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
)

// NopHost is a host without extensions, as the collector's componenttest gives it.
func NopHost() component.Host { return componenttest.NewNopHost() }

// CheckFactory checks the factory's type is typ and that its default config is a valid config
// struct, and returns that default config.
func CheckFactory(t testing.TB, f component.Factory, typ string) component.Config {
	t.Helper()
	assert.Equal(t, typ, f.Type().String())
	cfg := f.CreateDefaultConfig()
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	return cfg
}

// StartAndShutdown starts c on host and shuts it down, requiring both to succeed.
func StartAndShutdown(t testing.TB, c component.Component, host component.Host) {
	t.Helper()
	require.NoError(t, c.Start(context.Background(), host))
	require.NoError(t, c.Shutdown(context.Background()))
}

// ShutdownWithoutStart creates a component and shuts it down unstarted, requiring both to
// succeed: the collector shuts down every component it created when another fails to start.
func ShutdownWithoutStart[C component.Component](t testing.TB, create func() (C, error)) {
	t.Helper()
	c, err := create()
	require.NoError(t, err)
	require.NoError(t, c.Shutdown(context.Background()))
}

// AssertDocumented asserts the component's documentation.md (in the test's folder) lists each
// metric as the first cell of a table row.
func AssertDocumented(t testing.TB, names ...string) {
	t.Helper()
	doc, err := os.ReadFile("documentation.md")
	require.NoError(t, err)
	for _, name := range names {
		assert.Contains(t, string(doc), "| `"+name+"` |", "documentation.md lists %s", name)
	}
}
