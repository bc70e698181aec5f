// Command nabrun streams Numenta Anomaly Benchmark data through the predict processor's anomaly
// detector (package forecast, the code the processor runs) and writes NAB results files.
//
//	go run ./testbed/cmd/nabrun --data DIR --out DIR [--threshold X]
//
// Every DIR/<category>/<file>.csv (header timestamp,value) is read one row at a time; each row is
// scored before the next is read, so the detector never looks ahead, and it is never told the
// file's minimum or maximum. OUT/<category>/<file>.csv gets timestamp,value,anomaly_score with the
// timestamp and value strings copied exactly. One parameter set serves every file; --threshold
// sets the alert level the detector ships with (its default is the processor's).
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

// run parses args and processes every file; it reports a one-line summary on w.
func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("nabrun", flag.ContinueOnError)
	data := fs.String("data", "", "NAB data folder: <category>/<file>.csv with header timestamp,value")
	out := fs.String("out", "", "results folder to write <category>/<file>.csv into")
	threshold := fs.Float64("threshold", forecast.DefaultDetectorConfig().AlertLevel, "alert level in (0,1]: scores at or above it are alerts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *out == "" {
		return errors.New("both --data and --out are required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if !(*threshold > 0 && *threshold <= 1) {
		return fmt.Errorf("--threshold %v: want a value in (0,1]", *threshold)
	}
	cfg := forecast.DefaultDetectorConfig()
	cfg.AlertLevel = *threshold

	files, err := dataFiles(*data)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no <category>/<file>.csv files", *data)
	}
	start := time.Now()
	rows, alerts := 0, 0
	for _, rel := range files {
		n, a, err := scoreFile(filepath.Join(*data, rel), filepath.Join(*out, rel), cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		rows += n
		alerts += a
	}
	_, err = fmt.Fprintf(w, "nabrun: %d files, %d rows, %d alerts at threshold %g, %s\n",
		len(files), rows, alerts, *threshold, time.Since(start).Round(time.Millisecond))
	return err
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

// scoreFile streams one data file through a fresh detector and writes its results file. It
// returns the number of rows and of alerts (score >= the alert level).
func scoreFile(src, dst string, cfg forecast.DetectorConfig) (rows, alerts int, err error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, 0, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, 0, err
	}
	f, err := os.Create(dst)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriter(f)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return 0, 0, err
		}
		return 0, 0, errors.New("empty file")
	}
	if h := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff")); h != "timestamp,value" {
		return 0, 0, fmt.Errorf("header %q: want timestamp,value", h)
	}
	if _, err := bw.WriteString("timestamp,value,anomaly_score\n"); err != nil {
		return 0, 0, err
	}
	det := forecast.NewDetector(cfg)
	line := 1
	buf := make([]byte, 0, 32)
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		ts, val, ok := strings.Cut(text, ",")
		if !ok {
			return rows, alerts, fmt.Errorf("line %d: want timestamp,value", line)
		}
		t, err := parseTime(ts)
		if err != nil {
			return rows, alerts, fmt.Errorf("line %d: %w", line, err)
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return rows, alerts, fmt.Errorf("line %d: value %q: %w", line, val, err)
		}
		score := det.UpdateAt(t, x)
		if score >= cfg.AlertLevel {
			alerts++
		}
		rows++
		buf = strconv.AppendFloat(buf[:0], score, 'f', -1, 64)
		bw.WriteString(ts)
		bw.WriteByte(',')
		bw.WriteString(val)
		bw.WriteByte(',')
		bw.Write(buf)
		if err := bw.WriteByte('\n'); err != nil {
			return rows, alerts, err
		}
	}
	if err := sc.Err(); err != nil {
		return rows, alerts, err
	}
	return rows, alerts, bw.Flush()
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
