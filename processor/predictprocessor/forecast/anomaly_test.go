package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var start = time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)

// stream feeds f(i) every 5 minutes for n points and returns the scores.
func stream(d *Detector, from, n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		out[i] = d.UpdateAt(start.Add(time.Duration(from+i)*5*time.Minute), f(from+i))
	}
	return out
}

func maxScore(s []float64) (float64, int) {
	best, at := -1.0, -1
	for i, v := range s {
		if v > best {
			best, at = v, i
		}
	}
	return best, at
}

func TestSpikeIsAnAlert(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	d := NewDetector(DefaultDetectorConfig())
	noise := func(int) float64 { return 50 + rng.NormFloat64() }
	stream(d, 0, 1000, noise)
	s := stream(d, 1000, 1, func(int) float64 { return 80 })
	assert.GreaterOrEqual(t, s[0], DefaultDetectorConfig().AlertLevel)
	assert.Greater(t, s[0], 0.9, "a spike of 30 sigma")
}

func TestLevelShiftInsideTheRangeIsAnAlert(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	d := NewDetector(DefaultDetectorConfig())
	// One early spike to 100 widens the range, so the later shift to 60 breaks no range.
	stream(d, 0, 1500, func(i int) float64 {
		if i == 300 {
			return 100
		}
		return 50 + 0.5*rng.NormFloat64()
	})
	s := stream(d, 1500, 100, func(int) float64 { return 60 + 0.5*rng.NormFloat64() })
	best, at := maxScore(s)
	assert.GreaterOrEqual(t, best, DefaultDetectorConfig().AlertLevel)
	assert.Less(t, at, 30, "detected within 30 points of the shift")
}

func TestBrokenDailyPatternIsAnAlert(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	d := NewDetector(DefaultDetectorConfig())
	// A daily square wave: 20 at night, 80 from 09:00 to 17:00, with a little noise.
	wave := func(i int) float64 {
		h := (i * 5 / 60) % 24
		if h >= 9 && h < 17 {
			return 80 + rng.NormFloat64()
		}
		return 20 + rng.NormFloat64()
	}
	perDay := 288
	normal := stream(d, 0, 7*perDay, wave)
	alerts := 0
	for _, s := range normal[4*perDay:] {
		if s >= DefaultDetectorConfig().AlertLevel {
			alerts++
		}
	}
	assert.LessOrEqual(t, alerts, 1, "the pattern itself is not anomalous once learnt")
	// Day 8: the daytime peak does not come.
	s := stream(d, 7*perDay, perDay, func(i int) float64 { return 20 + rng.NormFloat64() })
	best, at := maxScore(s)
	assert.GreaterOrEqual(t, best, DefaultDetectorConfig().AlertLevel, "missing peak")
	assert.GreaterOrEqual(t, at, 9*12, "not before the peak was due (09:00)")
}

func TestRefractoryHoldsRepeatedAlerts(t *testing.T) {
	d := NewDetector(DefaultDetectorConfig())
	stream(d, 0, 500, func(i int) float64 { return 10 + float64(i%7) })
	s := stream(d, 500, 10, func(i int) float64 { return 100 * float64(i-499) }) // ever higher
	assert.GreaterOrEqual(t, s[0], 0.1)
	for i, v := range s[1:] {
		assert.Less(t, v, 0.1, "point %d after the alert", i+1)
	}
}

func TestIgnoresNaNAndWarmsUp(t *testing.T) {
	d := NewDetector(DefaultDetectorConfig())
	assert.Zero(t, d.Update(math.NaN()))
	assert.Zero(t, d.Update(math.Inf(-1)))
	assert.Zero(t, d.Points())
	s := stream(d, 0, 150, func(i int) float64 { return float64(i % 3) })
	for i, v := range s[30:] {
		require.Zero(t, v, "no score from a steady cycle, point %d", i+30)
	}
	require.Equal(t, 150, d.Points())
}

func TestNoScoreBeforeWarmOnACleanRamp(t *testing.T) {
	// A clean linear ramp sets a new record at every point; a detector that is still learning its
	// range and spread must not call that an anomaly (the processor used to emit 0.46 here).
	cfg := DefaultDetectorConfig()
	for _, step := range []float64{1e-4, 1, 1e4} {
		d := NewDetector(cfg)
		for i := 0; i < 3*288; i++ { // three days at 5 minutes
			s := d.UpdateAt(start.Add(time.Duration(i)*5*time.Minute), 0.5+step*float64(i))
			require.Equal(t, i+1 > cfg.WarmUp, d.Warm(), "step %g, point %d", step, i)
			if !d.Warm() {
				require.Zero(t, s, "step %g, point %d: no score before warm", step, i)
			}
			// Once warm, rounding in the averages can leave a trace, far below any alert.
			require.Less(t, s, 1e-3, "step %g, point %d: a clean ramp is no anomaly", step, i)
		}
	}
}

