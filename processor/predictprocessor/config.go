package predictprocessor

import (
	"errors"
	"fmt"
	"go.opentelemetry.io/collector/component"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/internal/validation"
)

// Config is the predict processor's configuration.
type Config struct {
	// Watch selects the series to learn from; the first rule a data point matches applies.
	Watch []WatchRule `mapstructure:"watch"`
	// MaxSeries caps the series held; past it the least recently seen series is evicted.
	MaxSeries int `mapstructure:"max_series"`
	// WarmUp is how long a series must have been seen before anything is predicted for it.
	WarmUp time.Duration `mapstructure:"warm_up"`
	// WarmUpPoints is how many points a series needs before anything is predicted for it.
	WarmUpPoints int `mapstructure:"warm_up_points"`
	// Model holds the time constants of the damped-trend model.
	Model ModelConfig `mapstructure:"model"`
	// StatusExtension names the status extension the predictions of series tied to a service
	// (resource service.name) are published to (for example "status"); empty: none.
	StatusExtension component.ID `mapstructure:"status_extension"`
}

// ModelConfig holds the damped-trend model's time constants.
type ModelConfig struct {
	// Fast is how far back the forecasting trend looks (time constant of its discounting).
	Fast time.Duration `mapstructure:"fast"`
	// Slow is the time constant of the fit that must confirm a trend before a time to threshold
	// is reported (it tells a cycle from a trend).
	Slow time.Duration `mapstructure:"slow"`
	// Damping is the time constant over which a projected trend fades; 0 disables damping.
	Damping time.Duration `mapstructure:"damping"`
}

// WatchRule selects series by metric name and attributes and says what to predict for them.
type WatchRule struct {
	// Metric is the exact metric name.
	Metric string `mapstructure:"metric"`
	// Attributes must all match the data point's attributes (or, failing that, its resource's).
	Attributes []AttributeMatcher `mapstructure:"attributes"`
	// Threshold enables predict.time_to_threshold and predict.risk.
	Threshold *float64 `mapstructure:"threshold"`
	// Direction is "above" (the series must stay under the threshold) or "below" (it must stay over it).
	Direction string `mapstructure:"direction"`
	// Horizons are the lead times predict.value is emitted for.
	Horizons []time.Duration `mapstructure:"horizons"`
	// MaxHorizon bounds time to threshold and risk.
	MaxHorizon time.Duration `mapstructure:"max_horizon"`
	// Model is "damped_trend" or "linear" (least squares over Window, as Prometheus predict_linear).
	Model string `mapstructure:"model"`
	// Window is the linear model's range.
	Window time.Duration `mapstructure:"window"`
	// Histogram says which number of a histogram is the series' value.
	Histogram HistogramConfig `mapstructure:"histogram"`
	// MinValue and MaxValue bound the forecasts (e.g. 0 and 1 for a utilisation).
	MinValue *float64 `mapstructure:"min_value"`
	MaxValue *float64 `mapstructure:"max_value"`
	// ErrorBudget treats the series as an error ratio and evaluates burn-rate alerts on it.
	ErrorBudget *ErrorBudgetConfig `mapstructure:"error_budget"`
}

// AttributeMatcher matches one attribute by exact value or by regular expression.
type AttributeMatcher struct {
	Key   string `mapstructure:"key"`
	Value string `mapstructure:"value"`
	// Regex, when set, is matched against the whole value instead of Value.
	Regex string `mapstructure:"regex"`
}

// HistogramConfig picks a histogram's statistic.
type HistogramConfig struct {
	// Statistic is "mean" or "quantile".
	Statistic string `mapstructure:"statistic"`
	// Quantile in (0,1) when Statistic is "quantile".
	Quantile float64 `mapstructure:"quantile"`
}

// ErrorBudgetConfig enables the multi-window, multi-burn-rate evaluation.
type ErrorBudgetConfig struct {
	// Objective is the SLO, e.g. 0.999; the error budget is 1 - Objective.
	Objective float64 `mapstructure:"objective"`
	// Windows are the alert pairs (default: 1h/5m at 14.4, 6h/30m at 6, 1d/2h at 3, 3d/6h at 1).
	Windows []BurnWindowConfig `mapstructure:"windows"`
}

// BurnWindowConfig is one alert pair.
type BurnWindowConfig struct {
	Long   time.Duration `mapstructure:"long"`
	Short  time.Duration `mapstructure:"short"`
	Factor float64       `mapstructure:"factor"`
}

var _ confmap.Validator = (*Config)(nil)

