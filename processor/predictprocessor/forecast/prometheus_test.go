package forecast

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigil-collector/vigil/internal/proctest"
)

// TestLinearAgreesWithRealPrometheus backfills a noisy ramp into a real Prometheus (Debian's
// prometheus package; .ci/run installs it), asks it for deriv() and predict_linear() over 1 h at
// several evaluation times, and compares them with the Linear model fed the same samples.
func TestLinearAgreesWithRealPrometheus(t *testing.T) {
	promBin, err1 := exec.LookPath("prometheus")
	promtool, err2 := exec.LookPath("promtool")
	if err1 != nil || err2 != nil {
		t.Skip("prometheus/promtool not installed (apt-get install prometheus); .ci/run installs them")
	}
	dir := t.TempDir()
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).Unix()
	const step, n = 15, 1000
	rng := rand.New(rand.NewPCG(1, 2))
	ts := make([]int64, n)
	vs := make([]float64, n)
	var om strings.Builder
	om.WriteString("# TYPE vigil_fill gauge\n")
	for i := range n {
		ts[i] = base + int64(i*step)
		vs[i] = 0.2 + 0.00004*float64(i*step) + 0.01*math.Sin(float64(i)/7) + 0.003*rng.NormFloat64()
		fmt.Fprintf(&om, "vigil_fill %s %d\n", strconv.FormatFloat(vs[i], 'g', -1, 64), ts[i])
	}
	om.WriteString("# EOF\n")
	omPath := filepath.Join(dir, "series.om")
	require.NoError(t, os.WriteFile(omPath, []byte(om.String()), 0o600))
	data := filepath.Join(dir, "data")
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", omPath, data).CombinedOutput()
	require.NoError(t, err, "%s", out)

	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("global: {}\n"), 0o600))
	addr := proctest.FreeAddr(t)
	cmd := exec.Command(promBin, "--config.file="+cfg, "--storage.tsdb.path="+data, "--web.listen-address="+addr,
		"--storage.tsdb.retention.time=100y")
	proctest.Start(t, "prometheus", cmd, addr, 30*time.Second, 15*time.Second)

	query := func(q string, at int64) float64 {
		t.Helper()
		u := "http://" + addr + "/api/v1/query?" + url.Values{"query": {q}, "time": {strconv.FormatInt(at, 10)}}.Encode()
		var res struct {
			Status string
			Data   struct {
				Result []struct{ Value [2]any }
			}
		}
		require.Eventually(t, func() bool {
			resp, err := http.Get(u)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			if json.NewDecoder(resp.Body).Decode(&res) != nil {
				return false
			}
			return res.Status == "success" && len(res.Data.Result) == 1 // blocks load after start
		}, 30*time.Second, 200*time.Millisecond, "query %s", q)
		v, err := strconv.ParseFloat(res.Data.Result[0].Value[1].(string), 64)
		require.NoError(t, err)
		return v
	}

	checked := 0
	// Evaluation times between samples, so no sample sits exactly on a window edge (Prometheus 2
	// closes the range at its start, Prometheus 3 opens it).
	for _, k := range []int{300, 517, 999} {
		at := ts[k] + 7
		lin := NewLinear(time.Hour.Milliseconds(), 100_000)
		for i := 0; i <= k; i++ {
			lin.Add(ts[i]*1000, vs[i])
		}
		slope, intercept := lin.Fit(at * 1000)
		wantSlope := query("deriv(vigil_fill[1h])", at)
		wantPredict := query("predict_linear(vigil_fill[1h], 600)", at)
		t.Logf("at sample %d: deriv %.15g (ours %.15g), predict_linear 600 s %.15g (ours %.15g)", k, wantSlope, slope, wantPredict, intercept+slope*600)
		assert.InEpsilon(t, wantSlope, slope, 1e-9, "slope at sample %d", k)
		assert.InEpsilon(t, wantPredict, intercept+slope*600, 1e-9, "predict_linear at sample %d", k)
		checked++
	}
	assert.Equal(t, 3, checked)
}
