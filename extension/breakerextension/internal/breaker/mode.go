package breaker

import "github.com/vigil-collector/vigil/extension/breakerextension/breakerfeed"

// Mode is an operator's override of one target's breaker.
type Mode uint32

const (
	// ModeAuto lets the state machine decide.
	ModeAuto Mode = iota
	// ModeForcedOpen refuses every call; the machine is frozen and learns nothing.
	ModeForcedOpen
	// ModeForcedClosed admits every call; the machine is frozen and learns nothing.
	ModeForcedClosed
	// ModeDisabled admits every call while the machine keeps running, so its state is still
	// observed and reported (a dry run of the breaker).
	ModeDisabled
)

var modeNames = [...]string{breakerfeed.ModeAuto, breakerfeed.ModeForcedOpen, breakerfeed.ModeForcedClosed, breakerfeed.ModeDisabled}

// String returns the mode's name as the API takes and shows it.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "unknown"
}

// ParseMode returns the mode named s, and false for an unknown name.
func ParseMode(s string) (Mode, bool) {
	for i, n := range modeNames {
		if n == s {
			return Mode(i), true
		}
	}
	return 0, false
}

// effective returns the name of the state a target acts in: the override's, else the machine's.
func effective(m Mode, s breakerfeed.State) string {
	if m == ModeAuto {
		return s.String()
	}
	return m.String()
}

// Failure classes shown in transitions besides the outcome classes (error, timeout).
const (
	classSlow  = "slow"
	classProbe = "probe"
	classTrial = "trial"
)

// Reasons for a transition.
const (
	ReasonConsecutiveFailures = "consecutive_failures"
	ReasonFailureRate         = "failure_rate"
	ReasonSlowCallRate        = "slow_call_rate"
	ReasonBackoffElapsed      = "backoff_elapsed"
	ReasonProbePassed         = "probe_passed"
	ReasonSuccessesWhileOpen  = "successes_while_open"
	ReasonProbeFailed         = "probe_failed"
	ReasonTrialPassed         = "trial_passed"
	ReasonTrialFailed         = "trial_failed"
	ReasonHalfOpenFailure     = "half_open_failure"
	ReasonRampComplete        = "ramp_complete"
	ReasonOverride            = "override"
)
