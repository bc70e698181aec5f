// Command nabrun streams Numenta Anomaly Benchmark data through the predict processor's anomaly
// detector (package forecast, the code the processor runs) and writes NAB results files.
//
//	go run ./testbed/cmd/nabrun --data DIR --out DIR [--threshold X] [--cv [--labels FILE] [-v]] [--perturb] [--synthetic] [--seeds N]
//
// Every DIR/<category>/<file>.csv (header timestamp,value) is read one row at a time; each row is
// scored before the next is read, so the detector never looks ahead, and it is never told the
// file's minimum or maximum. OUT/<category>/<file>.csv gets timestamp,value,anomaly_score with the
// timestamp and value strings copied exactly, from the shipped parameter set (one for every file);
// --threshold sets the alert level the detector ships with (its default is the processor's).
//
// With --cv it then runs leave-one-category-out cross-validation: for each labelled category, the
// setting of the detector's tunable values (tunables.go) and the threshold with the best NAB
// standard score on the other categories are chosen, and scored on the held-out category at that
// threshold. It prints each held-out category's scores, their mean and the in-sample scores of the
// shipped setting; -v also prints every setting's scores. The scoring follows testbed/nab/score.py
// (score.go; a test checks the two agree). --perturb scores the shipped setting on perturbed copies
// of the labelled files (perturb.go), --synthetic on generated long series of real-world kinds the
// data lacks (synth.go); both are proxies for series the detector was not designed on.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-collector/vigil/processor/predictprocessor/forecast"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "nabrun:", err)
		os.Exit(2)
	}
}

// run parses args, scores every file with the shipped parameters into --out and, with --cv,
// prints the leave-one-category-out cross-validation; it reports on w.
func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("nabrun", flag.ContinueOnError)
	data := fs.String("data", "", "NAB data folder: <category>/<file>.csv with header timestamp,value")
	out := fs.String("out", "", "results folder to write <category>/<file>.csv into")
	threshold := fs.Float64("threshold", forecast.DefaultDetectorConfig().AlertLevel, "alert level in (0,1]: scores at or above it are alerts")
	labels := fs.String("labels", "", "NAB label windows (default DATA/../labels/combined_windows.json); needed by --cv")
	cv := fs.Bool("cv", false, "also run leave-one-category-out cross-validation over the tunable values and print it")
	verbose := fs.Bool("v", false, "with --cv, also print every candidate's scores")
	var sets setFlag
	fs.Var(&sets, "set", "Field=value: override a forecast.DetectorConfig field of the shipped setting (repeatable; for trying values)")
	seeds := fs.Int("seeds", 5, "with --perturb, how many seeds of noise each noisy perturbation is averaged over")
	perturb := fs.Bool("perturb", false, "also score the shipped setting on perturbed copies of the labelled files (perturb.go) and print the table")
	synth := fs.Bool("synthetic", false, "also score the shipped setting on generated series of real-world kinds testbed/nab lacks (synth.go) and print the table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *out == "" {
		return errors.New("both --data and --out are required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *seeds < 1 {
		return fmt.Errorf("--seeds %d: want at least 1", *seeds)
	}
	if !(*threshold > 0 && *threshold <= 1) {
		return fmt.Errorf("--threshold %v: want a value in (0,1]", *threshold)
	}
	cfg := forecast.DefaultDetectorConfig()
	cfg.AlertLevel = *threshold
	if err := sets.apply(&cfg); err != nil {
		return err
	}

	start := time.Now()
	set, err := loadSet(*data)
	if err != nil {
		return err
	}
	rows, alerts := 0, 0
	for _, s := range set {
		scores := s.run(cfg)
		if err := s.write(filepath.Join(*out, s.rel), scores); err != nil {
			return fmt.Errorf("%s: %w", s.rel, err)
		}
		rows += len(scores)
		for _, v := range scores {
			if v >= cfg.AlertLevel {
				alerts++
			}
		}
	}
	if _, err := fmt.Fprintf(w, "nabrun: %d files, %d rows, %d alerts at threshold %g, %s\n",
		len(set), rows, alerts, *threshold, time.Since(start).Round(time.Millisecond)); err != nil {
		return err
	}
	if *cv || *perturb {
		if *labels == "" {
			*labels = filepath.Join(filepath.Dir(filepath.Clean(*data)), "labels", "combined_windows.json")
		}
		if err := set.label(*labels); err != nil {
			return err
		}
	}
	if *cv {
		if err := crossValidate(set, cfg, candidates(cfg, tunables), *verbose, w); err != nil {
			return err
		}
	}
	if *perturb {
		printRobustness(robustness(set, cfg, *seeds), cfg, w)
	}
	if *synth {
		printSynthetic(synthetic(cfg, *seeds), cfg, w)
	}
	return nil
}

