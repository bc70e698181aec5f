package harness

import (
	"strconv"
	"strings"
)

// FindSample returns the values of every sample of metric in a Prometheus text exposition whose
// labels include all of want.
func FindSample(exposition, metric string, want map[string]string) []float64 {
	var out []float64
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		labels := ""
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // a longer metric name with this prefix
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 || !hasLabels(labels, want) {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		out = append(out, v)
	}
	return out
}

// hasLabels reports whether a label list (name="value",...) includes every pair of want. Values
// are compared in their escaped form, which is the same for the plain values tests use.
func hasLabels(labels string, want map[string]string) bool {
	for k, v := range want {
		if !strings.Contains(","+labels+",", ","+k+`="`+v+`",`) {
			return false
		}
	}
	return true
}
