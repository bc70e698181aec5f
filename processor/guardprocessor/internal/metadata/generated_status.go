// Package metadata holds the guard processor's component type, stability and its own telemetry
// (written by hand: mdatagen is not available for this release).
package metadata

import "go.opentelemetry.io/collector/component"

// Type is the processor's component type, as written in a config.
var Type = component.MustNewType("guard")

// ScopeName is the instrumentation scope of the processor's own telemetry.
const ScopeName = "github.com/vigil-collector/vigil/processor/guardprocessor"

// Stability of each signal.
const (
	TracesStability  = component.StabilityLevelAlpha
	MetricsStability = component.StabilityLevelAlpha
	LogsStability    = component.StabilityLevelAlpha
)
