package healthscoreprocessor // import "github.com/vigil-collector/vigil/processor/healthscoreprocessor"

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/internal/validation"
)

// Config is the healthscore processor's configuration.
type Config struct {
	// Interval is how often components are scored and health.* metrics emitted.
	Interval time.Duration `mapstructure:"interval"`
	// Breaker names the breaker extension to feed (for example "breaker"); empty: no feeding.
	Breaker component.ID `mapstructure:"breaker"`
	// StatusExtension names the status extension each scoring pass is published to (for
	// example "status"); empty: none.
	StatusExtension component.ID `mapstructure:"status_extension"`

	// MaxComponents caps the components tracked; the least recently seen are evicted past it.
	MaxComponents int `mapstructure:"max_components"`
	// MaxEdges caps the caller → callee edges tracked; new edges past it are skipped (counted).
	MaxEdges int `mapstructure:"max_edges"`
	// MaxHosts caps the hosts whose utilisation is kept; the least recently seen are evicted.
	MaxHosts int `mapstructure:"max_hosts"`
	// MaxNameLength caps service, peer and host names, in bytes; longer names are skipped.
	MaxNameLength int `mapstructure:"max_name_length"`

	// StaleAfter: a signal without data for this long leaves the score; a component with no
	// fresh signal is reported unknown.
	StaleAfter time.Duration `mapstructure:"stale_after"`
	// ExpireAfter: a component, edge or host without data for this long is forgotten.
	ExpireAfter time.Duration `mapstructure:"expire_after"`

	Weights      WeightsConfig      `mapstructure:"weights"`
	Status       StatusConfig       `mapstructure:"status"`
	Errors       ErrorsConfig       `mapstructure:"errors"`
	Latency      LatencyConfig      `mapstructure:"latency"`
	Saturation   SaturationConfig   `mapstructure:"saturation"`
	Dependencies DependenciesConfig `mapstructure:"dependencies"`
	Events       EventsConfig       `mapstructure:"events"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// WeightsConfig are the signals' weights in the score; 0 leaves a signal out.
type WeightsConfig struct {
	Errors       float64 `mapstructure:"errors"`
	Latency      float64 `mapstructure:"latency"`
	Saturation   float64 `mapstructure:"saturation"`
	Probe        float64 `mapstructure:"probe"`
	Dependencies float64 `mapstructure:"dependencies"`
	Events       float64 `mapstructure:"events"`
}

// StatusConfig are the score cut-offs of the statuses: healthy from Healthy up, degraded from
// Degraded up, unhealthy below.
type StatusConfig struct {
	Healthy  float64 `mapstructure:"healthy"`
	Degraded float64 `mapstructure:"degraded"`
}

// ErrorsConfig shapes the errors signal.
type ErrorsConfig struct {
	// SLOTarget is the success ratio the error rate is measured against (0.999: 99.9%).
	SLOTarget float64 `mapstructure:"slo_target"`
	// PriorCalls smooths the error rate and the Apdex of small intervals: as if each interval
	// also held this many calls meeting the SLO.
	PriorCalls float64 `mapstructure:"prior_calls"`
}

// LatencyConfig shapes the latency signal (an Apdex).
type LatencyConfig struct {
	// Threshold is the Apdex threshold T of every component; 0 learns it per component.
	Threshold time.Duration `mapstructure:"threshold"`
	// Thresholds sets T per component (service name), over Threshold.
	Thresholds map[string]time.Duration `mapstructure:"thresholds"`
	// Quantile of the component's latency baseline is the learned T (0.95: its p95).
	Quantile float64 `mapstructure:"quantile"`
	// BaselineHalfLife is how fast the learned baseline forgets.
	BaselineHalfLife time.Duration `mapstructure:"baseline_half_life"`
	// BaselineMinCalls is how many latencies the baseline must hold before T is learned (until
	// then the latency signal is absent).
	BaselineMinCalls int `mapstructure:"baseline_min_calls"`
}

// SaturationConfig shapes the saturation signal.
type SaturationConfig struct {
	// Threshold is the utilisation from which the signal falls.
	Threshold float64 `mapstructure:"threshold"`
	// Floor is the signal at full utilisation.
	Floor float64 `mapstructure:"floor"`
}

// EventsConfig shapes the events signal: a service's ERROR and FATAL log records (severity
// number 17 and up, from the logs pipeline) against its own learned rate.
type EventsConfig struct {
	// MinRate is the least rate of such records per second a service is allowed, whatever it
	// learned (0.1: one every ten seconds).
	MinRate float64 `mapstructure:"min_rate"`
	// WarmUp is how much history the learned rate needs before a burst stops teaching it.
	WarmUp time.Duration `mapstructure:"warm_up"`
}

var _ confmap.Validator = (*EventsConfig)(nil)

// Validate checks the events settings; confmap prefixes the errors with "events".
func (c *EventsConfig) Validate() error {
	var errs []error
	if !finite(c.MinRate) || c.MinRate <= 0 {
		errs = append(errs, fmt.Errorf("min_rate: must be a number above 0, got %v", c.MinRate))
	}
	if c.WarmUp < 0 {
		errs = append(errs, fmt.Errorf("warm_up: must be >= 0, got %s", c.WarmUp))
	}
	return validation.Join(errs...)
}

// DependenciesConfig shapes the dependencies signal.
type DependenciesConfig struct {
	// Damping is how much of the callees' ill health passes to the caller's dependencies signal:
	// with 0.5, a callee at 0 taking every call lowers it to 0.5.
	Damping float64 `mapstructure:"damping"`
}

var _ confmap.Validator = (*Config)(nil)

// Bounds of the settings.
const (
	minInterval = 100 * time.Millisecond
	// maxInterval keeps one interval's calls to a component within the 32-bit counters (4.2e9
	// calls in 10 minutes is 7 million spans a second to one service).
	maxInterval   = 10 * time.Minute
	maxCap        = 10_000_000
	maxNameLength = 64 << 10
)

// Validate checks every setting; each error names its field.
func (c *Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if c.Interval < minInterval || c.Interval > maxInterval {
		add("interval", "must be between %s and %s, got %s", minInterval, maxInterval, c.Interval)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"max_components", c.MaxComponents}, {"max_edges", c.MaxEdges}, {"max_hosts", c.MaxHosts}} {
		if f.v < 1 || f.v > maxCap {
			add(f.name, "must be between 1 and %d, got %d", maxCap, f.v)
		}
	}
	if c.MaxNameLength < 1 || c.MaxNameLength > maxNameLength {
		add("max_name_length", "must be between 1 and %d, got %d", maxNameLength, c.MaxNameLength)
	}
	if c.StaleAfter < c.Interval {
		add("stale_after", "must be at least interval (%s), got %s", c.Interval, c.StaleAfter)
	}
	if c.ExpireAfter < c.StaleAfter {
		add("expire_after", "must be at least stale_after (%s), got %s", c.StaleAfter, c.ExpireAfter)
	}

	weights := []struct {
		name string
		v    float64
	}{
		{"weights.errors", c.Weights.Errors}, {"weights.latency", c.Weights.Latency},
		{"weights.saturation", c.Weights.Saturation}, {"weights.probe", c.Weights.Probe},
		{"weights.dependencies", c.Weights.Dependencies}, {"weights.events", c.Weights.Events},
	}
	var sum float64
	for _, w := range weights {
		if !finite(w.v) || w.v < 0 {
			add(w.name, "must be a number >= 0, got %v", w.v)
			continue
		}
		sum += w.v
	}
	if sum <= 0 {
		add("weights", "at least one weight must be above 0")
	}

	if !(c.Status.Degraded > 0 && c.Status.Degraded < 1) {
		add("status.degraded", "must be above 0 and below 1, got %v", c.Status.Degraded)
	}
	if !(c.Status.Healthy > c.Status.Degraded && c.Status.Healthy <= 1) {
		add("status.healthy", "must be above status.degraded (%v) and at most 1, got %v", c.Status.Degraded, c.Status.Healthy)
	}

	if !(c.Errors.SLOTarget > 0 && c.Errors.SLOTarget < 1) {
		add("errors.slo_target", "must be above 0 and below 1 (0.999 is 99.9%%), got %v", c.Errors.SLOTarget)
	}
	if !finite(c.Errors.PriorCalls) || c.Errors.PriorCalls < 0 {
		add("errors.prior_calls", "must be a number >= 0, got %v", c.Errors.PriorCalls)
	}

	if c.Latency.Threshold < 0 {
		add("latency.threshold", "must be >= 0 (0 learns it), got %s", c.Latency.Threshold)
	}
	names := make([]string, 0, len(c.Latency.Thresholds))
	for name := range c.Latency.Thresholds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !validName(name, c.MaxNameLength) {
			add("latency.thresholds", "%q is not a valid service name", name)
		}
		if d := c.Latency.Thresholds[name]; d <= 0 {
			add(fmt.Sprintf("latency.thresholds[%q]", name), "must be above 0, got %s", d)
		}
	}
	if !(c.Latency.Quantile > 0 && c.Latency.Quantile < 1) {
		add("latency.quantile", "must be above 0 and below 1, got %v", c.Latency.Quantile)
	}
	if c.Latency.BaselineHalfLife <= 0 {
		add("latency.baseline_half_life", "must be above 0, got %s", c.Latency.BaselineHalfLife)
	}
	if c.Latency.BaselineMinCalls < 1 {
		add("latency.baseline_min_calls", "must be at least 1, got %d", c.Latency.BaselineMinCalls)
	}

	if !(c.Saturation.Threshold >= 0 && c.Saturation.Threshold < 1) {
		add("saturation.threshold", "must be at least 0 and below 1, got %v", c.Saturation.Threshold)
	}
	if !(c.Saturation.Floor >= 0 && c.Saturation.Floor <= 1) {
		add("saturation.floor", "must be between 0 and 1, got %v", c.Saturation.Floor)
	}
	if !(c.Dependencies.Damping >= 0 && c.Dependencies.Damping <= 1) {
		add("dependencies.damping", "must be between 0 and 1, got %v", c.Dependencies.Damping)
	}
	return errors.Join(errs...)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func validName(name string, maxLen int) bool {
	if name == "" || len(name) > maxLen || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
