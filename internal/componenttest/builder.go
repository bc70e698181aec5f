package componenttest

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
)

// TelemetryBuilder returns test telemetry and the component's telemetry builder, made by
// newBuilder (its internal/metadata's NewTelemetryBuilder) on it; making it must succeed.
func TelemetryBuilder[B any](t testing.TB, newBuilder func(component.TelemetrySettings) (B, error)) (*Telemetry, B) {
	t.Helper()
	tel := NewTelemetry(t)
	b, err := newBuilder(tel.Settings())
	require.NoError(t, err)
	return tel, b
}

// CheckTelemetryBuilder makes the component's telemetry builder as TelemetryBuilder does and
// hands it to record, which records on its instruments (registering its callbacks) and asserts
// what the telemetry then holds. It then shuts the builder down and asserts that observed, a
// metric one of its callbacks observes, is gone, and that a second shutdown is a no-op.
func CheckTelemetryBuilder[B interface{ Shutdown() error }](t testing.TB, newBuilder func(component.TelemetrySettings) (B, error), observed string, record func(*Telemetry, B)) {
	t.Helper()
	tel, b := TelemetryBuilder(t, newBuilder)
	record(tel, b)
	require.NoError(t, b.Shutdown())
	tel.AssertGone(observed, "the callback is unregistered at shutdown")
	require.NoError(t, b.Shutdown(), "a second shutdown is a no-op")
}
