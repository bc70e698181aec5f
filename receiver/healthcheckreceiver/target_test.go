package healthcheckreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/vigil-collector/vigil/receiver/healthcheckreceiver/internal/probe"
)

var (
	pass = probe.Result{}
	fail = probe.Result{ErrorType: probe.ErrConnectionRefused}
)

// replay feeds results to a target and returns its up state after each.
func replay(failureThreshold, successThreshold int, results ...probe.Result) []bool {
	t := &target{failureThreshold: failureThreshold, successThreshold: successThreshold}
	out := make([]bool, 0, len(results))
	for _, r := range results {
		t.record(r)
		out = append(out, t.snapshot().up)
	}
	return out
}

func TestThresholds(t *testing.T) {
	tests := []struct {
		name       string
		fail, succ int
		results    []probe.Result
		want       []bool
	}{
		{"defaults follow every probe", 1, 1, []probe.Result{pass, fail, pass, fail}, []bool{true, false, true, false}},
		{"first probe sets the state (down)", 3, 1, []probe.Result{fail, pass}, []bool{false, true}},
		{"first probe sets the state (up)", 1, 3, []probe.Result{pass, fail}, []bool{true, false}},
		{"down after 3 consecutive failures", 3, 1, []probe.Result{pass, fail, fail, fail, fail}, []bool{true, true, true, false, false}},
		{"a success resets the failure count", 3, 1, []probe.Result{pass, fail, fail, pass, fail, fail, fail}, []bool{true, true, true, true, true, true, false}},
		{"up after 2 consecutive successes", 1, 2, []probe.Result{fail, pass, fail, pass, pass}, []bool{false, false, false, false, true}},
		{"both thresholds", 2, 2, []probe.Result{pass, fail, fail, pass, fail, pass, pass}, []bool{true, true, false, false, false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, replay(tt.fail, tt.succ, tt.results...))
		})
	}
}

func TestErrorCountsAreCumulativeAndCopied(t *testing.T) {
	tg := &target{failureThreshold: 1, successThreshold: 1}
	tg.record(fail)
	tg.record(probe.Result{ErrorType: probe.ErrTimeout})
	tg.record(fail)
	tg.record(pass)
	snap := tg.snapshot()
	assert.Equal(t, map[string]int64{probe.ErrConnectionRefused: 2, probe.ErrTimeout: 1}, snap.errorCounts)
	snap.errorCounts[probe.ErrTimeout] = 99
	assert.Equal(t, int64(1), tg.snapshot().errorCounts[probe.ErrTimeout], "a snapshot is a copy")
	assert.Equal(t, 1, snap.consecOK)
	assert.True(t, snap.known)
}

func TestUnprobedTargetIsUnknown(t *testing.T) {
	tg := &target{failureThreshold: 1, successThreshold: 1}
	assert.False(t, tg.snapshot().known)
}
