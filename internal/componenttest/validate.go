package componenttest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

// AssertInvalid runs the subtest name: a config from valid (which must pass the collector's
// validation) is changed by mutate, and the collector's validation must then fail with want in
// its error, or pass where want is empty.
func AssertInvalid[C any](t *testing.T, name string, valid func() C, mutate func(C), want string) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		cfg := valid()
		require.NoError(t, confmap.Validate(cfg), "the config before the change is valid")
		mutate(cfg)
		err := confmap.Validate(cfg)
		if want == "" {
			assert.NoError(t, err)
			return
		}
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
	})
}

// AssertBadField is AssertInvalid where the error must contain the field's path and a colon.
func AssertBadField[C any](t *testing.T, field string, valid func() C, mutate func(C)) {
	t.Helper()
	AssertInvalid(t, field, valid, mutate, field+":")
}
