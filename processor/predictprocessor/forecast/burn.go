package forecast

import (
	"fmt"
	"math"
	"time"
)

// BurnWindow is one alert of the multi-window, multi-burn-rate scheme: it fires when the error
// budget burns at Factor times the sustainable rate over both the Long and the Short window.
type BurnWindow struct {
	Long, Short time.Duration
	Factor      float64
}

// Name returns the window pair as "1h/5m".
func (w BurnWindow) Name() string { return shortDuration(w.Long) + "/" + shortDuration(w.Short) }

// DefaultBurnWindows are the Google SRE workbook's four alerts (for a 30-day objective).
var DefaultBurnWindows = []BurnWindow{
	{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4},
	{Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6},
	{Long: 24 * time.Hour, Short: 2 * time.Hour, Factor: 3},
	{Long: 72 * time.Hour, Short: 6 * time.Hour, Factor: 1},
}

// windowBuckets is the number of buckets a sliding window is cut into: its mean is exact up to
// how the oldest, partly covered bucket is shared out (assumed uniform).
const windowBuckets = 12

// slidingMean is the time-weighted mean of a series over the last width seconds, kept in
// windowBuckets+1 time buckets aligned to absolute time.
type slidingMean struct {
	width   float64 // window, seconds
	bucket  float64 // bucket width, seconds
	cur     int64   // index of the newest bucket
	started bool
	sum     [windowBuckets + 1]float64 // value × milliseconds
	weight  [windowBuckets + 1]uint32  // milliseconds of data: exact, and half a float64's size
}

func (s *slidingMean) slot(k int64) int {
	return int(((k % (windowBuckets + 1)) + windowBuckets + 1) % (windowBuckets + 1))
}

// add records value v holding for dt seconds up to t.
func (s *slidingMean) add(t, v, dt float64) {
	k := int64(math.Floor(t / s.bucket))
	switch {
	case !s.started:
		s.cur, s.started = k, true
	case k > s.cur+windowBuckets: // the whole window passed without data
		s.sum, s.weight = [windowBuckets + 1]float64{}, [windowBuckets + 1]uint32{}
		s.cur = k
	case k > s.cur:
		for c := s.cur + 1; c <= k; c++ {
			i := s.slot(c)
			s.sum[i], s.weight[i] = 0, 0
		}
		s.cur = k
	case k < s.cur-windowBuckets:
		return // older than the window
	}
	ms := math.Round(math.Min(dt, s.bucket) * 1e3)
	i := s.slot(k)
	s.sum[i] += v * ms
	s.weight[i] += uint32(ms)
}

// mean returns the mean over (t - width, t] and the seconds of data it rests on.
func (s *slidingMean) mean(t float64) (mean, covered float64) {
	start := t - s.width
	var sum, w float64
	for j := int64(0); j <= windowBuckets; j++ {
		k := s.cur - j
		lo := float64(k) * s.bucket
		hi := lo + s.bucket
		if hi <= start {
			break
		}
		f := 1.0
		if lo < start {
			f = (hi - start) / s.bucket
		}
		i := s.slot(k)
		sum += f * s.sum[i]
		w += f * float64(s.weight[i]) / 1e3
	}
	if w == 0 {
		return 0, 0
	}
	return sum / 1e3 / w, w
}

// Burn evaluates the multi-window, multi-burn-rate error-budget alerts on an error-ratio series
// (errors/requests, 0..1) against an objective such as 0.999. Each distinct window is a sliding
// time-weighted mean in 13 buckets; with the default windows a Burn is about 0.9 KiB and an
// Update is O(windows).
type Burn struct {
	budget  float64
	windows []BurnWindow
	means   []slidingMean
	long    []int // index into means of each window's long and short duration
	short   []int
	last    float64
	started bool
}

// NewBurn returns an evaluator for objective (in (0,1)) and windows.
func NewBurn(objective float64, windows []BurnWindow) (*Burn, error) {
	if !(objective > 0 && objective < 1) {
		return nil, fmt.Errorf("objective %v: want a value in (0,1)", objective)
	}
	b := &Burn{budget: 1 - objective, windows: windows}
	index := map[time.Duration]int{}
	get := func(d time.Duration) (int, error) {
		if d <= 0 {
			return 0, fmt.Errorf("window %v: want a positive duration", d)
		}
		if i, ok := index[d]; ok {
			return i, nil
		}
		index[d] = len(b.means)
		b.means = append(b.means, slidingMean{width: d.Seconds(), bucket: d.Seconds() / windowBuckets})
		return index[d], nil
	}
	for _, w := range windows {
		if !(w.Factor > 0) {
			return nil, fmt.Errorf("window %s: factor %v: want a positive number", w.Name(), w.Factor)
		}
		if w.Short > w.Long {
			return nil, fmt.Errorf("window %s: the short window must not be longer than the long one", w.Name())
		}
		l, err := get(w.Long)
		if err != nil {
			return nil, err
		}
		s, err := get(w.Short)
		if err != nil {
			return nil, err
		}
		b.long, b.short = append(b.long, l), append(b.short, s)
	}
	return b, nil
}

// Update records the error ratio observed at t (seconds, increasing); it holds since the
// previous point (the first point counts for dt seconds when dt > 0, else it only starts the clock).
func (b *Burn) Update(t, ratio, dt float64) {
	switch {
	case b.started && t <= b.last:
		return // out of order
	case b.started:
		dt = t - b.last
	case !(dt > 0):
		b.started, b.last = true, t // no interval known yet: the point only starts the clock
		return
	}
	b.started, b.last = true, t
	ratio = math.Max(ratio, 0)
	for i := range b.means {
		b.means[i].add(t, ratio, dt)
	}
}

// BurnState is the evaluation of one window pair.
type BurnState struct {
	Window    BurnWindow
	LongRate  float64 // burn rate over the long window (1 = exactly on budget)
	ShortRate float64 // burn rate over the short window
	Firing    bool    // both at or above the factor, with at least half the short window covered
}

// Level returns how close the pair is to firing: min(long, short)/factor (1 or more fires).
func (s BurnState) Level() float64 { return math.Min(s.LongRate, s.ShortRate) / s.Window.Factor }

// Evaluate returns every window pair's state at the latest point, appended to dst.
func (b *Burn) Evaluate(dst []BurnState) []BurnState {
	if !b.started {
		return dst
	}
	for i, w := range b.windows {
		lm, _ := b.means[b.long[i]].mean(b.last)
		sm, covered := b.means[b.short[i]].mean(b.last)
		st := BurnState{Window: w, LongRate: lm / b.budget, ShortRate: sm / b.budget}
		const tolerance = 1e-9 // a ratio exactly on the factor fires despite rounding
		st.Firing = covered >= w.Short.Seconds()/2 &&
			st.LongRate >= w.Factor*(1-tolerance) && st.ShortRate >= w.Factor*(1-tolerance)
		dst = append(dst, st)
	}
	return dst
}

// shortDuration formats d as Prometheus does: 5m, 1h, 3d, 1h30m.
func shortDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var out string
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for _, u := range units {
		if n := d / u.d; n > 0 {
			out += fmt.Sprintf("%d%s", n, u.name)
			d -= n * u.d
		}
	}
	if d > 0 {
		out += d.String()
	}
	return out
}
