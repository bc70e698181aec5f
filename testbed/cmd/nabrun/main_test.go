package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// writeSeries writes a NAB-shaped file: 5-minute rows of a noisy daily wave with one spike.
func writeSeries(t *testing.T, path string, rows, spikeAt int) []string {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)
	var ts []string
	for i := 0; i < rows; i++ {
		stamp := t0.Add(time.Duration(i) * 5 * time.Minute).Format("2006-01-02 15:04:05")
		v := 50 + 10*math.Sin(2*math.Pi*float64(i)/288) + float64((i*7919)%13)/13
		if i == spikeAt {
			v = 400
		}
		ts = append(ts, stamp)
		fmt.Fprintf(&b, "%s,%s\n", stamp, strconv.FormatFloat(v, 'f', -1, 64))
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return ts
}

func readResults(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return rows
}

func TestScoresANABShapedFolder(t *testing.T) {
	data, out := t.TempDir(), t.TempDir()
	tsA := writeSeries(t, filepath.Join(data, "synthetic", "spike.csv"), 1500, 1200)
	tsB := writeSeries(t, filepath.Join(data, "other", "calm.csv"), 800, -1)
	require.NoError(t, os.WriteFile(filepath.Join(data, "README.md"), []byte("not data"), 0o644))

	var stdout bytes.Buffer
	require.NoError(t, run([]string{"--data", data, "--out", out}, &stdout))
	assert.Contains(t, stdout.String(), "2 files, 2300 rows")

	for rel, ts := range map[string][]string{"synthetic/spike.csv": tsA, "other/calm.csv": tsB} {
		rows := readResults(t, filepath.Join(out, rel))
		require.Equal(t, []string{"timestamp", "value", "anomaly_score"}, rows[0])
		require.Len(t, rows, len(ts)+1, rel)
		for i, r := range rows[1:] {
			assert.Equal(t, ts[i], r[0], "%s row %d: timestamp copied exactly", rel, i)
			s, err := strconv.ParseFloat(r[2], 64)
			require.NoError(t, err)
			require.True(t, s >= 0 && s <= 1, "%s row %d: score %v outside [0,1]", rel, i, s)
		}
	}
	// After NAB's probation (15 % of the rows), the spike is the most anomalous row of its file.
	rows := readResults(t, filepath.Join(out, "synthetic/spike.csv"))[1:]
	best, bestAt := -1.0, -1
	for i, r := range rows {
		if i < len(rows)*15/100 {
			continue
		}
		if s, _ := strconv.ParseFloat(r[2], 64); s > best {
			best, bestAt = s, i
		}
	}
	assert.Equal(t, 1200, bestAt)
	assert.Contains(t, stdout.String(), "alerts at threshold")
}

func TestNeverLooksAhead(t *testing.T) {
	// Scores of a prefix must not change when rows are appended after it.
	data1, data2, out1, out2 := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	writeSeries(t, filepath.Join(data1, "c", "f.csv"), 900, 850)
	writeSeries(t, filepath.Join(data2, "c", "f.csv"), 1400, 850)
	require.NoError(t, run([]string{"--data", data1, "--out", out1}, &bytes.Buffer{}))
	require.NoError(t, run([]string{"--data", data2, "--out", out2}, &bytes.Buffer{}))
	short, long := readResults(t, filepath.Join(out1, "c", "f.csv")), readResults(t, filepath.Join(out2, "c", "f.csv"))
	assert.Equal(t, short, long[:len(short)])
}