// Validate checks the top-level fields; confmap's validation calls the Validate of every nested
// type (each watch rule, its matchers, histogram, error budget and windows) and prefixes each
// error with the path of its field, so that every error names its field.
func (c *Config) Validate() error {
	var errs error
	if c.MaxSeries <= 0 {
		errs = errors.Join(errs, fmt.Errorf("max_series: must be positive, got %d", c.MaxSeries))
	}
	if c.WarmUp < 0 {
		errs = errors.Join(errs, fmt.Errorf("warm_up: must not be negative, got %v", c.WarmUp))
	}
	if c.WarmUpPoints < 3 {
		errs = errors.Join(errs, fmt.Errorf("warm_up_points: must be at least 3, got %d", c.WarmUpPoints))
	}
	if len(c.Watch) == 0 {
		errs = errors.Join(errs, errors.New("watch: at least one rule is required"))
	}
	return errs
}

// Validate checks the model's time constants.
func (m *ModelConfig) Validate() error {
	var errs error
	if m.Fast <= 0 {
		errs = validation.Join(errs, fmt.Errorf("fast: must be positive, got %v", m.Fast))
	}
	if m.Slow < m.Fast {
		errs = validation.Join(errs, fmt.Errorf("slow: must be at least model.fast (%v), got %v", m.Fast, m.Slow))
	}
	if m.Damping < 0 {
		errs = validation.Join(errs, fmt.Errorf("damping: must not be negative, got %v", m.Damping))
	}
	return errs
}

// Validate checks one attribute matcher.
func (m *AttributeMatcher) Validate() error {
	var errs error
	if m.Key == "" {
		errs = validation.Join(errs, errors.New("key: must not be empty"))
	}
	if m.Regex != "" {
		if m.Value != "" {
			errs = validation.Join(errs, errors.New("set value or regex, not both"))
		}
		if _, err := regexp.Compile(m.Regex); err != nil {
			errs = validation.Join(errs, fmt.Errorf("regex: %w", err))
		}
	}
	return errs
}

// Validate checks a histogram's statistic.
func (h *HistogramConfig) Validate() error {
	switch h.Statistic {
	case "", statisticMean:
	case statisticQuantile:
		if !(h.Quantile > 0 && h.Quantile < 1) {
			return fmt.Errorf("quantile: want a value in (0,1), got %v", h.Quantile)
		}
	default:
		return fmt.Errorf("statistic: want %q or %q, got %q", statisticMean, statisticQuantile, h.Statistic)
	}
	return nil
}

// Validate checks the objective; each window checks itself.
func (eb *ErrorBudgetConfig) Validate() error {
	if !(eb.Objective > 0 && eb.Objective < 1) {
		return fmt.Errorf("objective: want a value in (0,1), got %v", eb.Objective)
	}
	return nil
}

// Validate checks one alert pair.
func (w *BurnWindowConfig) Validate() error {
	var span, factor error
	switch {
	case w.Short <= 0 || w.Long <= 0:
		span = errors.New("long and short must be positive")
	case w.Short > w.Long:
		span = fmt.Errorf("short: must not exceed long (%v), got %v", w.Long, w.Short)
	}
	if !(w.Factor > 0) {
		factor = fmt.Errorf("factor: must be positive, got %v", w.Factor)
	}
	return validation.Join(span, factor)
}

// Validate checks the rule's own fields; its matchers, histogram and error budget check themselves.
func (r *WatchRule) Validate() error {
	var errs error
	if r.Metric == "" {
		errs = validation.Join(errs, errors.New("metric: must not be empty"))
	}
	switch r.Direction {
	case "", directionAbove, directionBelow:
	default:
		errs = validation.Join(errs, fmt.Errorf("direction: want %q or %q, got %q", directionAbove, directionBelow, r.Direction))
	}
	for j, h := range r.Horizons {
		if h <= 0 {
			errs = validation.Join(errs, fmt.Errorf("horizons::%d: must be positive, got %v", j, h))
		}
	}
	if r.MaxHorizon < 0 {
		errs = validation.Join(errs, fmt.Errorf("max_horizon: must not be negative, got %v", r.MaxHorizon))
	}
	if r.MinValue != nil && r.MaxValue != nil && !(*r.MinValue < *r.MaxValue) {
		errs = validation.Join(errs, fmt.Errorf("min_value: must be below max_value (%v), got %v", *r.MaxValue, *r.MinValue))
	}
	switch r.Model {
	case "", modelDampedTrend:
	case modelLinear:
		if r.Window < 0 {
			errs = validation.Join(errs, fmt.Errorf("window: must not be negative, got %v", r.Window))
		}
	default:
		errs = validation.Join(errs, fmt.Errorf("model: want %q or %q, got %q", modelDampedTrend, modelLinear, r.Model))
	}
	return errs
}
