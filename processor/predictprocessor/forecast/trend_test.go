package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testTrendConfig = TrendConfig{Fast: time.Hour, Slow: 24 * time.Hour, Damping: 7 * 24 * time.Hour}

const (
	minute = 60.0
	hour   = 3600.0
	day    = 24 * hour
)

// feed adds f(t) + noise every step seconds over [from, to) and returns the model.
func feed(m *Trend, from, to, step float64, noise float64, rng *rand.Rand, f func(t float64) float64) {
	for t := from; t < to; t += step {
		m.Add(t, f(t)+noise*rng.NormFloat64())
	}
}

func TestTimeToThresholdOnLinearFills(t *testing.T) {
	for _, h := range []float64{10 * minute, hour, 3 * hour, 6 * hour, 12 * hour, 24 * hour} {
		rng := rand.New(rand.NewPCG(1, uint64(h)))
		m := NewTrend(testTrendConfig)
		observed := 6 * hour
		rate := 0.3 / (observed + h) // from 0.6 at t=0 to 0.9 at observed+h
		feed(&m, 0, observed, 30, 0.002, rng, func(t float64) float64 { return 0.6 + rate*t })
		got, ok := m.TimeToThreshold(0.9, +1, 48*hour)
		require.True(t, ok, "horizon %v: no crossing found", h)
		assert.InEpsilon(t, h, got, 0.2, "horizon %vh: got %.2fh", h/hour, got/hour)
	}
}

func TestTimeToThresholdFallingSeries(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	m := NewTrend(testTrendConfig)
	// A health score sliding from 0.95 towards 0.5, reached 5 h after the last point.
	rate := 0.45 / (4*hour + 5*hour)
	feed(&m, 0, 4*hour, 10, 0.005, rng, func(t float64) float64 { return 0.95 - rate*t })
	got, ok := m.TimeToThreshold(0.5, -1, 24*hour)
	require.True(t, ok)
	assert.InEpsilon(t, 5*hour, got, 0.2)
	_, ok = m.TimeToThreshold(0.5, +1, 24*hour)
	assert.True(t, ok, "a series above a threshold it must stay under is already past it")
}

func TestTimeToThresholdOnDampedTrend(t *testing.T) {
	// The series follows the model's own damped curve: level + b·τ(1 - exp(-t/τ)).
	tau := testTrendConfig.Damping.Seconds()
	b := 0.5 / day
	curve := func(t float64) float64 { return 0.2 + b*tau*-math.Expm1(-t/tau) }
	rng := rand.New(rand.NewPCG(3, 3))
	m := NewTrend(testTrendConfig)
	obs := 12 * hour
	feed(&m, 0, obs, 60, 0.001, rng, curve)
	// Find where the curve really crosses 0.9.
	truth := 0.0
	for tt := obs; ; tt += 60 {
		if curve(tt) >= 0.9 {
			truth = tt - obs
			break
		}
	}
	require.Less(t, truth, 48*hour)
	got, ok := m.TimeToThreshold(0.9, +1, 72*hour)
	require.True(t, ok)
	assert.InEpsilon(t, truth, got, 0.2, "truth %.1fh got %.1fh", truth/hour, got/hour)
	mean, _ := m.Forecast(6 * hour)
	assert.InDelta(t, curve(obs+6*hour), mean, 0.01)
}

func TestNoTimeToThresholdOnFlatSeries(t *testing.T) {
	for _, noise := range []float64{0, 0.001, 0.02} {
		rng := rand.New(rand.NewPCG(4, 4))
		m := NewTrend(testTrendConfig)
		for tt := 0.0; tt < 3*day; tt += 60 {
			m.Add(tt, 0.5+noise*rng.NormFloat64())
			if tt > hour {
				_, ok := m.TimeToThreshold(0.9, +1, 24*hour)
				require.False(t, ok, "noise %v: crossing reported at %.1fh", noise, tt/hour)
			}
		}
		assert.Less(t, m.Risk(0.9, +1, 24*hour, []float64{hour, 6 * hour}), 0.01)
	}
}

func TestNoTimeToThresholdOnPeriodicSeries(t *testing.T) {
	for _, period := range []float64{10 * minute, hour, 6 * hour, day} {
		rng := rand.New(rand.NewPCG(5, uint64(period)))
		m := NewTrend(testTrendConfig)
		wave := func(t float64) float64 { return 0.55 + 0.15*math.Sin(2*math.Pi*t/period) }
		// Within its first cycle a rising wave is a trend as far as anything can tell: from one
		// full period on (and after two hours of warm-up) no crossing may be reported.
		crossings := 0
		for tt := 0.0; tt < 4*day; tt += 60 {
			m.Add(tt, wave(tt)+0.005*rng.NormFloat64())
			if tt > math.Max(2*hour, period) {
				if _, ok := m.TimeToThreshold(0.9, +1, 24*hour); ok {
					crossings++
					t.Logf("period %.0f min: crossing at %.1fh", period/minute, tt/hour)
				}
			}
		}
		assert.Zero(t, crossings, "period %.0f min: a cycle below the threshold was reported as crossing it", period/minute)
	}
}

func TestStepSettlesWithoutTimeToThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	m := NewTrend(testTrendConfig)
	feed(&m, 0, 6*hour, 30, 0.003, rng, func(float64) float64 { return 0.4 })
	feed(&m, 6*hour, 12*hour, 30, 0.003, rng, func(float64) float64 { return 0.7 })
	mean, _ := m.Forecast(hour)
	assert.InDelta(t, 0.7, mean, 0.02)
	_, ok := m.TimeToThreshold(0.9, +1, 24*hour)
	assert.False(t, ok)
}

func TestGapKeepsTheTrend(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	m := NewTrend(testTrendConfig)
	rate := 0.4 / (10 * hour) // 0.5 -> 0.9 at t = 10h
	f := func(t float64) float64 { return 0.5 + rate*t }
	feed(&m, 0, 3*hour, 60, 0.002, rng, f)
	feed(&m, 5*hour, 6*hour, 60, 0.002, rng, f) // two hours without data
	got, ok := m.TimeToThreshold(0.9, +1, 24*hour)
	require.True(t, ok)
	assert.InEpsilon(t, 4*hour, got, 0.2)
}

func TestRiskRisesAsTheCrossingNears(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	m := NewTrend(testTrendConfig)
	rate := 0.4 / (12 * hour)
	f := func(t float64) float64 { return 0.5 + rate*t }
	feed(&m, 0, 2*hour, 60, 0.003, rng, f)
	early := m.Risk(0.9, +1, 4*hour, nil)
	feed(&m, 2*hour, 10*hour, 60, 0.003, rng, f)
	late := m.Risk(0.9, +1, 4*hour, nil)
	assert.Less(t, early, 0.05, "crossing 10 h away is not a risk within 4 h")
	assert.Greater(t, late, 0.95, "crossing 2 h away is a risk within 4 h")
}

func TestRegressionRecoversLine(t *testing.T) {
	r := NewRegression(hour)
	for tt := 0.0; tt < 2*hour; tt += 7 { // irregular w.r.t. nothing: exact line
		r.Add(1.7e9+tt, 3+0.25*tt)
	}
	level, slope := r.Fit()
	assert.InDelta(t, 0.25, slope, 1e-9)
	assert.InDelta(t, 3+0.25*(7*1028), level, 1e-6)
	assert.InDelta(t, 0, r.ResidualSD(), 1e-6)
}

func TestNoCrossingBeyondTheModelsReach(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	m := NewTrend(testTrendConfig)
	rate := 0.4 / (10 * hour) // reaches 0.9 ten hours from t = 0
	f := func(t float64) float64 { return 0.5 + rate*t }
	feed(&m, 0, 20*minute, 10, 0.0005, rng, f)
	_, ok := m.TimeToThreshold(0.9, +1, 24*hour)
	assert.False(t, ok, "20 minutes of data do not support a 9.7 h extrapolation (reach %.1f h)", m.reach()/hour)
	assert.Less(t, m.Risk(0.9, +1, 24*hour, nil), 0.01)
	feed(&m, 20*minute, hour, 10, 0.0005, rng, f)
	got, ok := m.TimeToThreshold(0.9, +1, 24*hour)
	require.True(t, ok, "an hour of data reaches 12 h")
	assert.InEpsilon(t, 9*hour, got, 0.2)
}

func TestTimeToThresholdWithIrregularIntervals(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	m := NewTrend(testTrendConfig)
	rate := 0.3 / (12 * hour) // 0.6 -> 0.9 at t = 12h
	tt := 0.0
	for tt < 6*hour {
		m.Add(tt, 0.6+rate*tt+0.002*rng.NormFloat64())
		tt += 5 + 115*rng.Float64() // scrapes 5 s to 2 min apart
		if rng.IntN(200) == 0 {
			tt += 20 * minute // and the odd gap
		}
	}
	got, ok := m.TimeToThreshold(0.9, +1, 24*hour)
	require.True(t, ok)
	last := m.fast.Time()
	assert.InEpsilon(t, 12*hour-last, got, 0.2)
}
