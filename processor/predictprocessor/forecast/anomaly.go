package forecast

import (
	"math"
	"time"
)

// DetectorConfig holds the parameters of the anomaly Detector. Rates are per point.
//
// Every feature the detector scores is scale-free (a ratio to the series' own spread, range or
// record), so one configuration serves every series. Three sensitivities set how far a feature
// must break its record to score 1-1/e; they are the values cross-validation over NAB's
// categories chooses (testbed/cmd/nabrun --cv). The rest are structural: the two averaging
// rates, Huber's clips, the daily profile's resolution and the share of the spread a profile
// must explain, the warm-up and the refractory period. Two more are fixed in the code, as the
// calendar's: the weekly profile's slots (two hours) and the shift records' epoch (a week).
type DetectorConfig struct {
	// ShortRate and LongRate are the weights of the short- and long-term estimates: the short
	// levels and each daily- and weekly-profile slot after its first visit (short, about 10
	// points or visits); the long levels and the spreads (long, about 250 points). The first
	// 3/ShortRate points only initialise the estimates.
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
	// anomaly. The expected value is the best view's: its level plus its profiles (daily, and
	// weekly where that explains more), with the spread around it, while the series counts as
	// seasonal (SeasonStrength), else the plain long-term level.
	BreachDeviation float64
	// ShiftScale is how far (as a ratio) a level shift must exceed the largest shift of this
	// week and the last for its record part to score 1-1/e; the shift scores the geometric mean
	// of that and its likelihood under its own recent distribution.
	ShiftScale float64
	// SeasonSlots is the number of time-of-day slots of the daily profile (0 disables it).
	SeasonSlots int
	// SeasonStrength is the largest ratio of the spread around the deseasonalised level to the
	// spread around the plain level for which the series counts as daily-seasonal (the shift of
	// the deseasonalised level is scored too, and range breaches are judged against level plus
	// profile rather than the level); the weekly view is used in the same way where its spread
	// is under SeasonStrength of the daily view's.
	SeasonStrength float64
	// WarmUp is the number of points the detector learns from before it scores: until then
	// Warm is false and every score is 0. The daily and weekly views warm on their own: they are
	// scored from the third and the tenth day of history, whatever the sampling interval, after
	// WarmUp points of their own that only learn their records.
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
		ShiftScale:      0.8,
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

// record scores a non-negative feature by how far it breaks the largest value of its epoch and
// the one before (the detector rolls the shift records every week), as a ratio: a scale-free,
// self-calibrating surprise (a series whose feature is often large needs a larger one to score).
// A record that never fades is deaf to the second burst or failure of a month; one that fades
// within days makes repeats of the same event score again.
type record struct{ max, prev float64 }

// roll starts a new week: from then on the record is the larger of this week's and last week's.
func (r *record) roll() { r.prev, r.max = r.max, 0 }

func (r *record) score(f, scale float64, learnOnly bool) float64 {
	var out float64
	if m := max(r.max, r.prev); !learnOnly && m > 0 && f > m {
		out = 1 - math.Exp(-(f/m-1)/scale)
	}
	r.max = max(r.max, f)
	return out
}

// level is a robust level tracker of one view of the series (the values as they are, or with the
// daily or the daily and weekly profiles taken out): a short- and a long-term level, the spread
// around the long one, and the record of the level shift (the short level's departure from the
// long, in spreads).
type level struct {
	n           int
	short, long float64
	spread      float64
	floor       float64 // least spread (the resolution of what the view is computed from)
	fresh, k    int     // restartSpread: points left of the plain mean, and points in it
	shift       record
	shiftDist   gauss // the recent distribution of the shift, for its likelihood
}

// restartSpread makes the spread a plain running mean of the next n absolute deviations, before
// the clipped average takes over again. A view that starts late (the profiles' views start on
// the third and the tenth day) has a spread learnt from the profile's first, exact visits, near
// 0; the clipped average can only double it every 1/(2*LongRate) points, so without a restart
// the first real deviations score as huge shifts and set records that nothing later can break.
func (l *level) restartSpread(n int) { l.fresh, l.k = n, 0 }

// span is the range of the values seen so far.
type span struct {
	lo, hi float64
	seen   bool
}

// breach returns how far x leaves the range of the values seen so far, as a fraction of that
// range (0 inside it), and widens the range.
func (s *span) breach(x float64) (b float64) {
	if !s.seen {
		s.lo, s.hi, s.seen = x, x, true
		return 0
	}
	switch w := s.hi - s.lo + 1e-9; {
	case x > s.hi:
		b, s.hi = (x-s.hi)/w, x
	case x < s.lo:
		b, s.lo = (s.lo-x)/w, x
	}
	return b
}

// scale is the spread used as a unit, kept above 0 (and above rounding at the level's magnitude).
func (l *level) scale() float64 {
	return max(l.floor, l.spread+1e-9*(math.Abs(l.long)+1e-9)+1e-12)
}

// phase is what a view's shift record does with a point: nothing (the view is not on yet: its
// model is still immature, and a record learnt from it would be inflated for good), learn, or
// score.
type phase uint8

const (
	phaseOff phase = iota
	phaseLearn
	phaseScore
)

// update feeds y and returns the level-shift score (0 while initialising or unless ph is
// phaseScore) and whether the level has initialised (its first 3/ShortRate points only start the
// estimates).
func (l *level) update(y float64, c *DetectorConfig, ph phase) (float64, bool) {
	l.n++
	if l.n == 1 {
		l.short, l.long = y, y
		return 0, false
	}
	if float64(l.n)*c.ShortRate < 3 {
		l.long += c.ShortRate * (y - l.long)
		l.short = l.long
		l.spread += c.ShortRate * (math.Abs(y-l.long) - l.spread)
		return 0, false
	}
	sc := l.scale()
	l.short += c.ShortRate * clip(y-l.short, c.ShortClip*sc)
	dl := y - l.long
	l.long += c.LongRate * clip(dl, c.LongClip*sc)
	if l.fresh > 0 {
		l.fresh--
		l.k++
		l.spread += (math.Abs(dl) - l.spread) / float64(l.k)
	} else {
		l.spread += c.LongRate * (min(math.Abs(dl), c.LongClip*sc) - l.spread)
	}
	if ph == phaseOff {
		return 0, true
	}
	// The shift scores the geometric mean of its record ratio and its likelihood: it must break
	// this week's and last week's record and be improbable under its own recent distribution.
	f, learnOnly := math.Abs(l.short-l.long)/sc, ph == phaseLearn
	rec := l.shift.score(f, c.ShiftScale, learnOnly)
	var like float64
	if rec > 0 {
		like = l.shiftDist.likelihood(f)
	}
	l.shiftDist.add(f)
	return math.Sqrt(rec * like), true
}

// gauss is the running mean and variance of a feature over its last likelihoodWindow values
// (an exponential window; a plain mean until it has that many), from which likelihood judges a
// new value as HTM's anomaly likelihood does.
type gauss struct {
	n        int
	mean, vr float64
}

// likelihoodWindow is the memory of a feature's distribution: HTM's historic window (8640
// points, a month of 5-minute data).
const likelihoodWindow = 8640

// likelihoodDecades is how many decades of tail probability score 1: a feature whose upper tail
// probability under its recent Gaussian is q scores -log10(q)/likelihoodDecades. It was chosen
// by leave-one-category-out cross-validation among 12.5, 25 and 50 (every fold chose 25).
const likelihoodDecades = 25

func (g *gauss) add(f float64) {
	g.n++
	r := max(1.0/likelihoodWindow, 1/float64(g.n))
	d := f - g.mean
	g.mean += r * d
	g.vr += r * (d*d*(1-r) - g.vr)
}

// likelihood returns how improbable f is under a Gaussian of the recent values, in [0, 1]:
// -log10 of its upper tail probability over likelihoodDecades (HTM's log-likelihood, over 25
// decades rather than 10); 0 before two values are known.
func (g *gauss) likelihood(f float64) float64 {
	if g.n < 2 || g.vr <= 0 {
		return 0
	}
	q := 0.5 * math.Erfc((f-g.mean)/math.Sqrt(2*g.vr))
	if q <= 0 {
		return 1
	}
	return min(1, -math.Log10(q)/likelihoodDecades)
}

// Detector scores each point of one series in [0, 1]: the largest of two self-calibrated
// surprises of different kinds, each "how far this breaks the series' own record":
//   - spike (range breach): the value leaves the range of every value seen so far, and lies at
//     least BreachDeviation spreads from what is expected;
//   - level shift: a robust short-term level departs from the long-term level, in units of the
//     spread, further than the largest departure of this week and the last.
//
// Both are judged on the series' best view of itself. The detector decomposes the series as a
// level plus a daily and a weekly profile (additive, as double-seasonal Holt-Winters does), with
// a level tracker per view: the values as they are (plain), less the 48-slot time-of-day profile
// (daily), and less that and an 84-slot two-hours-of-the-week profile (weekly). Each profile
// learns its offsets from its own view's level. Where a view's profile explains the series (the
// spread around its level is under SeasonStrength of the previous view's), that view is the
// best one: a spike is judged against its level plus profiles, and a shift counts on it and
// every view before it. The daily view is scored from the third day on, the weekly from the
// tenth, each after WarmUp points of its own; a missing daily peak is a shift of the daily view,
// a weekday that looks like a Sunday one of the weekly view.
//
// A level shift that breaks its record is weighed by how improbable it is under its own recent
// distribution (HTM's anomaly likelihood): the geometric mean of the record score and the
// likelihood, so a record broken by a departure that is ordinary for this series scores little.
//
// Three more kinds were tried and left out (see the processor README): a rise of volatility
// (point-to-point, or the short mean absolute deviation) and a rate of change, each with and
// without the likelihood; each lowered the cross-validated score.
//
// The score is 0 until the detector is warm (Warm). After an alert, scores are held below
// AlertLevel for Refractory points so one event raises one alert. A Detector is a fixed set of
// numbers (about 1.2 KiB), Update is O(1) without allocation, and it never looks ahead: it is
// told neither the series' minimum nor its maximum.
type Detector struct {
	cfg DetectorConfig

	n           int
	rng         span
	plain, des  level // the values as they are, and with the daily profile taken out
	hold        int
	t0          int64 // unix seconds of the first point
	week0       int64 // weeks since t0 at the latest point (the records' epoch)
	profile     [maxSeasonSlots]float64
	profileSeen uint64 // bit i: slot i has a value
	desN        int    // points the deseasonalised view has been scored on (learning its record)
	wk          level  // the values less the daily and the weekly profile
	wkN         int    // points the weekly view has been scored on
	week        [weekSlots]float32
	weekSeen    [(weekSlots + 63) / 64]uint64 // bit i: slot i of the week has been learnt
}

const (
	weekSlots      = 7 * 12 // two hours each
	secondsPerWeek = 7 * secondsPerDay
)

// weekLearn and weekOn are when the weekly profile starts learning (with the daily view, on the
// third day) and when its view comes on (once every slot of the week has been learnt): its record
// then learns for WarmUp points before it is scored.
const (
	weekLearn = 2 * secondsPerDay
	weekOn    = weekLearn + secondsPerWeek
)

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

// slot returns the time-of-day slot of t, or -1 when the profile is off or t is zero.
func (d *Detector) slot(t time.Time) int {
	if d.cfg.SeasonSlots == 0 || t.IsZero() {
		return -1
	}
	sec := t.Unix()
	return int(((sec%secondsPerDay)+secondsPerDay)%secondsPerDay) * d.cfg.SeasonSlots / secondsPerDay
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
	sec, zero := t.Unix(), t.IsZero()
	age := d.advance(sec, zero)
	d.rollWeek(age, zero)
	slot := d.slot(t)
	p := d.learnDaily(slot, x)
	// The deseasonalised view is scored from the third day on, after WarmUp points of its own
	// that only learn its record.
	desOn := d.switchOn(&d.des, &d.desN, slot >= 0 && age >= 2*secondsPerDay)
	var w float64
	if slot >= 0 {
		w = d.learnWeekly(weekSlot(sec), age, x, p)
	}
	wkOn := d.switchOn(&d.wk, &d.wkN, slot >= 0 && age >= weekOn)
	learnOnly := d.n <= d.cfg.WarmUp
	b := d.rng.breach(x)
	var v views
	if !d.updateViews(&v, x, p, w, desOn, wkOn, learnOnly) || learnOnly {
		return 0
	}
	// A breach counts only when the value is far from what the series' best view expects.
	best, breach := d.cfg.best(&v), 0.0
	if b > 0 && best.far(x, d.cfg.BreachDeviation) {
		breach = 1 - math.Exp(-b/d.cfg.BreachScale)
	}
	return d.refract(clamp01(max(breach, best.shift)))
}

// advance counts a point observed at sec (unix seconds; zero: no time) and returns its age
// (seconds since the first point).
func (d *Detector) advance(sec int64, zero bool) int64 {
	if d.n == 0 && !zero {
		d.t0 = sec
	}
	d.n++
	return sec - d.t0
}

// rollWeek starts a new epoch of the shift records when a point of age (seconds since the first
// point; zero: no time) is in a later week. A level-shift record holds for one to two weeks: a
// shift as large as one a month ago is news again (tweet bursts, machine failures and holidays
// recur), while the weekly rhythm itself is always within the record's memory.
func (d *Detector) rollWeek(age int64, zero bool) {
	if week := age / secondsPerWeek; !zero && week > d.week0 {
		d.week0 = week
		d.plain.shift.roll()
		d.des.shift.roll()
		d.wk.shift.roll()
	}
}

// learnDaily learns x into the daily profile's slot (its offset from the deseasonalised level)
// and returns the slot's offset as it was before x: 0 when slot is -1 (no profile).
func (d *Detector) learnDaily(slot int, x float64) float64 {
	if slot < 0 {
		return 0
	}
	bit := uint64(1) << slot
	if d.profileSeen&bit == 0 {
		d.profile[slot], d.profileSeen = x-d.des.long, d.profileSeen|bit
		if d.des.n == 0 {
			d.profile[slot] = 0
		}
	}
	p := d.profile[slot]
	d.profile[slot] += d.cfg.ShortRate * (x - d.des.long - p)
	return p
}

// weekSlot returns the two hours of the week of sec (unix seconds).
func weekSlot(sec int64) int {
	return int((sec%secondsPerWeek+secondsPerWeek)%secondsPerWeek) / (secondsPerWeek / weekSlots)
}

// learnWeekly returns the weekly profile's offset in slot ws as it was before x, and from the third day
// (age) learns x into it: each two hours of the week's offset from the level plus the daily
// profile p (a slot's first visit sets it, later ones move it at ShortRate), so that a weekday
// that behaves like a Sunday stands out once Sundays are known.
func (d *Detector) learnWeekly(ws int, age int64, x, p float64) float64 {
	w := float64(d.week[ws])
	if age >= weekLearn {
		rate, word, bit := d.cfg.ShortRate, ws/64, uint64(1)<<(ws%64)
		if d.weekSeen[word]&bit == 0 {
			rate, d.weekSeen[word] = 1, d.weekSeen[word]|bit
		}
		d.week[ws] = float32(w + rate*(x-p-d.wk.long-w))
	}
	return w
}

// switchOn counts a point of view l while on, restarting l's spread on the first (n counts the
// points the view has been on for), and returns on.
func (d *Detector) switchOn(l *level, n *int, on bool) bool {
	if on {
		*n++
		if *n == 1 {
			l.restartSpread(d.cfg.WarmUp)
		}
	}
	return on
}

// view is what one view makes of a point: its level-shift score, whether it is warm (scored
// after its own WarmUp points), and the value it expected with its spread, both as they were
// before the point.
type view struct {
	shift, exp, sc float64
	warm           bool
}

// views is what the plain, the daily and the weekly view make of a point.
type views struct{ plain, des, wk view }

// updateViews feeds x to the plain, the daily (less the daily profile p) and the weekly view
// (less p and the weekly profile w), sets v from them, and reports whether the plain level has
// initialised.
func (d *Detector) updateViews(v *views, x, p, w float64, desOn, wkOn, learnOnly bool) (ok bool) {
	c, plain, des, wk := &d.cfg, &v.plain, &v.des, &v.wk
	*plain = view{exp: d.plain.long, sc: d.plain.scale(), warm: true}
	*des = view{exp: d.des.long + p, sc: d.des.scale(), warm: desOn && d.desN > c.WarmUp}
	plain.shift, ok = d.plain.update(x, c, phaseOf(true, !learnOnly))
	// The daily view's record learns from the first point (learning it only once the view is
	// on is the cleaner rule, but it scored lower: see the README); the weekly view's learns
	// only once its view is on, since a weekly profile that has not seen a week yet would set
	// records nothing later breaks.
	des.shift, _ = d.des.update(x-p, c, phaseOf(true, des.warm && !learnOnly))
	// The weekly profile is stored in float32: its rounding is the weekly view's resolution.
	d.wk.floor = 1e-6 * (math.Abs(d.wk.long) + math.Abs(w))
	*wk = view{exp: d.wk.long + p + w, sc: d.wk.scale(), warm: wkOn && d.wkN > c.WarmUp}
	wk.shift, _ = d.wk.update(x-p-w, c, phaseOf(wkOn, wk.warm && !learnOnly))
	return ok
}

// best returns the series' best view: the plain one, or the daily one while the series counts
// as seasonal, or the weekly one where the weekly profile also explains the deseasonalised
// series. Its shift is the largest of its own and those of the views before it.
func (c *DetectorConfig) best(v *views) view {
	plain, des, wk := v.plain, v.des, v.wk
	if seasonal := des.warm && des.sc < c.SeasonStrength*plain.sc; !seasonal {
		return plain
	}
	des.shift = max(plain.shift, des.shift)
	if wk.warm && wk.sc < c.SeasonStrength*des.sc {
		wk.shift = max(des.shift, wk.shift)
		return wk
	}
	return des
}

// far reports whether x is at least dev spreads from what v expects.
func (v *view) far(x, dev float64) bool { return math.Abs(x-v.exp) >= dev*v.sc }

// refract holds score below AlertLevel for Refractory points after an alert.
func (d *Detector) refract(score float64) float64 {
	c := &d.cfg
	if d.hold > 0 {
		d.hold--
		return min(score, c.AlertLevel*0.999)
	}
	if score >= c.AlertLevel && c.Refractory > 0 {
		d.hold = c.Refractory
	}
	return score
}

// phaseOf returns the phase of a view that is on (or not) and warm (or not).
func phaseOf(on, warm bool) phase {
	switch {
	case !on:
		return phaseOff
	case !warm:
		return phaseLearn
	}
	return phaseScore
}

// clip limits v to [-c, c].
func clip(v, c float64) float64 { return max(-c, min(c, v)) }
