package forecast

import (
	"math"
	"time"
)

// DetectorConfig holds the parameters of the anomaly Detector. Rates are per point.
//
// Every feature the detector scores is scale-free (a ratio to the series' own spread, range or
// record), so one configuration serves every series. Four sensitivities set how far a feature
// must break its record to score 1-1/e; they are the values cross-validation over NAB's
// categories chooses (testbed/cmd/nabrun --cv). The rest are structural: the two averaging
// rates, Huber's clips, the daily profile's resolution and the share of the spread it must
// explain, the warm-up and the refractory period.
type DetectorConfig struct {
	// ShortRate and LongRate are the weights of the short- and long-term estimates: the short
	// level, the daily profile and the recent deviation from it (short, about 10 points); the
	// long level and the spread (long, about 250 points). The first 3/ShortRate points only
	// initialise the estimates.
	ShortRate, LongRate float64
	// ShortClip and LongClip bound each point's pull on the short and the long level (and the
	// spread), in units of the series' spread (Huber's bound), so one spike barely moves them
	// while a sustained shift moves them fully. The short level's bound is the wider, so it
	// follows a shift sooner.
	ShortClip, LongClip float64
	// BreachScale is the breach of the range seen so far, as a fraction of that range, that
	// scores 1-1/e.
	BreachScale float64
	// BreachDeviation is how many spreads from the expected value a value must be for its range
	// breach to count: a record that is still ordinary noise (a young or very calm series) is no
	// anomaly. The expected value is the daily profile's, with the spread around the profile,
	// while the series counts as daily-seasonal (SeasonStrength), else the long-term level's.
	BreachDeviation float64
	// ShiftScale is how far (as a ratio) a level shift must exceed the largest shift seen before
	// to score 1-1/e.
	ShiftScale float64
	// SeasonScale is how far (as a ratio) the recent deviation from the daily profile must exceed
	// the largest seen before to score 1-1/e.
	SeasonScale float64
	// SeasonSlots is the number of time-of-day slots of the daily profile (0 disables it).
	SeasonSlots int
	// SeasonStrength is the largest ratio of the spread around the daily profile to the spread
	// around the level for which the series counts as daily-seasonal: the profile is scored, and
	// range breaches are judged against the profile rather than the level.
	SeasonStrength float64
	// WarmUp is the number of points the detector learns from before it scores: until then
	// Warm is false and every score is 0. The daily-profile feature warms on its own: it needs
	// two days of history, whatever the sampling interval, and then WarmUp points of its own.
	WarmUp int
	// AlertLevel is the score at or above which a point is an alert: the shipped threshold.
	AlertLevel float64
	// Refractory is the number of points after an alert during which scores stay below AlertLevel.
	Refractory int
}

// DefaultDetectorConfig returns the one parameter set used for every series and every NAB file.
// The sensitivities are the ones leave-one-category-out cross-validation picks when it is given
// all four NAB categories of testbed/nab (make nab prints that choice).
func DefaultDetectorConfig() DetectorConfig {
	return DetectorConfig{
		ShortRate:       0.1,
		LongRate:        0.004,
		ShortClip:       4,
		LongClip:        3,
		BreachScale:     0.1,
		BreachDeviation: 8,
		ShiftScale:      0.4,
		SeasonScale:     1.5,
		SeasonSlots:     48,
		SeasonStrength:  0.6,
		WarmUp:          150,
		AlertLevel:      0.1,
		Refractory:      30,
	}
}

// maxSeasonSlots bounds SeasonSlots (the profile is a fixed array).
const maxSeasonSlots = 48

const secondsPerDay = 86400

// seasonSpreadRate is the weight of a point in the spread of the deviations from the daily
// profile (about 100 points: slower than the profile, faster than the level's spread).
const seasonSpreadRate = 0.01

// record scores a non-negative feature by how far it breaks the largest value seen so far, as a
// ratio: a scale-free, self-calibrating surprise (a series whose feature is often large needs a
// larger one to score). Records never fade: NAB's anomalies are the first of their kind, and a
// fading record made repeats of an old event score again (cross-validated, it scored lower).
type record struct{ max float64 }

func (r *record) score(f, scale float64, learnOnly bool) float64 {
	var out float64
	if !learnOnly && r.max > 0 && f > r.max {
		out = 1 - math.Exp(-(f/r.max-1)/scale)
	}
	if f > r.max {
		r.max = f
	}
	return out
}

// Detector scores each point of one series in [0, 1]: the largest of three self-calibrated
// surprises of different kinds, each "how far this breaks the series' own record":
//   - spike (range breach): the value leaves the range of every value seen so far, and lies at
//     least BreachDeviation spreads from what is expected (the daily profile for a daily-seasonal
//     series, else the long-term level);
//   - level shift: a robust short-term level departs from the long-term level, in units of the
//     series' spread, further than any departure seen before;
//   - daily pattern: for series with a daily cycle (the spread around its time-of-day profile is
//     under SeasonStrength of the spread around its level), the recent deviation from the
//     profile exceeds any seen before.
//
// A fourth kind, a rise of volatility (the short-term mean point-to-point change against the
// long-term one), was tried and left out: it found two more windows in sample but raised false
// positives enough to lower the cross-validated score.
//
// The score is 0 until the detector is warm (Warm). After an alert, scores are held below
// AlertLevel for Refractory points so one event raises one alert. A Detector is a fixed set of
// numbers (0.6 KiB), Update is O(1) without allocation, and it never looks ahead: it is
// told neither the series' minimum nor its maximum.
type Detector struct {
	cfg DetectorConfig

	n              int
	lo, hi         float64 // range seen so far
	short, long    float64 // robust levels
	spread         float64 // robust mean absolute deviation from the long level
	shift          record
	hold           int
	t0             int64 // unix seconds of the first point
	profile        [maxSeasonSlots]float64
	profileSeen    uint64 // bit i: slot i has a value
	seasonSpread   float64
	seasonSpreadOK bool
	seasonDev      float64
	seasonN        int // points the profile feature has been computed for
	season         record
}

