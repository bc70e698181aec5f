package breaker

import (
	"math/rand/v2"
	"time"

	"github.com/vigil-collector/vigil/internal/registry"
)

// Settings are the validated knobs of every breaker in a registry. The extension's Config maps
// onto them; DefaultSettings holds the defaults its README documents.
type Settings struct {
	// MaxTargets caps how many targets are tracked; past it the least recently seen are evicted
	// (overridden targets and breakers that are not closed are never evicted).
	MaxTargets int
	// MaxTargetLength caps a target name in bytes.
	MaxTargetLength int

	// ConsecutiveFailures opens the breaker after this many failures in a row (0 disables).
	ConsecutiveFailures int
	// Window is the rolling window the rate rules look at, kept in WindowBuckets buckets.
	Window        time.Duration
	WindowBuckets int
	// MinCalls is how many calls the window must hold before a rate rule may trip.
	MinCalls int
	// Z is how many standard deviations (one-sided, Wilson score) the window's rate must sit
	// above the baseline's threshold before a rate rule trips.
	Z float64

	// FailureMinIncrease and FailureRelativeIncrease make the failure-rate threshold:
	// baseline + max(min_increase, relative_increase × baseline).
	FailureMinIncrease      float64
	FailureRelativeIncrease float64
	// MaxBaselineFailureRate caps what the baseline may learn as normal.
	MaxBaselineFailureRate float64

	// SlowEnabled turns the slow-call rule on.
	SlowEnabled bool
	// SlowQuantile and SlowMultiplier make the learned slow threshold: multiplier × the
	// baseline's quantile. SlowThreshold, when > 0, replaces it with a fixed duration.
	SlowQuantile   float64
	SlowMultiplier float64
	SlowThreshold  time.Duration
	// SlowMinIncrease and SlowRelativeIncrease make the slow-rate threshold, as for failures.
	SlowMinIncrease      float64
	SlowRelativeIncrease float64

	// BaselineHalfLife is how fast the baselines forget (exponential decay of counts and of the
	// latency sketch, applied per healthy bucket learned).
	BaselineHalfLife time.Duration
	// WarmupCalls is the weight, in calls, of the initial rates (the prior), and how many
	// latencies the sketch needs before the learned slow threshold is used.
	WarmupCalls int
	// InitialFailureRate is the failure rate assumed before anything is learned.
	InitialFailureRate float64

	// OpenInitial, OpenMultiplier and OpenMax make the open duration of the n-th consecutive
	// opening: min(initial × multiplier^(n-1), max), then jittered by ± OpenJitter.
	OpenInitial    time.Duration
	OpenMultiplier float64
	OpenMax        time.Duration
	OpenJitter     float64
	// OpenDecayAfter forgets one consecutive opening per this long spent closed.
	OpenDecayAfter time.Duration

	// HalfOpenSteps are the ramp's admission percentages, ending at 100.
	HalfOpenSteps []float64
	// SuccessesPerStep is how many successes a ramp step needs before the next one.
	SuccessesPerStep int
	// MaxStepDuration advances a step that has at least one success and lasted this long, so a
	// low-volume target does not sit half-open.
	MaxStepDuration time.Duration

	// TransitionHistory is how many transitions each target keeps for the API.
	TransitionHistory int

	// Rand returns a uniform number in [0, 1) for the backoff jitter; nil uses math/rand/v2.
	Rand func() float64
}

// DefaultSettings returns the defaults documented in the extension's README.
func DefaultSettings() Settings {
	return Settings{
		MaxTargets:              10000,
		MaxTargetLength:         registry.DefaultMaxNameLength,
		ConsecutiveFailures:     5,
		Window:                  10 * time.Second,
		WindowBuckets:           10,
		MinCalls:                20,
		Z:                       3,
		FailureMinIncrease:      0.05,
		FailureRelativeIncrease: 0.5,
		MaxBaselineFailureRate:  0.5,
		SlowEnabled:             true,
		SlowQuantile:            0.95,
		SlowMultiplier:          1.5,
		SlowMinIncrease:         0.05,
		SlowRelativeIncrease:    0.5,
		BaselineHalfLife:        10 * time.Minute,
		WarmupCalls:             100,
		InitialFailureRate:      0.1,
		OpenInitial:             5 * time.Second,
		OpenMultiplier:          2,
		OpenMax:                 300 * time.Second,
		OpenJitter:              0.2,
		OpenDecayAfter:          60 * time.Second,
		HalfOpenSteps:           []float64{1, 10, 50, 100},
		SuccessesPerStep:        5,
		MaxStepDuration:         2 * time.Second,
		TransitionHistory:       16,
	}
}

func (s *Settings) random() float64 {
	if s.Rand != nil {
		return s.Rand()
	}
	return rand.Float64()
}
