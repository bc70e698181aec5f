package validation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

type section struct{ Window, Buckets int }

func (s *section) Validate() error {
	var l List
	l.Check(s.Window > 0, "window", "must be positive, got %d", s.Window)
	l.Check(s.Buckets > 0, "buckets", "must be positive, got %d", s.Buckets)
	return l.Err()
}

type top struct {
	Section section `mapstructure:"section"`
}

func TestList(t *testing.T) {
	var l List
	require.NoError(t, l.Err())
	l.Check(true, "fine", "never %d", 1)
	require.NoError(t, l.Err())
	l.Add("pct", "must be below 100%%, got %v", 150)
	assert.EqualError(t, l.Err(), "pct: must be below 100%, got 150")

	// Both errors of the section keep its path.
	err := confmap.Validate(&top{})
	assert.EqualError(t, err, "section: window: must be positive, got 0; buckets: must be positive, got 0")
}

func TestBetween(t *testing.T) {
	assert.NoError(t, Between("n", 1, 1, 3))
	assert.NoError(t, Between("n", 3, 1, 3))
	assert.EqualError(t, Between("n", 0, 1, 3), "n: must be between 1 and 3, got 0")
	assert.EqualError(t, Between("n", 4, 1, 3), "n: must be between 1 and 3, got 4")
}
