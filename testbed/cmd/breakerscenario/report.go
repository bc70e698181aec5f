package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// outcome is what one caller's records show for its phase.
type outcome struct {
	offered int
	// Trouble (outage or slowness): the first refusal after it started, and the failed calls
	// let through before it.
	opened       bool
	toOpen       time.Duration
	failedToOpen int
	// While open (from the first refusal to the recovery): calls let through of those offered.
	openOffered, openAllowed int
	// After the recovery: the first allowed call, the last refused one, how many were refused.
	recovered                 bool
	firstAllowed, lastRefused time.Duration
	refusedAfter              int
	// Before the trouble, or in the measured part of a noise phase: openings (an allowed call
	// followed by a refused one) and refused calls.
	quietOffered, quietRefused, quietOpens int
	// All of the trouble: calls offered and refused.
	troubleOffered, troubleRefused int
}

// vigilCounts counts Vigil's openings in [from, to) of the phase: on errors (error, timeout)
// and on slow calls, fleet-wide and in the caller's own view.
func vigilCounts(p *phase, opens []vigilOpen, from, to time.Duration) string {
	var fleetErr, fleetSlow, callerErr, callerSlow int
	for _, v := range opens {
		at := v.at.Sub(p.t0())
		if at < from || at >= to {
			continue
		}
		slow := v.class == "slow"
		switch {
		case v.caller && slow:
			callerSlow++
		case v.caller:
			callerErr++
		case slow:
			fleetSlow++
		default:
			fleetErr++
		}
	}
	return fmt.Sprintf("%d / %d | %d / %d", fleetErr, callerErr, fleetSlow, callerSlow)
}

func analyse(p *phase, recs []record) outcome {
	slices.SortFunc(recs, func(a, b record) int { return int(a.at - b.at) })
	var o outcome
	o.offered = len(recs)
	quietFrom, quietTo := p.measureFrom, p.changeAt
	if p.changeAt == 0 {
		quietTo = p.end()
	}
	// An opening is a refused call after at least a second without one (a half-open ramp's
	// refusals between its admissions are one opening).
	lastRefused := time.Duration(-time.Hour)
	for _, r := range recs {
		if r.at >= quietFrom && r.at < quietTo {
			o.quietOffered++
			if !r.allowed {
				o.quietRefused++
				if r.at-lastRefused >= time.Second {
					o.quietOpens++
				}
			}
		}
		if !r.allowed {
			lastRefused = r.at
		}
		if p.changeAt == 0 || r.at < p.changeAt {
			continue
		}
		inTrouble := p.recoverAt == 0 || r.at < p.recoverAt
		if inTrouble {
			o.troubleOffered++
			if !r.allowed {
				o.troubleRefused++
			}
		}
		switch {
		case inTrouble && !o.opened:
			if !r.allowed {
				o.opened, o.toOpen = true, r.at-p.changeAt
			} else if r.failed {
				o.failedToOpen++
			}
		case inTrouble:
			o.openOffered++
			if r.allowed {
				o.openAllowed++
			}
		default:
			if r.allowed && !o.recovered {
				o.recovered, o.firstAllowed = true, r.at-p.recoverAt
			}
			if !r.allowed {
				o.refusedAfter++
				o.lastRefused = r.at - p.recoverAt
			}
		}
	}
	return o
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

func pct(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(of))
}

// printTables writes one Markdown table per phase.
func printTables(w io.Writer, phases []*phase, callers []*caller) {
	for _, p := range phases {
		var rows []string
		for _, c := range callers {
			if c.phase != p {
				continue
			}
			c.mu.Lock()
			o := analyse(p, slices.Clone(c.records))
			vigil := "- | -"
			if c.tracing != nil {
				from, to := p.measureFrom, p.changeAt
				if p.changeAt == 0 {
					to = p.end()
				}
				vigil = vigilCounts(p, c.vigilOpens, from, to)
			}
			c.mu.Unlock()
			rows = append(rows, row(p, c, o, vigil))
		}
		fmt.Fprintf(w, "\n### %s\n\n%s\n", title(p), header(p))
		for _, r := range rows {
			fmt.Fprintln(w, r)
		}
	}
}

func title(p *phase) string {
	switch {
	case p.recoverAt > 0:
		return fmt.Sprintf("%s: %s healthy (1%% errors, 20 ms), %s of instant 503s, %s recovered",
			p.name, p.changeAt, p.recoverAt-p.changeAt, p.end()-p.recoverAt)
	case p.changeAt > 0:
		return fmt.Sprintf("%s: %s at 20 ms (1%% errors), then %s at 300 ms", p.name, p.changeAt, p.end()-p.changeAt)
	default:
		return fmt.Sprintf("%s: %s warm-up, then %s measured", p.name, p.measureFrom, p.end()-p.measureFrom)
	}
}

func header(p *phase) string {
	switch {
	case p.recoverAt > 0:
		return "| caller | rate/s | failed calls to open | s to open | let through while open | first call allowed after recovery | last refusal after recovery | calls refused after recovery | refusals before the outage | Vigil opens before, on errors: fleet / caller | on slow calls: fleet / caller |\n|---|---|---|---|---|---|---|---|---|---|---|"
	case p.changeAt > 0:
		return "| caller | rate/s | s to open on slow calls | refused while slow | refusals before | Vigil opens before, on errors: fleet / caller | on slow calls: fleet / caller |\n|---|---|---|---|---|---|---|"
	default:
		return "| caller | rate/s | refusals (openings seen by the caller) | calls refused | Vigil opens on errors: fleet / caller | on slow calls: fleet / caller |\n|---|---|---|---|---|---|"
	}
}

func row(p *phase, c *caller, o outcome, vigil string) string {
	name := strings.TrimSpace(c.kind)
	switch {
	case p.recoverAt > 0:
		open, first, last := "never", "-", "-"
		failed := fmt.Sprint(o.failedToOpen)
		if o.opened {
			open = secs(o.toOpen)
		}
		if o.recovered {
			first = "+" + secs(o.firstAllowed)
		}
		if o.refusedAfter > 0 {
			last = "+" + secs(o.lastRefused)
		} else if o.opened {
			last = "none"
		}
		return fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s | %d | %d | %s |", name, c.rate, failed, open,
			pct(o.openAllowed, o.openOffered), first, last, o.refusedAfter, o.quietOpens, vigil)
	case p.changeAt > 0:
		open := "never"
		if o.opened {
			open = secs(o.toOpen)
		}
		return fmt.Sprintf("| %s | %d | %s | %s | %d | %s |", name, c.rate, open, pct(o.troubleRefused, o.troubleOffered), o.quietOpens, vigil)
	default:
		return fmt.Sprintf("| %s | %d | %d | %s | %s |", name, c.rate, o.quietOpens, pct(o.quietRefused, o.quietOffered), vigil)
	}
}
