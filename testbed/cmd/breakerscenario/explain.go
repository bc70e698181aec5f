package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

type explainStatus struct {
	State    string `json:"state"`
	Baseline struct {
		P50 float64 `json:"latency_p50_seconds"`
		P95 float64 `json:"latency_p95_seconds"`
	} `json:"baseline"`
	Thresholds struct {
		Slow     float64 `json:"slow_call_seconds"`
		SlowRate float64 `json:"slow_rate"`
	} `json:"thresholds"`
	Transitions []struct {
		From   string    `json:"from"`
		To     string    `json:"to"`
		At     time.Time `json:"at"`
		Reason string    `json:"reason"`
		Class  string    `json:"class"`
	} `json:"transitions"`
	CallerView *explainStatus `json:"caller_view"`
}

// explain prints the transitions Vigil remembers for each instrumented caller's target: the
// fleet-wide breaker and the caller's own view, at seconds since the run's start.
func explain(w io.Writer, api string, callers []*caller) {
	fmt.Fprintln(w, "\nVigil's transitions (s since start):")
	for _, c := range callers {
		if c.tracing == nil {
			continue
		}
		u := api + "/v1/breakers/" + url.PathEscape(c.target) + "?peek=true&caller=" + url.QueryEscape("frontend-"+c.target)
		resp, err := http.Get(u)
		if err != nil {
			fmt.Fprintf(w, "%s: %v\n", c.target, err)
			continue
		}
		var st explainStatus
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st)
		resp.Body.Close()
		if err != nil {
			fmt.Fprintf(w, "%s: %v\n", c.target, err)
			continue
		}
		line := func(view string, s *explainStatus) {
			t0 := c.phase.t0()
			fmt.Fprintf(w, "  %-6s (p50 %.1f ms, p95 %.1f ms, slow above %.1f ms, slow rate threshold %.3f)", view,
				s.Baseline.P50*1000, s.Baseline.P95*1000, s.Thresholds.Slow*1000, s.Thresholds.SlowRate)
			for _, tr := range s.Transitions {
				fmt.Fprintf(w, " %.1f %s→%s (%s %s);", tr.At.Sub(t0).Seconds(), tr.From, tr.To, tr.Reason, tr.Class)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s):\n", c.target, c.kind)
		line("fleet", &st)
		if st.CallerView != nil {
			line("caller", st.CallerView)
		}
	}
}
