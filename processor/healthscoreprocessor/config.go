package healthscoreprocessor // import "github.com/vigil-collector/vigil/processor/healthscoreprocessor"

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/internal/registry"
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

	// Metrics selects the metrics emitted (metrics_config.go): per-service series beyond
	// health.score and breaker.state are opt-in.
	Metrics MetricsConfig `mapstructure:"metrics"`

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

// DependenciesConfig shapes the dependencies signal.
type DependenciesConfig struct {
	// Damping is how much of the callees' ill health passes to the caller's dependencies signal:
	// with 0.5, a callee at 0 taking every call lowers it to 0.5.
	Damping float64 `mapstructure:"damping"`
}

var (
	_ confmap.Validator = (*Config)(nil)
	_ confmap.Validator = (*WeightsConfig)(nil)
	_ confmap.Validator = (*StatusConfig)(nil)
	_ confmap.Validator = (*ErrorsConfig)(nil)
	_ confmap.Validator = (*LatencyConfig)(nil)
	_ confmap.Validator = (*SaturationConfig)(nil)
	_ confmap.Validator = (*DependenciesConfig)(nil)
	_ confmap.Validator = (*EventsConfig)(nil)
)

// Bounds of the settings.
const (
	minInterval = 100 * time.Millisecond
	// maxInterval keeps one interval's calls to a component within the 32-bit counters (4.2e9
	// calls in 10 minutes is 7 million spans a second to one service).
	maxInterval   = 10 * time.Minute
	maxCap        = 10_000_000
	maxNameLength = 64 << 10
)

// Validate checks the top-level settings and those that depend on each other; the nested
// sections validate themselves.
func (c *Config) Validate() error {
	var errs validation.List
	if c.Interval < minInterval || c.Interval > maxInterval {
		errs.Add("interval", "must be between %s and %s, got %s", minInterval, maxInterval, c.Interval)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"max_components", c.MaxComponents}, {"max_edges", c.MaxEdges}, {"max_hosts", c.MaxHosts}} {
		if f.v < 1 || f.v > maxCap {
			errs.Add(f.name, "must be between 1 and %d, got %d", maxCap, f.v)
		}
	}
	if c.MaxNameLength < 1 || c.MaxNameLength > maxNameLength {
		errs.Add("max_name_length", "must be between 1 and %d, got %d", maxNameLength, c.MaxNameLength)
	}
	if c.StaleAfter < c.Interval {
		errs.Add("stale_after", "must be at least interval (%s), got %s", c.Interval, c.StaleAfter)
	}
	if c.ExpireAfter < c.StaleAfter {
		errs.Add("expire_after", "must be at least stale_after (%s), got %s", c.StaleAfter, c.ExpireAfter)
	}
	// The service names of latency.thresholds obey max_name_length.
	names := make([]string, 0, len(c.Latency.Thresholds))
	for name := range c.Latency.Thresholds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if registry.CheckName(name, c.MaxNameLength) != registry.NameOK {
			errs.Add("latency: thresholds", "%q is not a valid service name", name)
		}
	}
	return errs.Err()
}

// Validate checks the weights: each a number >= 0, at least one above 0.
func (w *WeightsConfig) Validate() error {
	var errs validation.List
	var sum float64
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"errors", w.Errors}, {"latency", w.Latency}, {"saturation", w.Saturation},
		{"probe", w.Probe}, {"dependencies", w.Dependencies}, {"events", w.Events},
	} {
		if !finite(f.v) || f.v < 0 {
			errs.Add(f.name, "must be a number >= 0, got %v", f.v)
			continue
		}
		sum += f.v
	}
	if sum <= 0 {
		errs = append(errs, errors.New("at least one weight must be above 0"))
	}
	return errs.Err()
}

// Validate checks the cut-offs: 0 < degraded < healthy <= 1.
func (s *StatusConfig) Validate() error {
	var errs validation.List
	if !(s.Degraded > 0 && s.Degraded < 1) {
		errs.Add("degraded", "must be above 0 and below 1, got %v", s.Degraded)
	}
	if !(s.Healthy > s.Degraded && s.Healthy <= 1) {
		errs.Add("healthy", "must be above status.degraded (%v) and at most 1, got %v", s.Degraded, s.Healthy)
	}
	return errs.Err()
}

// Validate checks the errors signal's settings.
func (e *ErrorsConfig) Validate() error {
	var errs validation.List
	if !(e.SLOTarget > 0 && e.SLOTarget < 1) {
		errs.Add("slo_target", "must be above 0 and below 1 (0.999 is 99.9%%), got %v", e.SLOTarget)
	}
	if !finite(e.PriorCalls) || e.PriorCalls < 0 {
		errs.Add("prior_calls", "must be a number >= 0, got %v", e.PriorCalls)
	}
	return errs.Err()
}

// Validate checks the latency signal's settings (the names of thresholds are checked against
// max_name_length at the top).
func (l *LatencyConfig) Validate() error {
	var errs validation.List
	if l.Threshold < 0 {
		errs.Add("threshold", "must be >= 0 (0 learns it), got %s", l.Threshold)
	}
	names := make([]string, 0, len(l.Thresholds))
	for name := range l.Thresholds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if d := l.Thresholds[name]; d <= 0 {
			errs.Add(fmt.Sprintf("thresholds[%q]", name), "must be above 0, got %s", d)
		}
	}
	if !(l.Quantile > 0 && l.Quantile < 1) {
		errs.Add("quantile", "must be above 0 and below 1, got %v", l.Quantile)
	}
	if l.BaselineHalfLife <= 0 {
		errs.Add("baseline_half_life", "must be above 0, got %s", l.BaselineHalfLife)
	}
	if l.BaselineMinCalls < 1 {
		errs.Add("baseline_min_calls", "must be at least 1, got %d", l.BaselineMinCalls)
	}
	return errs.Err()
}

// Validate checks the saturation signal's settings.
func (s *SaturationConfig) Validate() error {
	var errs validation.List
	if !(s.Threshold >= 0 && s.Threshold < 1) {
		errs.Add("threshold", "must be at least 0 and below 1, got %v", s.Threshold)
	}
	if !(s.Floor >= 0 && s.Floor <= 1) {
		errs.Add("floor", "must be between 0 and 1, got %v", s.Floor)
	}
	return errs.Err()
}

// Validate checks the dependencies signal's settings.
func (d *DependenciesConfig) Validate() error {
	var errs validation.List
	if !(d.Damping >= 0 && d.Damping <= 1) {
		errs.Add("damping", "must be between 0 and 1, got %v", d.Damping)
	}
	return errs.Err()
}

// Validate checks the events signal's settings.
func (c *EventsConfig) Validate() error {
	var errs validation.List
	if !finite(c.MinRate) || c.MinRate <= 0 {
		errs.Add("min_rate", "must be a number above 0, got %v", c.MinRate)
	}
	if c.WarmUp < 0 {
		errs.Add("warm_up", "must be >= 0, got %s", c.WarmUp)
	}
	return errs.Err()
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
