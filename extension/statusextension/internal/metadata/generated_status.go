// Package metadata holds the status extension's component type and stability, written by hand
// as mdatagen would generate them (mdatagen is not available at this collector release).
package metadata // import "github.com/vigil-collector/vigil/extension/statusextension/internal/metadata"

import "go.opentelemetry.io/collector/component"

// Type is the extension's component type, as configs name it.
var Type = component.MustNewType("status")

// ScopeName is the instrumentation scope of the extension's own telemetry.
const ScopeName = "github.com/vigil-collector/vigil/extension/statusextension"

// ExtensionStability is the extension's stability level.
const ExtensionStability = component.StabilityLevelDevelopment
