package breakerextension // import "github.com/vigil-collector/vigil/extension/breakerextension"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"

	"github.com/vigil-collector/vigil/extension/breakerextension/internal/breaker"
)

// Config of the breaker extension. Its HTTP API (/v1/breakers) is served by the status
// extension named in Status, on that extension's address and behind its auth.
type Config struct {
	// StatusExtension names the status extension that serves the breaker's HTTP API and
	// receives its transitions (for example "status"); empty: no HTTP API (the breakers still
	// decide, and gRPC health still serves).
	StatusExtension component.ID `mapstructure:"status_extension"`

	// GRPC, when set, serves the gRPC health protocol (grpc.health.v1) on its own endpoint.
	GRPC configoptional.Optional[configgrpc.ServerConfig] `mapstructure:"grpc"`

	// MaxTargets caps the tracked targets; past it the least recently seen are evicted.
	MaxTargets int `mapstructure:"max_targets"`
	// MaxTargetLength caps a target name in bytes.
	MaxTargetLength int `mapstructure:"max_target_length"`
	// ConsecutiveFailures opens after this many failures in a row (0 disables the rule); the run
	// grows for targets whose learned failure rate makes such a run likely by chance.
	ConsecutiveFailures int `mapstructure:"consecutive_failures"`
	// Window is the rolling window of the rate rules, kept in WindowBuckets buckets.
	Window        time.Duration `mapstructure:"window"`
	WindowBuckets int           `mapstructure:"window_buckets"`
	// MinCalls is how many calls the window needs before a rate rule may trip.
	MinCalls int `mapstructure:"min_calls"`
	// SignificanceZ is how far (one-sided Wilson score, in standard deviations) a window's rate
	// must sit above its threshold to trip.
	SignificanceZ float64 `mapstructure:"significance_z"`

	FailureRate FailureRateConfig `mapstructure:"failure_rate"`
	SlowCall    SlowCallConfig    `mapstructure:"slow_call"`
	Baseline    BaselineConfig    `mapstructure:"baseline"`
	Open        OpenConfig        `mapstructure:"open"`
	HalfOpen    HalfOpenConfig    `mapstructure:"half_open"`
	Watch       WatchConfig       `mapstructure:"watch"`

	// TransitionHistory is how many transitions each target keeps for the API.
	TransitionHistory int `mapstructure:"transition_history"`
}

// FailureRateConfig is the failure-rate rule.
type FailureRateConfig struct {
	// MinIncrease and RelativeIncrease make the threshold: baseline + max(min, relative × baseline).
	MinIncrease      float64 `mapstructure:"min_increase"`
	RelativeIncrease float64 `mapstructure:"relative_increase"`
	// MaxBaseline caps what the baseline may learn as normal; it is also the threshold's floor
	// until the baseline is warm.
	MaxBaseline float64 `mapstructure:"max_baseline"`
}

// SlowCallConfig is the slow-call rule.
type SlowCallConfig struct {
	Enabled bool `mapstructure:"enabled"`
	// A successful call is slow above Multiplier × the learned Quantile of latency, or above
	// Threshold when it is set (> 0).
	Quantile   float64       `mapstructure:"quantile"`
	Multiplier float64       `mapstructure:"multiplier"`
	Threshold  time.Duration `mapstructure:"threshold"`
	// MinIncrease and RelativeIncrease make the slow-rate threshold over the learned slow rate.
	MinIncrease      float64 `mapstructure:"min_increase"`
	RelativeIncrease float64 `mapstructure:"relative_increase"`
}

// BaselineConfig is how baselines learn.
type BaselineConfig struct {
	// HalfLife is how fast the baselines forget.
	HalfLife time.Duration `mapstructure:"half_life"`
	// WarmupCalls is the weight of the priors, and how many calls a baseline learns before it is
	// trusted.
	WarmupCalls int `mapstructure:"warmup_calls"`
	// InitialFailureRate is the failure rate assumed before anything is learned.
	InitialFailureRate float64 `mapstructure:"initial_failure_rate"`
}

