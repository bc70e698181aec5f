package predictprocessor

import (
	"errors"
	"fmt"
	"go.opentelemetry.io/collector/component"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/confmap"
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

// Validate checks the configuration; each error names its field.
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
	if c.Model.Fast <= 0 {
		errs = errors.Join(errs, fmt.Errorf("model.fast: must be positive, got %v", c.Model.Fast))
	}
	if c.Model.Slow < c.Model.Fast {
		errs = errors.Join(errs, fmt.Errorf("model.slow: must be at least model.fast (%v), got %v", c.Model.Fast, c.Model.Slow))
	}
	if c.Model.Damping < 0 {
		errs = errors.Join(errs, fmt.Errorf("model.damping: must not be negative, got %v", c.Model.Damping))
	}
	if len(c.Watch) == 0 {
		errs = errors.Join(errs, errors.New("watch: at least one rule is required"))
	}
	for i := range c.Watch {
		if err := c.Watch[i].validate(); err != nil {
			errs = errors.Join(errs, fmt.Errorf("watch[%d]: %w", i, err))
		}
	}
	return errs
}

func (r *WatchRule) validate() error {
	var errs error
	if r.Metric == "" {
		errs = errors.Join(errs, errors.New("metric: must not be empty"))
	}
	for j, m := range r.Attributes {
		if m.Key == "" {
			errs = errors.Join(errs, fmt.Errorf("attributes[%d].key: must not be empty", j))
		}
		if m.Regex != "" {
			if m.Value != "" {
				errs = errors.Join(errs, fmt.Errorf("attributes[%d]: set value or regex, not both", j))
			}
			if _, err := regexp.Compile(m.Regex); err != nil {
				errs = errors.Join(errs, fmt.Errorf("attributes[%d].regex: %w", j, err))
			}
		}
	}
	switch r.Direction {
	case "", directionAbove, directionBelow:
	default:
		errs = errors.Join(errs, fmt.Errorf("direction: want %q or %q, got %q", directionAbove, directionBelow, r.Direction))
	}
	for j, h := range r.Horizons {
		if h <= 0 {
			errs = errors.Join(errs, fmt.Errorf("horizons[%d]: must be positive, got %v", j, h))
		}
	}
	if r.MaxHorizon < 0 {
		errs = errors.Join(errs, fmt.Errorf("max_horizon: must not be negative, got %v", r.MaxHorizon))
	}
	if r.MinValue != nil && r.MaxValue != nil && !(*r.MinValue < *r.MaxValue) {
		errs = errors.Join(errs, fmt.Errorf("min_value: must be below max_value (%v), got %v", *r.MaxValue, *r.MinValue))
	}
	switch r.Model {
	case "", modelDampedTrend:
	case modelLinear:
		if r.Window < 0 {
			errs = errors.Join(errs, fmt.Errorf("window: must not be negative, got %v", r.Window))
		}
	default:
		errs = errors.Join(errs, fmt.Errorf("model: want %q or %q, got %q", modelDampedTrend, modelLinear, r.Model))
	}
	switch r.Histogram.Statistic {
	case "", statisticMean:
	case statisticQuantile:
		if !(r.Histogram.Quantile > 0 && r.Histogram.Quantile < 1) {
			errs = errors.Join(errs, fmt.Errorf("histogram.quantile: want a value in (0,1), got %v", r.Histogram.Quantile))
		}
	default:
		errs = errors.Join(errs, fmt.Errorf("histogram.statistic: want %q or %q, got %q", statisticMean, statisticQuantile, r.Histogram.Statistic))
	}
	if eb := r.ErrorBudget; eb != nil {
		if !(eb.Objective > 0 && eb.Objective < 1) {
			errs = errors.Join(errs, fmt.Errorf("error_budget.objective: want a value in (0,1), got %v", eb.Objective))
		}
		for j, w := range eb.Windows {
			switch {
			case w.Short <= 0 || w.Long <= 0:
				errs = errors.Join(errs, fmt.Errorf("error_budget.windows[%d]: long and short must be positive", j))
			case w.Short > w.Long:
				errs = errors.Join(errs, fmt.Errorf("error_budget.windows[%d].short: must not exceed long (%v), got %v", j, w.Long, w.Short))
			}
			if !(w.Factor > 0) {
				errs = errors.Join(errs, fmt.Errorf("error_budget.windows[%d].factor: must be positive, got %v", j, w.Factor))
			}
		}
	}
	return errs
}
