package hub

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/vigil-collector/vigil/extension/statusextension/statusfeed"
)

// The status document is the one hot read of the API: after every scoring pass each component's
// JSON is built again. These appenders write it without reflection (a few hundred nanoseconds a
// component instead of several microseconds with encoding/json); encode_test.go checks that
// they produce what encoding/json would for the same values, hostile names included.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json escapes it: quotes,
// backslashes and control characters, <, > and & (so the document is safe inside HTML), U+2028
// and U+2029, and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendFloat appends v as encoding/json does (shortest representation; exponent only for very
// small or large magnitudes). Values here are finite: scores and ratios are clamped, rates and
// latencies validated.
func appendFloat(b []byte, v float64) []byte {
	abs := v
	if abs < 0 {
		abs = -abs
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendKey(b []byte, key string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendObject opens an object with "key":"value" for each key and value in kv (pairs, in
// order); the caller appends the other fields and the closing brace.
func appendObject(b []byte, kv ...string) []byte {
	b = append(b, '{')
	for i := 0; i+1 < len(kv); i += 2 {
		b = appendString(appendKey(b, kv[i], i == 0), kv[i+1])
	}
	return b
}

func appendOptFloat(b []byte, v *float64) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	return appendFloat(b, *v)
}

// appendComponent appends c's document, the fields of componentJSON (encode_test.go) in order.
// The caller holds a lock.
func (h *Hub) appendComponent(b []byte, c *component) []byte {
	b = appendObject(b, "name", c.name, "status", c.status)
	b = appendKey(b, "score", false)
	b = appendOptFloat(b, floatPtr(c.score))
	if h.critical[c.name] {
		b = appendKey(b, "critical", false)
		b = append(b, "true"...)
	}
	b = appendSignals(appendKey(b, "signals", false), c.signals)
	b = appendBreaker(appendKey(b, "breaker", false), c.breaker)
	b = appendPredictions(appendKey(b, "predictions", false), c.predictions)
	b = appendKey(b, "incident", false)
	if c.incident != nil && !c.incident.evicted {
		b = appendString(b, c.incident.id)
	} else {
		b = append(b, "null"...)
	}
	b = appendKey(b, "active_incidents", false)
	b = append(b, '[')
	for i := range c.healing {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendHealing(b, &c.healing[i])
	}
	b = append(b, ']')
	b = appendKey(b, "dependencies", false)
	b = h.appendEdges(b, c.calls, true)
	b = appendKey(b, "dependents", false)
	b = h.appendEdges(b, c.calledBy, false)
	if len(c.rootCause) > 0 {
		b = appendStringArray(appendKey(b, "root_cause", false), c.rootCause)
	}
	b = appendKey(b, "updated_at", false)
	if c.seenAt.IsZero() {
		return append(b, "null}"...)
	}
	return append(appendTime(b, c.seenAt.UTC()), '}')
}

// appendSignals appends the signals (sorted by name) as a JSON object, as encoding/json writes a
// map with sorted keys.
func appendSignals(b []byte, signals []statusfeed.Signal) []byte {
	b = append(b, '{')
	for i, s := range signals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s.Name)
		b = append(b, ':')
		b = appendFloat(b, s.Value)
	}
	return append(b, '}')
}

// appendBreaker appends the breaker view, or null when the component has none.
func appendBreaker(b []byte, br *breakerView) []byte {
	if br == nil {
		return append(b, "null"...)
	}
	b = appendObject(b, "state", br.State, "mode", br.Mode, "reason", br.Reason)
	b = appendKey(b, "since", false)
	return append(appendTime(b, br.Since), '}')
}

// appendPredictions appends the predictions as a JSON array; the optional fields are left out
// when unset, as omitempty does.
func appendPredictions(b []byte, predictions []predictionView) []byte {
	b = append(b, '[')
	for i := range predictions {
		p := &predictions[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(append(b, '{'), "source", true)
		b = appendString(b, p.Source)
		if p.TimeToThreshold != nil {
			b = appendKey(b, "time_to_threshold_seconds", false)
			b = appendFloat(b, *p.TimeToThreshold)
		}
		if p.Threshold != nil {
			b = appendKey(b, "threshold", false)
			b = appendFloat(b, *p.Threshold)
		}
		b = appendKey(b, "risk", false)
		b = appendFloat(b, p.Risk)
		b = appendKey(b, "anomaly_score", false)
		b = appendFloat(b, p.Anomaly)
		b = appendKey(b, "at", false)
		b = append(appendTime(b, p.At), '}')
	}
	return append(b, ']')
}

// appendStringArray appends ss as a JSON array of strings.
func appendStringArray(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

func appendHealing(b []byte, h *healingView) []byte {
	b = appendObject(b, "incident", h.Incident, "rule", h.Rule, "decision", h.Decision)
	for _, f := range [...]struct{ k, v string }{{"reason", h.Reason}, {"action", h.Action}, {"outcome", h.Outcome}} {
		if f.v != "" {
			b = appendKey(b, f.k, false)
			b = appendString(b, f.v)
		}
	}
	if h.DryRun {
		b = appendKey(b, "dry_run", false)
		b = append(b, "true"...)
	}
	b = appendKey(b, "since", false)
	b = appendTime(b, h.Since)
	b = appendKey(b, "at", false)
	b = appendTime(b, h.At)
	return append(b, '}')
}

func (h *Hub) appendEdges(b []byte, idx []int32, callees bool) []byte {
	b = append(b, '[')
	for i, x := range idx {
		if i == maxEdgesInView {
			break
		}
		if i > 0 {
			b = append(b, ',')
		}
		e := &h.edges[x]
		other := e.Caller
		if callees {
			other = e.Callee
		}
		b = appendKey(append(b, '{'), "service", true)
		b = appendString(b, other)
		b = appendKey(b, "calls_per_second", false)
		b = appendFloat(b, e.CallsPerSecond)
		b = appendKey(b, "error_ratio", false)
		b = appendFloat(b, e.ErrorRatio)
		b = appendKey(b, "latency_p95_seconds", false)
		b = appendFloat(b, e.LatencyP95.Seconds())
		b = append(b, '}')
	}
	return append(b, ']')
}
