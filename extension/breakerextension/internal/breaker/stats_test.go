package breaker

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWilsonLower(t *testing.T) {
	assert.Equal(t, 0.0, wilsonLower(0, 0, 3))
	assert.Equal(t, 0.0, wilsonLower(0, 100, 3))
	// Reference values computed by hand from the Wilson formula.
	assert.InDelta(t, 0.4019, wilsonLower(50, 100, 2), 1e-3)
	assert.InDelta(t, 0.0509, wilsonLower(2, 20, 1), 1e-3)
	// The bound rises towards the observed rate as n grows.
	lo, mid, hi := wilsonLower(5, 10, 3), wilsonLower(50, 100, 3), wilsonLower(5000, 10000, 3)
	assert.Less(t, lo, mid)
	assert.Less(t, mid, hi)
	assert.Less(t, hi, 0.5)
	assert.InDelta(t, 0.485, hi, 1e-3)
}

func TestStepAllowance(t *testing.T) {
	// The first attempt is always admitted; then ceil(attempts × percent).
	assert.Equal(t, uint64(1), stepAllowance(1, 1))
	assert.Equal(t, uint64(1), stepAllowance(100, 1))
	assert.Equal(t, uint64(2), stepAllowance(101, 1))
	assert.Equal(t, uint64(5), stepAllowance(10, 50))
	assert.Equal(t, uint64(7), stepAllowance(7, 100))
}
