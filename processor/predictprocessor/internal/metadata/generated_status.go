// Package metadata holds the predict processor's component type, stability and its own
// telemetry (written by hand: mdatagen is not available for this release).
package metadata

import "go.opentelemetry.io/collector/component"

// Type is the processor's component type, as written in a config.
var Type = component.MustNewType("predict")

// ScopeName is the instrumentation scope of the processor's own telemetry and of the
// predict.* metrics it appends.
const ScopeName = "github.com/vigil-collector/vigil/processor/predictprocessor"

// MetricsStability is the stability of the metrics processor.
const MetricsStability = component.StabilityLevelAlpha
