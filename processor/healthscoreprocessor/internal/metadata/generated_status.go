// Package metadata holds the healthscore processor's component type, stability and its own
// telemetry, written by hand as mdatagen would generate them (mdatagen is not available at this
// collector release).
package metadata // import "github.com/vigil-collector/vigil/processor/healthscoreprocessor/internal/metadata"

import "go.opentelemetry.io/collector/component"

// Type is the processor's component type, as configs name it.
var Type = component.MustNewType("healthscore")

// ScopeName is the instrumentation scope of the processor's own telemetry and of the
// health.* metrics it emits.
const ScopeName = "github.com/vigil-collector/vigil/processor/healthscoreprocessor"

const (
	// TracesStability is the stability of the traces half.
	TracesStability = component.StabilityLevelDevelopment
	// MetricsStability is the stability of the metrics half.
	MetricsStability = component.StabilityLevelDevelopment
	// LogsStability is the stability of the logs half (the events signal).
	LogsStability = component.StabilityLevelDevelopment
)
