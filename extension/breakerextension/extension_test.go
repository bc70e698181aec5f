package breakerextension

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
	"github.com/vigil-collector/vigil/extension/breakerextension/internal/metadata"
)

// loopbackConfig is the default config on free loopback ports.
func loopbackConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.GRPC.GetOrInsertDefault().NetAddr.Endpoint = "127.0.0.1:0"
	return cfg
}

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	cfg := loopbackConfig()
	t.Run("shutdown without start", func(t *testing.T) {
		e, err := f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err)
		require.NoError(t, e.Shutdown(context.Background()))
	})
	t.Run("start and shutdown twice", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			e, err := f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
			require.NoError(t, err)
			require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
			require.NoError(t, e.Shutdown(context.Background()))
			require.NoError(t, e.Shutdown(context.Background()), "a second shutdown is harmless")
		}
	})
	t.Run("port in use", func(t *testing.T) {
		first := newExtension(loopbackConfig(), componenttest.NewNopTelemetrySettings(), breaker.SystemClock{})
		require.NoError(t, first.Start(context.Background(), componenttest.NewNopHost()))
		defer func() { require.NoError(t, first.Shutdown(context.Background())) }()
		cfg := loopbackConfig()
		cfg.GRPC.Get().NetAddr.Endpoint = first.grpcAddr
		second := newExtension(cfg, componenttest.NewNopTelemetrySettings(), breaker.SystemClock{})
		err := second.Start(context.Background(), componenttest.NewNopHost())
		require.Error(t, err)
		assert.Contains(t, err.Error(), first.grpcAddr)
		require.NoError(t, second.Shutdown(context.Background()))
	})
}

func TestExtensionIsAFeeder(t *testing.T) {
	// What the healthscore processor does: find the extension among the host's and assert it.
	e, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), loopbackConfig())
	require.NoError(t, err)
	exts := map[component.ID]component.Component{component.NewID(metadata.Type): e}
	feeder, ok := exts[component.NewID(metadata.Type)].(breakerfeed.Feeder)
	require.True(t, ok)
	for i := 0; i < 8; i++ {
		feeder.RecordOutcome("payments", breakerfeed.Outcome{Class: breakerfeed.Timeout, Latency: time.Second})
	}
	st, known := feeder.State("payments")
	assert.True(t, known)
	assert.Equal(t, breakerfeed.Open, st)
	assert.False(t, feeder.Allow("payments"))
	feeder.RecordProbe("payments", true)
	st, _ = feeder.State("payments")
	assert.Equal(t, breakerfeed.HalfOpen, st)
	n := 0
	feeder.States(func(string, breakerfeed.State) bool { n++; return true })
	assert.Equal(t, 1, n)
	require.NoError(t, e.Shutdown(context.Background()))
}