// NewDetector returns a Detector with cfg.
func NewDetector(cfg DetectorConfig) *Detector {
	d := &Detector{}
	d.Init(cfg)
	return d
}

// Init resets d to an empty detector with cfg (for embedding without a pointer).
func (d *Detector) Init(cfg DetectorConfig) {
	cfg.SeasonSlots = min(max(cfg.SeasonSlots, 0), maxSeasonSlots)
	*d = Detector{cfg: cfg}
}

// Points returns the number of points the detector has learnt from.
func (d *Detector) Points() int { return d.n }

// Warm reports whether the detector has learnt from more than WarmUp points, so that its scores
// mean something. Until then every score is 0, which means "not known yet", not "normal".
func (d *Detector) Warm() bool { return d.n > d.cfg.WarmUp }

// seasonal updates the daily profile with x at t and returns the profile feature g (0 when the
// series is not daily-seasonal or the profile is not yet two days old); when the series counts
// as daily-seasonal, on is true and dev is x's deviation from the profile in units of the spread
// around it.
func (d *Detector) seasonal(t time.Time, x float64) (g, dev float64, on bool) {
	c := &d.cfg
	if c.SeasonSlots == 0 || t.IsZero() {
		return 0, 0, false
	}
	sec := t.Unix()
	slot := int(((sec%secondsPerDay)+secondsPerDay)%secondsPerDay) * c.SeasonSlots / secondsPerDay
	bit := uint64(1) << slot
	if d.profileSeen&bit == 0 {
		d.profile[slot], d.profileSeen = x, d.profileSeen|bit
		return 0, 0, false
	}
	e := x - d.profile[slot]
	d.profile[slot] += c.ShortRate * e
	if d.n == 0 || sec-d.t0 < 2*secondsPerDay {
		return 0, 0, false
	}
	if !d.seasonSpreadOK {
		d.seasonSpread, d.seasonSpreadOK = math.Abs(e), true
	}
	d.seasonSpread += seasonSpreadRate * (math.Abs(e) - d.seasonSpread)
	d.seasonDev += c.ShortRate * (e - d.seasonDev)
	if !(d.seasonSpread < c.SeasonStrength*d.spread) {
		return 0, 0, false
	}
	sc := d.seasonSpread + 1e-12 + 1e-9*math.Abs(x)
	return math.Abs(d.seasonDev) / sc, math.Abs(e) / sc, true
}

// Update feeds the next value (with no time: the daily profile is not used) and returns its
// anomaly score in [0, 1].
func (d *Detector) Update(x float64) float64 { return d.UpdateAt(time.Time{}, x) }

// UpdateAt feeds the value observed at t and returns its anomaly score in [0, 1]; 0 until the
// detector is warm. NaN and ±Inf are ignored and score 0.
func (d *Detector) UpdateAt(t time.Time, x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	c := &d.cfg
	g, dev, seasonalNow := d.seasonal(t, x)
	if d.n == 0 {
		d.n, d.lo, d.hi, d.short, d.long = 1, x, x, x, x
		if !t.IsZero() {
			d.t0 = t.Unix()
		}
		return 0
	}
	d.n++

	// Spike: range breach.
	var b float64
	switch r := d.hi - d.lo + 1e-9; {
	case x > d.hi:
		b, d.hi = (x-d.hi)/r, x
	case x < d.lo:
		b, d.lo = (d.lo-x)/r, x
	}
	breach := 0.0
	if b > 0 {
		breach = 1 - math.Exp(-b/c.BreachScale)
	}

	// Robust levels and spread.
	sc := d.spread + 1e-9*(math.Abs(d.long)+1e-9) + 1e-12
	if float64(d.n)*c.ShortRate < 3 {
		d.long += c.ShortRate * (x - d.long)
		d.short = d.long
		d.spread += c.ShortRate * (math.Abs(x-d.long) - d.spread)
		return 0
	}
	// A breach counts only when the value is far from what the series' best model expects: the
	// daily profile where the series is daily-seasonal, else the long-term level.
	if seasonalNow {
		if dev < c.BreachDeviation {
			breach = 0
		}
	} else if math.Abs(x-d.long) < c.BreachDeviation*sc {
		breach = 0
	}
	d.short += c.ShortRate * clip(x-d.short, c.ShortClip*sc)
	dl := x - d.long
	d.long += c.LongRate * clip(dl, c.LongClip*sc)
	d.spread += c.LongRate * (min(math.Abs(dl), c.LongClip*sc) - d.spread)

	learnOnly := d.n <= c.WarmUp
	shift := d.shift.score(math.Abs(d.short-d.long)/sc, c.ShiftScale, learnOnly)
	var season float64
	if g > 0 {
		// The profile feature starts on day three: its record learns for WarmUp points of its own.
		d.seasonN++
		season = d.season.score(g, c.SeasonScale, learnOnly || d.seasonN <= c.WarmUp)
	}
	if learnOnly {
		return 0
	}
	score := clamp01(max(breach, shift, season))
	if d.hold > 0 {
		d.hold--
		return min(score, c.AlertLevel*0.999)
	}
	if score >= c.AlertLevel && c.Refractory > 0 {
		d.hold = c.Refractory
	}
	return score
}

// clip limits v to [-c, c].
func clip(v, c float64) float64 { return max(-c, min(c, v)) }
