package configerr

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestList(t *testing.T) {
	var l List
	require.NoError(t, l.Err())
	l.Check(true, "fine", "never %d", 1)
	require.NoError(t, l.Err())
	l.Check(false, "window", "must be positive, got %s", "0s")
	l.Add("steps", "must end at 100, ends at %v", 50.0)
	assert.EqualError(t, l.Err(), "window: must be positive, got 0s\nsteps: must end at 100, ends at 50")
	l.Add("pct", "must be below 100%%")
	assert.Contains(t, l.Err().Error(), "pct: must be below 100%")
}
