// Package metadata holds the exporter's type, stability and its own telemetry instruments
// (written by hand: mdatagen is not available at our collector release).
package metadata

import "go.opentelemetry.io/collector/component"

// Type is the exporter's component type.
var Type = component.MustNewType("healing")

// ScopeName is the instrumentation scope of the exporter's own telemetry.
const ScopeName = "github.com/vigil-collector/vigil/exporter/healingexporter"

// MetricsStability is the stability of the metrics signal.
const MetricsStability = component.StabilityLevelAlpha