func TestScoresOnlyOnceWarm(t *testing.T) {
	// The same spike scores 0 while the detector learns and is an alert once it is warm.
	cfg := DefaultDetectorConfig()
	rng := rand.New(rand.NewPCG(4, 4))
	noise := func(int) float64 { return 50 + rng.NormFloat64() }
	d := NewDetector(cfg)
	stream(d, 0, cfg.WarmUp-1, noise)
	require.False(t, d.Warm())
	assert.Zero(t, stream(d, cfg.WarmUp-1, 1, func(int) float64 { return 80 })[0], "spike while learning")
	stream(d, cfg.WarmUp, 200, noise)
	require.True(t, d.Warm())
	assert.GreaterOrEqual(t, stream(d, cfg.WarmUp+200, 1, func(int) float64 { return 120 })[0], cfg.AlertLevel, "spike once warm")
}

func TestScoresStayInRangeOnHostileSeries(t *testing.T) {
	// Extreme magnitudes, constant stretches, sign flips and zeros: every score is a number in
	// [0, 1], and the detector keeps scoring afterwards.
	rng := rand.New(rand.NewPCG(6, 6))
	series := map[string]func(i int) float64{
		"huge":        func(i int) float64 { return 1e300 * (1 + 0.1*rng.NormFloat64()) },
		"tiny":        func(i int) float64 { return 1e-300 * float64(i%7) },
		"flat then":   func(i int) float64 { return float64(i / 500) },
		"sign flips":  func(i int) float64 { return math.Copysign(1e6, float64(i%3-1)) },
		"mostly zero": func(i int) float64 { return float64(int(rng.ExpFloat64()*3) / 4 * 1000) },
		"heavy tail":  func(i int) float64 { return 1 / (rng.Float64() + 1e-12) },
	}
	for name, f := range series {
		d := NewDetector(DefaultDetectorConfig())
		for i, s := range stream(d, 0, 3000, f) {
			require.False(t, math.IsNaN(s), "%s point %d", name, i)
			require.True(t, s >= 0 && s <= 1, "%s point %d: %v", name, i, s)
		}
		require.True(t, d.Warm(), name)
	}
}

// learnDailyCycle streams days of a 5-minute daily cycle of amplitude 10 round 50 with noise of
// 0.3 into a new detector, checks that the cycle raises no alert from the third day on, and
// returns the detector and the cycle (point i to value).
func learnDailyCycle(t *testing.T, seed uint64, points int) (*Detector, func(i int) float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	perDay := 288
	cycle := func(i int) float64 {
		return 50 + 10*math.Sin(2*math.Pi*float64(i%perDay)/float64(perDay)) + 0.3*rng.NormFloat64()
	}
	d := NewDetector(DefaultDetectorConfig())
	for i, s := range stream(d, 0, points, cycle)[3*perDay:] {
		require.Less(t, s, DefaultDetectorConfig().AlertLevel, "cycle point %d", 3*perDay+i)
	}
	return d, cycle
}

func TestSpikeOnTheDailyPeakIsAnAlert(t *testing.T) {
	// A spike of 3 on top of the peak leaves the range by little, and is 13 from the long-term
	// level where the cycle alone reaches 10 (no anomaly against the level, whose spread the
	// cycle inflates), but it is 10 spreads of the noise above what the daily profile expects.
	n := 6*288 + 288/4
	d, cycle := learnDailyCycle(t, 7, n)
	s := stream(d, n, 1, func(i int) float64 { return cycle(i) + 3 })
	assert.GreaterOrEqual(t, s[0], DefaultDetectorConfig().AlertLevel, "spike on the peak")
}

func TestLevelShiftUnderADailyCycleIsAnAlert(t *testing.T) {
	// A lasting shift of 3 stays inside the cycle's range and is small against the swings the
	// plain level makes every day, but it is 10 noise spreads once the daily profile is taken
	// out, so the deseasonalised level finds it.
	n := 6 * 288
	d, cycle := learnDailyCycle(t, 8, n)
	s := stream(d, n, 288/4, func(i int) float64 { return cycle(i) - 3 })
	best, at := maxScore(s)
	assert.GreaterOrEqual(t, best, DefaultDetectorConfig().AlertLevel, "shift under the cycle")
	assert.Less(t, at, 30, "detected within 30 points of the shift")
}

