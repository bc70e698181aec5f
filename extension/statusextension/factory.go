package statusextension // import "github.com/vigil-collector/vigil/extension/statusextension"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/extension"

	"github.com/vigil-collector/vigil/extension/statusextension/internal/metadata"
)

// Defaults of the configuration.
const (
	defaultEndpoint            = "localhost:13180"
	defaultMaxComponents       = 20_000
	defaultMaxNameLength       = 256
	defaultScoreChange         = 0.05
	defaultMaxIncidents        = 1000
	defaultIncidentRetention   = 24 * time.Hour
	defaultMaxEvents           = 200
	defaultMaxSubscribers      = 64
	defaultWatchBuffer         = 1024
	defaultLimit               = 1000
	defaultMaxLimit            = 10_000
	defaultMaxIncidentsPerPage = 100
)

// NewFactory returns the status extension's factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	http := confighttp.NewDefaultServerConfig()
	http.NetAddr.Endpoint = defaultEndpoint
	return &Config{
		ServerConfig:  http,
		MaxComponents: defaultMaxComponents,
		MaxNameLength: defaultMaxNameLength,
		ScoreChange:   defaultScoreChange,
		Incidents: IncidentsConfig{
			Max:       defaultMaxIncidents,
			Retention: defaultIncidentRetention,
			MaxEvents: defaultMaxEvents,
		},
		Watch: WatchConfig{MaxSubscribers: defaultMaxSubscribers, Buffer: defaultWatchBuffer},
		Page:  PageConfig{Enabled: true},
		API: APIConfig{
			DefaultLimit:        defaultLimit,
			MaxLimit:            defaultMaxLimit,
			MaxIncidentsPerPage: defaultMaxIncidentsPerPage,
		},
	}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newExtension(cfg.(*Config), set.TelemetrySettings)
}