func TestRejectsBadInput(t *testing.T) {
	data := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(data, "c"), 0o755))
	tests := []struct {
		name, content string
		args          []string
		want          string
	}{
		{name: "no args", args: []string{}, want: "both --data and --out are required"},
		{name: "threshold", args: []string{"--data", data, "--out", t.TempDir(), "--threshold", "1.5"}, want: "want a value in (0,1]"},
		{name: "header", content: "time,val\n2014-01-01 00:00:00,1\n", want: `header "time,val"`},
		{name: "value", content: "timestamp,value\n2014-01-01 00:00:00,abc\n", want: "line 2: value"},
		{name: "timestamp", content: "timestamp,value\nyesterday,1\n", want: "line 2: timestamp"},
		{name: "empty", content: "", want: "empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				require.NoError(t, os.WriteFile(filepath.Join(data, "c", "f.csv"), []byte(tt.content), 0o644))
				args = []string{"--data", data, "--out", t.TempDir()}
			}
			err := run(args, &bytes.Buffer{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// repoNAB is the NAB subset shipped in the repository.
const repoNAB = "../../nab"

// scorePy runs testbed/nab/score.py --json on results and returns each profile's optimized score
// and, with threshold > 0, its score at that fixed threshold.
func scorePy(t *testing.T, data, results string, threshold float64, extra ...string) map[string][2]float64 {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found: the reference scorer cannot run")
	}
	args := append([]string{filepath.Join(repoNAB, "score.py"), "--data", data, "--results", results, "--json",
		"--threshold", strconv.FormatFloat(threshold, 'g', -1, 64)}, extra...)
	out, err := exec.Command(py, args...).Output()
	require.NoError(t, err, "score.py %v", args)
	var report struct {
		Profiles map[string]struct {
			Optimized struct{ Score float64 } `json:"optimized"`
			Fixed     struct{ Score float64 } `json:"fixed"`
		} `json:"profiles"`
	}
	require.NoError(t, json.Unmarshal(out, &report))
	got := map[string][2]float64{}
	for name, p := range report.Profiles {
		got[name] = [2]float64{p.Optimized.Score, p.Fixed.Score}
	}
	return got
}

func TestGoScorerMatchesScorePy(t *testing.T) {
	// The in-process scorer (used to choose settings in cross-validation) must agree with the
	// reference score.py on the real data: all categories, and one category alone, both at NAB's
	// optimised threshold and at a fixed one.
	data := filepath.Join(repoNAB, "data")
	out := t.TempDir()
	require.NoError(t, run([]string{"--data", data, "--out", out}, &bytes.Buffer{}))
	set, err := loadSet(data)
	require.NoError(t, err)
	require.NoError(t, set.label(filepath.Join(repoNAB, "labels", "combined_windows.json")))
	cats := []string{"artificialNoAnomaly", "artificialWithAnomaly", "realAWSCloudwatch", "realTraffic"}
	pools := byCategory(set, cats, forecast.DefaultDetectorConfig())
	const fixed = 0.2
	for _, tc := range []struct {
		name  string
		pool  *pool
		extra []string
	}{
		{name: "all", pool: merge(pools...)},
		{name: "realTraffic", pool: pools[3], extra: []string{"--categories", "realTraffic"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := scorePy(t, data, out, fixed, tc.extra...)
			for _, pr := range profiles {
				assert.InDelta(t, want[pr.name][0], tc.pool.best(pr).score, 1e-9, "%s optimized", pr.name)
				assert.InDelta(t, want[pr.name][1], tc.pool.evaluate(fixed, pr).score, 1e-9, "%s at %v", pr.name, fixed)
			}
		})
	}
}

func TestCrossValidationNeverSeesTheHeldOutCategory(t *testing.T) {
	// Each fold's choice of setting and threshold depends on the other categories only: changing
	// the held-out category's data changes its scores but not what was chosen for it.
	data := filepath.Join(repoNAB, "data")
	set, err := loadSet(data)
	require.NoError(t, err)
	require.NoError(t, set.label(filepath.Join(repoNAB, "labels", "combined_windows.json")))
	cands := candidates(forecast.DefaultDetectorConfig(), tunables[:1])
	var before bytes.Buffer
	require.NoError(t, crossValidate(set, forecast.DefaultDetectorConfig(), cands, false, &before))
	for _, s := range set {
		if s.category == "realTraffic" {
			slices.Reverse(s.x) // the same windows over the values in reverse order
		}
	}
	var after bytes.Buffer
	require.NoError(t, crossValidate(set, forecast.DefaultDetectorConfig(), cands, false, &after))
	row := func(out, cat string) []string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, cat+" ") {
				return strings.Fields(l)
			}
		}
		t.Fatalf("no row %s in\n%s", cat, out)
		return nil
	}
	b, a := row(before.String(), "realTraffic"), row(after.String(), "realTraffic")
	// Columns: category, standard, low_fp, low_fn, re-opt, train, threshold, detected, FP, setting...
	assert.Equal(t, b[5:7], a[5:7], "training score and threshold of the realTraffic fold")
	assert.Equal(t, b[9:], a[9:], "setting chosen for the realTraffic fold")
	assert.NotEqual(t, b[1], a[1], "the held-out score does see the changed data")
	// Every other fold trains on realTraffic, so its training score moves.
	assert.NotEqual(t, row(before.String(), "realAWSCloudwatch")[5], row(after.String(), "realAWSCloudwatch")[5])
	assert.Contains(t, before.String(), "NAB cross-validated mean standard=")
}

