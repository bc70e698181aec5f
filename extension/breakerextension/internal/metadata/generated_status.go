// Package metadata holds the breaker extension's component type and stability, written by hand
// as mdatagen would generate them (mdatagen is not available at this collector release).
package metadata // import "github.com/vigil-collector/vigil/extension/breakerextension/internal/metadata"

import "go.opentelemetry.io/collector/component"

// Type is the extension's component type, as configs name it.
var Type = component.MustNewType("breaker")

// ScopeName is the instrumentation scope of the extension's own telemetry.
const ScopeName = "github.com/vigil-collector/vigil/extension/breakerextension"

// ExtensionStability is the extension's stability level.
const ExtensionStability = component.StabilityLevelDevelopment
