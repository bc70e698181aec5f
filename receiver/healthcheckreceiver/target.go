package healthcheckreceiver

import (
	"sync"
	"time"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/probe"
)

// target is one probed target: its settings, its prober and the state its probes built.
type target struct {
	name, service, typ string
	interval, timeout  time.Duration
	failureThreshold   int
	successThreshold   int
	prober             probe.Prober

	mu    sync.Mutex
	state targetState
}

// targetState is what the probes of a target have established so far.
type targetState struct {
	known       bool // at least one probe completed
	up          bool
	consecFail  int
	consecOK    int
	last        probe.Result
	errorCounts map[string]int64 // cumulative, by error.type
}

// record applies one probe result. The first result sets the state; after that an up target goes
// down after failureThreshold consecutive failures and a down target goes up after
// successThreshold consecutive successes (Kubernetes probe and Consul check semantics).
func (t *target) record(r probe.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &t.state
	s.last = r
	if r.OK() {
		s.consecOK++
		s.consecFail = 0
	} else {
		s.consecFail++
		s.consecOK = 0
		if s.errorCounts == nil {
			s.errorCounts = make(map[string]int64, 2)
		}
		s.errorCounts[r.ErrorType]++
	}
	switch {
	case !s.known:
		s.known, s.up = true, r.OK()
	case s.up && s.consecFail >= t.failureThreshold:
		s.up = false
	case !s.up && s.consecOK >= t.successThreshold:
		s.up = true
	}
}

// snapshot returns a copy of the state, safe to read without the lock.
func (t *target) snapshot() targetState {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.state
	if s.errorCounts != nil {
		counts := make(map[string]int64, len(s.errorCounts))
		for k, v := range s.errorCounts {
			counts[k] = v
		}
		s.errorCounts = counts
	}
	return s
}