func TestPerturbations(t *testing.T) {
	data := filepath.Join(repoNAB, "data")
	set, err := loadSet(data)
	require.NoError(t, err)
	require.NoError(t, set.label(filepath.Join(repoNAB, "labels", "combined_windows.json")))
	labelled := 0
	for _, s := range set {
		if s.labelled {
			labelled++
		}
	}
	for _, p := range perturbations {
		q := perturbed(set, p, 1)
		require.Len(t, q, labelled, p.name)
		k := 0
		for _, s := range set {
			if !s.labelled {
				continue
			}
			// Every window keeps rows, in order, inside the same time span.
			require.Len(t, q[k].spans, len(s.spans), "%s %s", p.name, s.rel)
			for j, sp := range q[k].spans {
				assert.LessOrEqual(t, sp[0], sp[1])
				assert.False(t, q[k].t[sp[0]].Before(s.t[s.spans[j][0]]), "%s %s", p.name, s.rel)
				assert.False(t, q[k].t[sp[1]].After(s.t[s.spans[j][1]]), "%s %s", p.name, s.rel)
			}
			k++
		}
		again, other := perturbed(set, p, 1), perturbed(set, p, 2)
		differs := false
		for i := range q {
			require.Equal(t, q[i].x, again[i].x, "%s is repeatable", p.name)
			differs = differs || !slices.Equal(q[i].x, other[i].x)
		}
		random := !deterministic[p.name]
		assert.Equal(t, random, differs, "%s: another seed draws other noise", p.name)
	}
	// The detector's scores are scale- and sign-free: rescaling or negating every file changes
	// no figure of the table, while the noisy perturbations do.
	rows := robustness(set, forecast.DefaultDetectorConfig(), 2)
	byName := map[string]perturbRow{}
	for _, r := range rows {
		byName[r.name] = r
	}
	none := byName["none"]
	for _, name := range []string{"rescale", "negate"} {
		assert.InDelta(t, none.score, byName[name].score, 0.05, name)
		assert.InDelta(t, none.fp, byName[name].fp, 1, name)
	}
	assert.NotEqual(t, none.score, byName["heavy-tail"].score)
	assert.Equal(t, 2, byName["heavy-tail"].seeds)
	assert.Equal(t, 1, byName["cycle"].seeds)
	var out bytes.Buffer
	printRobustness(rows, forecast.DefaultDetectorConfig(), &out)
	assert.Contains(t, out.String(), "NAB robustness mean standard=")
}

func TestSyntheticKinds(t *testing.T) {
	for _, k := range synthKinds {
		set := synthSet(k, 1)
		require.Len(t, set, synthFiles, k.name)
		again, other := synthSet(k, 1), synthSet(k, 2)
		for i, s := range set {
			require.Len(t, s.x, k.n, k.name)
			require.Equal(t, s.x, again[i].x, "%s is repeatable", k.name)
			assert.NotEqual(t, s.x, other[i].x, "%s: another seed draws another series", k.name)
			require.NotEmpty(t, s.spans, k.name)
			for j, sp := range s.spans {
				// Windows are NAB's: inside the file, in order, apart, after the probation.
				assert.LessOrEqual(t, sp[0], sp[1], k.name)
				assert.GreaterOrEqual(t, sp[0], 0, k.name)
				assert.Less(t, sp[1], k.n, k.name)
				if j > 0 {
					assert.Greater(t, sp[0], s.spans[j-1][1], "%s: windows apart", k.name)
				}
			}
			for _, x := range s.x {
				require.False(t, math.IsNaN(x) || math.IsInf(x, 0), k.name)
			}
			assert.Equal(t, k.step, s.t[1].Sub(s.t[0]), k.name)
		}
	}
	// The table: one row per kind, each scored on its windows, and a summary line.
	rows := synthetic(forecast.DefaultDetectorConfig(), 1)
	require.Len(t, rows, len(synthKinds))
	for _, r := range rows {
		assert.Positive(t, r.windows, r.name)
		assert.LessOrEqual(t, r.detected, float64(r.windows), r.name)
	}
	var out bytes.Buffer
	printSynthetic(rows, forecast.DefaultDetectorConfig(), &out)
	assert.Contains(t, out.String(), "NAB synthetic mean standard=")
}
