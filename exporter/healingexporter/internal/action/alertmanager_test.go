package action

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/internal/proctest"
)

// startAlertmanager runs a real Alertmanager (Debian's prometheus-alertmanager, which .ci/run
// installs) on a free loopback port and returns its base URL.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		t.Skip("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager); .ci/run installs it")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("route:\n  receiver: none\n  group_wait: 1s\nreceivers:\n  - name: none\n"), 0o600))
	addr := proctest.FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+dir, "--web.listen-address="+addr, "--cluster.listen-address=")
	proctest.Start(t, "alertmanager", cmd, addr, 20*time.Second, 10*time.Second)
	base := "http://" + addr
	return base
}

type gettableAlert struct {
	Labels map[string]string `json:"labels"`
	EndsAt time.Time         `json:"endsAt"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
}

func alertsOf(t *testing.T, base string) []gettableAlert {
	resp, err := http.Get(base + "/api/v2/alerts")
	require.NoError(t, err)
	defer resp.Body.Close()
	var out []gettableAlert
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func TestAlertmanagerFiringAndResolved(t *testing.T) {
	base := startAlertmanager(t)
	now := time.Now()
	a := &Alertmanager{URL: base, Client: &http.Client{Timeout: 5 * time.Second}, Now: func() time.Time { return now }}
	r := req(false)
	r.FiredAt = now.Add(-time.Minute)
	_, err := a.Run(context.Background(), r)
	require.NoError(t, err)

	alerts := alertsOf(t, base)
	require.Len(t, alerts, 1, "%v", alerts)
	assert.Equal(t, "service-down", alerts[0].Labels["alertname"])
	assert.Equal(t, "checkout", alerts[0].Labels["target"])
	assert.Equal(t, "abc123", alerts[0].Labels["vigil_incident"])
	assert.Equal(t, "active", alerts[0].Status.State)

	r.Resolve = true
	_, err = a.Run(context.Background(), r)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for _, x := range alertsOf(t, base) {
			if x.Labels["vigil_incident"] == "abc123" && x.EndsAt.After(now.Add(time.Second)) {
				return false
			}
		}
		return true
	}, 10*time.Second, 100*time.Millisecond, "the alert ends when resolved")
}
