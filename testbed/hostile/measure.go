package hostile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Snapshot is what one look at the collector found.
type Snapshot struct {
	Phase      string
	RSS        int64         // resident bytes
	PageBytes  int64         // size of the Prometheus page (-1: no page)
	PageLines  int           // series lines on it
	ScrapeTime time.Duration // time to fetch it
	// Refused is the series refused by the guard (otelcol_guard_series_refused).
	Refused float64
	// Evicted sums every otelcol_*evicted* counter of the collector's own telemetry.
	Evicted float64
	// Pending is the healing actions waiting (otelcol_healing_pending).
	Pending float64
	// RawControl counts the control (NUL, ESC, BEL, DEL) and bidi-override bytes found raw on the page.
	RawControl int
	// Page is the page text when the caller asked to keep it.
	Page string
	// Err is why the page or the telemetry could not be read (a collector that fell over).
	Err string
}

// Take measures the collector: RSS, then the page (timed), then its own telemetry.
func Take(phase string, pid int, pageURL, telemetryURL string, keepPage bool) (Snapshot, error) {
	s := Snapshot{Phase: phase, PageBytes: -1}
	var err error
	if s.RSS, err = RSS(pid); err != nil {
		return s, err
	}
	if pageURL != "" {
		start := time.Now()
		body, err := fetch(pageURL, 120*time.Second)
		s.ScrapeTime = time.Since(start)
		if err != nil {
			s.Err = fmt.Sprintf("page: %v", err)
			return s, nil
		}
		s.PageBytes = int64(len(body))
		s.PageLines = bytes.Count(body, []byte("\n")) - bytes.Count(body, []byte("\n#"))
		s.RawControl = rawControl(body)
		if keepPage {
			s.Page = string(body)
		}
	}
	body, err := fetch(telemetryURL, 10*time.Second)
	if err != nil {
		s.Err = fmt.Sprintf("own telemetry: %v", err)
		return s, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, v, ok := sample(line)
		if !ok {
			continue
		}
		switch {
		case name == "otelcol_guard_series_refused" || name == "otelcol_guard_series_refused_total":
			s.Refused += v
		case strings.Contains(name, "evicted") && strings.HasPrefix(name, "otelcol_"):
			s.Evicted += v
		case name == "otelcol_healing_pending":
			s.Pending += v
		}
	}
	return s, nil
}

// sample splits a Prometheus text line into its metric name and value.
func sample(line string) (string, float64, bool) {
	name := line
	if i := strings.IndexAny(line, "{ "); i >= 0 {
		name = line[:i]
	}
	f := strings.Fields(line[strings.LastIndex(line, "}")+1:])
	if len(f) == 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return name, v, err == nil
}

func rawControl(page []byte) int {
	n := 0
	for _, b := range page {
		if (b < 0x20 && b != '\n') || b == 0x7f {
			n++
		}
	}
	return n + bytes.Count(page, []byte("\u202E"))
}

func fetch(url string, timeout time.Duration) ([]byte, error) {
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// MiB formats bytes as MiB.
func MiB(b int64) string {
	if b < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(b)/(1<<20))
}

// Table writes snapshots side by side, one row each.
func Table(w io.Writer, config string, rows []Snapshot) {
	fmt.Fprintf(w, "%-8s %-28s %9s %10s %9s %9s %9s %8s %8s %5s\n",
		"config", "phase", "RSS MiB", "page MiB", "lines", "scrape s", "refused", "evicted", "pending", "ctrl")
	for _, r := range rows {
		scrape := "-"
		if r.PageBytes >= 0 {
			scrape = fmt.Sprintf("%.3f", r.ScrapeTime.Seconds())
		}
		fmt.Fprintf(w, "%-8s %-28s %9s %10s %9d %9s %9.0f %8.0f %8.0f %5d\n",
			config, r.Phase, MiB(r.RSS), MiB(r.PageBytes), r.PageLines, scrape, r.Refused, r.Evicted, r.Pending, r.RawControl)
		if r.Err != "" {
			fmt.Fprintf(w, "%-8s %-28s failed after %.1f s: %s\n", config, "", r.ScrapeTime.Seconds(), r.Err)
		}
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}