// OpenConfig is the open state's backoff.
type OpenConfig struct {
	Initial    time.Duration `mapstructure:"initial"`
	Multiplier float64       `mapstructure:"multiplier"`
	Max        time.Duration `mapstructure:"max"`
	Jitter     float64       `mapstructure:"jitter"`
	// DecayAfter forgets one consecutive opening per this long spent closed.
	DecayAfter time.Duration `mapstructure:"decay_after"`
}

// HalfOpenConfig is the half-open ramp.
type HalfOpenConfig struct {
	// Steps are admission percentages, increasing, ending at 100.
	Steps []float64 `mapstructure:"steps"`
	// SuccessesPerStep is how many successes a step needs before the next.
	SuccessesPerStep int `mapstructure:"successes_per_step"`
	// MaxStepDuration advances a step with at least one success after this long.
	MaxStepDuration time.Duration `mapstructure:"max_step_duration"`
}

// WatchConfig bounds the gRPC health Watch streams (the server-sent events of /v1/watch are the
// status extension's).
type WatchConfig struct {
	// MaxSubscribers caps concurrent watch streams.
	MaxSubscribers int `mapstructure:"max_subscribers"`
	// Buffer is how many transitions wait for a slow subscriber before they are dropped.
	Buffer int `mapstructure:"buffer"`
}

var _ confmap.Validator = (*Config)(nil)

// Validate checks every setting; each error names its field.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, field, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
		}
	}
	unit := func(v float64) bool { return v >= 0 && v <= 1 }
	check(c.MaxTargets > 0, "max_targets", "must be positive, got %d", c.MaxTargets)
	check(c.MaxTargetLength > 0 && c.MaxTargetLength <= 4096, "max_target_length", "must be in 1..4096, got %d", c.MaxTargetLength)
	check(c.ConsecutiveFailures >= 0, "consecutive_failures", "must not be negative, got %d", c.ConsecutiveFailures)
	check(c.Window > 0, "window", "must be positive, got %s", c.Window)
	check(c.WindowBuckets > 0 && c.WindowBuckets <= 600, "window_buckets", "must be in 1..600, got %d", c.WindowBuckets)
	if c.Window > 0 && c.WindowBuckets > 0 {
		check(c.Window/time.Duration(c.WindowBuckets) >= time.Millisecond, "window_buckets", "buckets must be at least 1ms wide (window %s / %d buckets)", c.Window, c.WindowBuckets)
	}
	check(c.MinCalls > 0, "min_calls", "must be positive, got %d", c.MinCalls)
	check(c.SignificanceZ > 0, "significance_z", "must be positive, got %v", c.SignificanceZ)
	check(unit(c.FailureRate.MinIncrease), "failure_rate.min_increase", "must be in [0, 1], got %v", c.FailureRate.MinIncrease)
	check(c.FailureRate.RelativeIncrease >= 0, "failure_rate.relative_increase", "must not be negative, got %v", c.FailureRate.RelativeIncrease)
	check(c.FailureRate.MaxBaseline > 0 && c.FailureRate.MaxBaseline < 1, "failure_rate.max_baseline", "must be in (0, 1), got %v", c.FailureRate.MaxBaseline)
	check(c.SlowCall.Quantile > 0 && c.SlowCall.Quantile < 1, "slow_call.quantile", "must be in (0, 1), got %v", c.SlowCall.Quantile)
	check(c.SlowCall.Multiplier > 0, "slow_call.multiplier", "must be positive, got %v", c.SlowCall.Multiplier)
	check(c.SlowCall.Threshold >= 0, "slow_call.threshold", "must not be negative, got %s", c.SlowCall.Threshold)
	check(unit(c.SlowCall.MinIncrease), "slow_call.min_increase", "must be in [0, 1], got %v", c.SlowCall.MinIncrease)
	check(c.SlowCall.RelativeIncrease >= 0, "slow_call.relative_increase", "must not be negative, got %v", c.SlowCall.RelativeIncrease)
	check(c.Baseline.HalfLife > 0, "baseline.half_life", "must be positive, got %s", c.Baseline.HalfLife)
	check(c.Baseline.WarmupCalls > 0, "baseline.warmup_calls", "must be positive, got %d", c.Baseline.WarmupCalls)
	check(c.Baseline.InitialFailureRate > 0 && c.Baseline.InitialFailureRate < 1, "baseline.initial_failure_rate", "must be in (0, 1), got %v", c.Baseline.InitialFailureRate)
	check(c.Open.Initial > 0, "open.initial", "must be positive, got %s", c.Open.Initial)
	check(c.Open.Multiplier >= 1, "open.multiplier", "must be at least 1, got %v", c.Open.Multiplier)
	check(c.Open.Max >= c.Open.Initial, "open.max", "must be at least open.initial (%s), got %s", c.Open.Initial, c.Open.Max)
	check(c.Open.Jitter >= 0 && c.Open.Jitter < 1, "open.jitter", "must be in [0, 1), got %v", c.Open.Jitter)
	check(c.Open.DecayAfter >= 0, "open.decay_after", "must not be negative, got %s", c.Open.DecayAfter)
	check(c.HalfOpen.SuccessesPerStep > 0, "half_open.successes_per_step", "must be positive, got %d", c.HalfOpen.SuccessesPerStep)
	check(c.HalfOpen.MaxStepDuration >= 0, "half_open.max_step_duration", "must not be negative, got %s", c.HalfOpen.MaxStepDuration)
	if err := validateSteps(c.HalfOpen.Steps); err != nil {
		errs = append(errs, fmt.Errorf("half_open.steps: %w", err))
	}
	check(c.Watch.MaxSubscribers > 0, "watch.max_subscribers", "must be positive, got %d", c.Watch.MaxSubscribers)
	check(c.Watch.Buffer > 0, "watch.buffer", "must be positive, got %d", c.Watch.Buffer)
	check(c.TransitionHistory > 0 && c.TransitionHistory <= 1024, "transition_history", "must be in 1..1024, got %d", c.TransitionHistory)
	return errors.Join(errs...)
}