func TestWeekdayLikeASundayIsAnAlert(t *testing.T) {
	// Half-hourly demand with a weekday and a weekend pattern and 3% noise. After five weeks the
	// weekends are known, and a Wednesday with a Sunday's pattern (a holiday) is an alert, though
	// every value of it lies inside the range and each weekend's departure from the weekday pattern
	// is as large: only the weekly profile expects Wednesday to look like a weekday.
	rng := rand.New(rand.NewPCG(9, 9))
	demand := func(at time.Time, holiday bool) float64 {
		h := float64(at.Hour()) + float64(at.Minute())/60
		if wd := at.Weekday(); holiday || wd == time.Saturday || wd == time.Sunday {
			return 800 + 400*math.Sin(2*math.Pi*(h-14)/24) + 30*rng.NormFloat64()
		}
		return 1000 + 500*math.Sin(2*math.Pi*(h-11)/24) + 30*rng.NormFloat64()
	}
	cfg := DefaultDetectorConfig()
	d := NewDetector(cfg)
	t0 := time.Date(2015, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 30 * time.Minute) }
	perWeek := 7 * 48
	for i := range 5 * perWeek {
		s := d.UpdateAt(at(i), demand(at(i), false))
		if i >= 3*perWeek {
			require.Less(t, s, cfg.AlertLevel, "week %d, %s", i/perWeek, at(i).Format("Mon 15:04"))
		}
	}
	best := 0.0
	for i := 5*perWeek + 2*48; i < 5*perWeek+3*48; i++ { // the sixth Wednesday
		require.Equal(t, time.Wednesday, at(i).Weekday())
		best = max(best, d.UpdateAt(at(i), demand(at(i), true)))
	}
	assert.GreaterOrEqual(t, best, cfg.AlertLevel, "a Wednesday with a Sunday's pattern")
}

func TestShiftRecordsHoldOneToTwoWeeks(t *testing.T) {
	// Noise round 50 at 5 minutes with a 6-hour rise of 10 on day 3. A rise of 8 on day 5 stays
	// inside the range and under the week's shift record: no alert. The same rise of 8 on day
	// 19, two calendar weeks of the series later, is still inside the range, but the record of
	// the rise of 10 has expired: news again.
	rng := rand.New(rand.NewPCG(10, 10))
	rises := map[int]float64{3: 10, 5: 8, 19: 8} // day: size
	perDay := 288
	value := func(i int) float64 {
		if size, ok := rises[i/perDay]; ok && i%perDay < perDay/4 {
			return 50 + size + rng.NormFloat64()
		}
		return 50 + rng.NormFloat64()
	}
	cfg := DefaultDetectorConfig()
	d := NewDetector(cfg)
	s := stream(d, 0, 21*perDay, value)
	alertIn := func(day int) bool {
		best, _ := maxScore(s[day*perDay : day*perDay+perDay/4])
		return best >= cfg.AlertLevel
	}
	assert.True(t, alertIn(3), "the first rise")
	assert.False(t, alertIn(5), "a smaller rise in the same week")
	assert.True(t, alertIn(19), "the smaller rise two weeks later")
}

func TestShiftLikelihood(t *testing.T) {
	var g gauss
	assert.Zero(t, g.likelihood(10), "nothing known yet")
	rng := rand.New(rand.NewPCG(11, 11))
	for range 5000 {
		g.add(rng.NormFloat64())
	}
	assert.InDelta(t, 0, g.mean, 0.1)
	assert.InDelta(t, 1, g.vr, 0.1)
	// Its own distribution judges a value: the median is no news, 5 deviations is a tail of
	// 2.9e-7 (6.5 decades of likelihoodDecades), 40 is off the scale.
	assert.Less(t, g.likelihood(0), 0.02)
	assert.InDelta(t, -math.Log10(0.5*math.Erfc(5/math.Sqrt2))/likelihoodDecades, g.likelihood(5), 0.03)
	assert.Equal(t, 1.0, g.likelihood(40))
	assert.Less(t, g.likelihood(2), g.likelihood(3))
	// The distribution forgets: after a window and a half of values round 10, 10 is ordinary.
	for range likelihoodWindow * 3 / 2 {
		g.add(10 + rng.NormFloat64())
	}
	assert.Less(t, g.likelihood(10), 0.05)
}
