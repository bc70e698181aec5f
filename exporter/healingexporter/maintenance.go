package healingexporter

import (
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // maintenance windows name time zones; do not depend on the host's tz database
)

// window is a compiled weekly maintenance window.
type window struct {
	name     string
	loc      *time.Location
	days     map[time.Weekday]bool // empty: every day
	start    time.Duration         // from local midnight
	duration time.Duration
	rules    []string // empty: all rules
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// compileWindows compiles the maintenance windows.
func compileWindows(cfgs []MaintenanceConfig) ([]window, error) {
	var ws []window
	for _, c := range cfgs {
		w, err := newWindow(c)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}

func newWindow(c MaintenanceConfig) (window, error) {
	tz := c.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return window{}, err
	}
	start, err := parseClock(c.Start)
	if err != nil {
		return window{}, err
	}
	w := window{name: c.Name, loc: loc, days: map[time.Weekday]bool{}, start: start, duration: c.Duration, rules: c.Rules}
	for _, d := range c.Days {
		w.days[weekdays[strings.ToLower(d)]] = true
	}
	return w, nil
}

// active reports whether t falls in an occurrence of the window. An occurrence starts at the
// local wall-clock time on each listed day, so it follows daylight-saving changes.
func (w window) active(t time.Time) bool {
	local := t.In(w.loc)
	y, m, d := local.Date()
	// An occurrence lasts at most a week: look at the starts of the last eight days.
	for back := 0; back <= 7; back++ {
		day := time.Date(y, m, d-back, 0, 0, 0, 0, w.loc)
		if len(w.days) > 0 && !w.days[day.Weekday()] {
			continue
		}
		h, min := int(w.start/time.Hour), int(w.start%time.Hour/time.Minute)
		start := time.Date(day.Year(), day.Month(), day.Day(), h, min, 0, 0, w.loc)
		if !t.Before(start) && t.Before(start.Add(w.duration)) {
			return true
		}
	}
	return false
}

func (e *healingExporter) inMaintenance(rule string, t time.Time) (string, bool) {
	for _, w := range e.windows {
		if (len(w.rules) == 0 || slices.Contains(w.rules, rule)) && w.active(t) {
			return w.name, true
		}
	}
	return "", false
}
