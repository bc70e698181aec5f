// Package metadata holds the receiver's type, stability and its own telemetry instruments
// (written by hand: mdatagen is not available at our collector release).
package metadata

import "go.opentelemetry.io/collector/component"

// Type is the receiver's component type.
var Type = component.MustNewType("healthcheck")

// ScopeName is the instrumentation scope of the metrics the receiver emits and of its own telemetry.
const ScopeName = "github.com/vigil-collector/vigil/receiver/healthcheckreceiver"

// MetricsStability is the stability of the receiver's metrics signal.
const MetricsStability = component.StabilityLevelAlpha