func validateSteps(steps []float64) error {
	if len(steps) == 0 {
		return errors.New("must list at least one step")
	}
	prev := 0.0
	for i, s := range steps {
		if s <= prev || s > 100 {
			return fmt.Errorf("step %d (%v) must be above the previous one and at most 100", i+1, s)
		}
		prev = s
	}
	if prev != 100 {
		return fmt.Errorf("must end at 100, ends at %v", prev)
	}
	return nil
}

// settings maps the config onto the breaker's settings.
func (c *Config) settings() breaker.Settings {
	return breaker.Settings{
		MaxTargets:              c.MaxTargets,
		MaxTargetLength:         c.MaxTargetLength,
		ConsecutiveFailures:     c.ConsecutiveFailures,
		Window:                  c.Window,
		WindowBuckets:           c.WindowBuckets,
		MinCalls:                c.MinCalls,
		Z:                       c.SignificanceZ,
		FailureMinIncrease:      c.FailureRate.MinIncrease,
		FailureRelativeIncrease: c.FailureRate.RelativeIncrease,
		MaxBaselineFailureRate:  c.FailureRate.MaxBaseline,
		SlowEnabled:             c.SlowCall.Enabled,
		SlowQuantile:            c.SlowCall.Quantile,
		SlowMultiplier:          c.SlowCall.Multiplier,
		SlowThreshold:           c.SlowCall.Threshold,
		SlowMinIncrease:         c.SlowCall.MinIncrease,
		SlowRelativeIncrease:    c.SlowCall.RelativeIncrease,
		BaselineHalfLife:        c.Baseline.HalfLife,
		WarmupCalls:             c.Baseline.WarmupCalls,
		InitialFailureRate:      c.Baseline.InitialFailureRate,
		OpenInitial:             c.Open.Initial,
		OpenMultiplier:          c.Open.Multiplier,
		OpenMax:                 c.Open.Max,
		OpenJitter:              c.Open.Jitter,
		OpenDecayAfter:          c.Open.DecayAfter,
		HalfOpenSteps:           append([]float64(nil), c.HalfOpen.Steps...),
		SuccessesPerStep:        c.HalfOpen.SuccessesPerStep,
		MaxStepDuration:         c.HalfOpen.MaxStepDuration,
		TransitionHistory:       c.TransitionHistory,
	}
}
