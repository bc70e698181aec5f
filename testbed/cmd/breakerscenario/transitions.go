package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// vigilOpen is one opening of a Vigil breaker of a caller's target, fleet-wide or in the
// caller's own view.
type vigilOpen struct {
	at     time.Time
	caller bool
	class  string // error, timeout, slow, probe, trial
}

// watchOpens records, for one caller, every opening of its target's fleet-wide breaker and of
// its own view, from a /v1/watch stream (transitions only: the status extension's stream also
// carries component and incident events), until ctx ends.
func (c *caller) watchOpens(ctx context.Context, api, callerName string, ready *sync.WaitGroup) {
	q := url.Values{"target": {c.target}, "caller": {callerName}, "events": {"transition"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/v1/watch?"+q.Encode(), nil)
	if err != nil {
		ready.Done()
		return
	}
	resp, err := http.DefaultClient.Do(req)
	ready.Done()
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var tr struct {
			To     string    `json:"to"`
			From   string    `json:"from"`
			At     time.Time `json:"at"`
			Caller string    `json:"caller"`
			Class  string    `json:"class"`
		}
		if json.Unmarshal([]byte(data), &tr) != nil || tr.To != "open" || tr.From != "closed" {
			continue
		}
		c.mu.Lock()
		c.vigilOpens = append(c.vigilOpens, vigilOpen{at: tr.At, caller: tr.Caller != "", class: tr.Class})
		c.mu.Unlock()
	}
}