// series is one data file held in memory.
type series struct {
	rel, category string
	stamps, vals  []string // copied to the results file exactly
	t             []time.Time
	x             []float64
	labelled      bool // the file is in the labels (a file with no window counts its false positives)
	spans         [][2]int
	weights       []rowWeight
}

type dataSet []*series

// loadSet reads every DIR/<category>/<file>.csv, sorted by path.
func loadSet(dir string) (dataSet, error) {
	files, err := dataFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no <category>/<file>.csv files", dir)
	}
	set := make(dataSet, 0, len(files))
	for _, rel := range files {
		s, err := readSeries(filepath.Join(dir, rel))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		s.rel, s.category = filepath.ToSlash(rel), filepath.Dir(rel)
		set = append(set, s)
	}
	return set, nil
}

// label attaches the label windows of path to the set's files, as row spans and scored-row weights.
func (set dataSet) label(path string) error {
	labels, err := readLabels(path)
	if err != nil {
		return err
	}
	window := 0
	for _, s := range set {
		windows, ok := labels[s.rel]
		if !ok {
			continue
		}
		if s.spans, err = spansOf(s.t, windows); err != nil {
			return fmt.Errorf("%s: %w", s.rel, err)
		}
		s.labelled = true
		s.weights = weights(len(s.x), s.spans, window)
		window += len(s.spans)
	}
	return nil
}

// run streams the series through a fresh detector, one point at a time, and returns the scores.
func (s *series) run(cfg forecast.DetectorConfig) []float64 {
	det := forecast.NewDetector(cfg)
	scores := make([]float64, len(s.x))
	for i, x := range s.x {
		scores[i] = det.UpdateAt(s.t[i], x)
	}
	return scores
}

// write writes the results file: timestamp,value,anomaly_score with the strings copied exactly.
func (s *series) write(dst string, scores []float64) (err error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriter(f)
	bw.WriteString("timestamp,value,anomaly_score\n")
	buf := make([]byte, 0, 32)
	for i, v := range scores {
		buf = strconv.AppendFloat(buf[:0], v, 'f', -1, 64)
		bw.WriteString(s.stamps[i])
		bw.WriteByte(',')
		bw.WriteString(s.vals[i])
		bw.WriteByte(',')
		bw.Write(buf)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// dataFiles lists <category>/<file>.csv under dir, sorted.
func dataFiles(dir string) ([]string, error) {
	cats, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, c := range cats {
		if !c.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(dir, c.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".csv") {
				files = append(files, filepath.Join(c.Name(), e.Name()))
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

// readSeries reads one data file (header timestamp,value).
func readSeries(src string) (*series, error) {
	in, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("empty file")
	}
	if h := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff")); h != "timestamp,value" {
		return nil, fmt.Errorf("header %q: want timestamp,value", h)
	}
	s := &series{}
	line := 1
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		ts, val, ok := strings.Cut(text, ",")
		if !ok {
			return nil, fmt.Errorf("line %d: want timestamp,value", line)
		}
		t, err := parseTime(ts)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: value %q: %w", line, val, err)
		}
		s.stamps, s.vals = append(s.stamps, ts), append(s.vals, val)
		s.t, s.x = append(s.t, t), append(s.x, x)
	}
	return s, sc.Err()
}

// parseTime reads NAB's timestamp layout, with or without fractional seconds.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q: want YYYY-MM-DD HH:MM:SS", s)
}
