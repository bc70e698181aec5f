package forecast

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const objective = 0.999 // error budget 0.001

// firstFiring streams ratio(t) every step seconds from `from` to `to` and returns the time the
// named window pair first fires (or -1) and whether any pair fired at all.
func firstFiring(t *testing.T, b *Burn, from, to, step float64, ratio func(float64) float64, pair string) (first float64, anyFired bool) {
	t.Helper()
	first = -1
	var states []BurnState
	for tt := from; tt < to; tt += step {
		b.Update(tt, ratio(tt), step)
		states = b.Evaluate(states[:0])
		require.Len(t, states, len(DefaultBurnWindows))
		for _, s := range states {
			if s.Firing {
				anyFired = true
				if s.Window.Name() == pair && first < 0 {
					first = tt - from
				}
			}
		}
	}
	return first, anyFired
}

func TestBurn14xFiresWithinShortWindowOnFreshSeries(t *testing.T) {
	b, err := NewBurn(objective, DefaultBurnWindows)
	require.NoError(t, err)
	step := 10.0
	first, _ := firstFiring(t, b, 1e9, 1e9+2*hour, step, func(float64) float64 { return 14.4 * 0.001 }, "1h/5m")
	require.GreaterOrEqual(t, first, 0.0, "a 14.4x burn never fired")
	assert.LessOrEqual(t, first, 5*minute+step, "fired after %.0f s", first)
}

func TestBurn14xAfterCleanHistoryFiresWhenTheLongWindowFills(t *testing.T) {
	b, err := NewBurn(objective, DefaultBurnWindows)
	require.NoError(t, err)
	step := 10.0
	start := 1e9 + 3*day
	_, fired := firstFiring(t, b, 1e9, start, step, func(float64) float64 { return 0 }, "1h/5m")
	require.False(t, fired)
	// With an hour of clean data in the window, a 14.4x burn needs the whole hour to average
	// 14.4x: that is the scheme's detection time (window × factor / burn).
	first, _ := firstFiring(t, b, start, start+2*hour, step, func(float64) float64 { return 14.4 * 0.001 }, "1h/5m")
	assert.InDelta(t, hour, first, 5*minute+step)
	// A burn 12 times faster reaches the 1 h window's 14.4 in 5 minutes.
	b2, _ := NewBurn(objective, DefaultBurnWindows)
	firstFiring(t, b2, 1e9, start, step, func(float64) float64 { return 0 }, "1h/5m")
	first, _ = firstFiring(t, b2, start, start+hour, step, func(float64) float64 { return 12 * 14.4 * 0.001 }, "1h/5m")
	assert.InDelta(t, 5*minute, first, step+1)
}

func TestBurnBelowBudgetNeverFires(t *testing.T) {
	b, err := NewBurn(objective, DefaultBurnWindows)
	require.NoError(t, err)
	_, fired := firstFiring(t, b, 1e9, 1e9+5*day, 30, func(float64) float64 { return 0.9 * 0.001 }, "3d/6h")
	assert.False(t, fired, "a 0.9x burn must never fire")
	states := b.Evaluate(nil)
	for _, s := range states {
		assert.InDelta(t, 0.9, s.LongRate, 1e-6, s.Window.Name())
		assert.InDelta(t, 0.9/s.Window.Factor, s.Level(), 1e-6)
	}
}

func TestBurnGapLetsTheWindowEmpty(t *testing.T) {
	b, _ := NewBurn(objective, DefaultBurnWindows)
	for tt := 0.0; tt < hour; tt += 10 {
		b.Update(1e9+tt, 0.5, 10)
	}
	b.Update(1e9+5*hour, 0, 10) // five hours later, clean
	for _, s := range b.Evaluate(nil) {
		if s.Window.Long == time.Hour {
			assert.Zero(t, s.LongRate)
			assert.False(t, s.Firing)
		}
	}
}

func TestNewBurnRejectsBadInput(t *testing.T) {
	_, err := NewBurn(1, DefaultBurnWindows)
	assert.ErrorContains(t, err, "objective")
	_, err = NewBurn(0.99, []BurnWindow{{Long: time.Minute, Short: time.Hour, Factor: 2}})
	assert.ErrorContains(t, err, "short window")
	_, err = NewBurn(0.99, []BurnWindow{{Long: time.Hour, Short: time.Minute, Factor: 0}})
	assert.ErrorContains(t, err, "factor")
	assert.Equal(t, "1h/5m", DefaultBurnWindows[0].Name())
	assert.Equal(t, "3d/6h", DefaultBurnWindows[3].Name())
	assert.Equal(t, "1h30m", shortDuration(90*time.Minute))
}
