package vigilbreaker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxEventLine bounds one line of the stream; a longer one ends the stream (counted).
const maxEventLine = 1 << 20

// transition is the wire form of one event of GET /v1/watch (README, "Wire contract").
type transition struct {
	Target  string     `json:"target"`
	Caller  string     `json:"caller"`
	From    string     `json:"from"`
	To      string     `json:"to"`
	At      time.Time  `json:"at"`
	Mode    string     `json:"mode"`
	Reason  string     `json:"reason"`
	Class   string     `json:"class"`
	Counts  counts     `json:"counts"`
	RetryAt *time.Time `json:"retry_at"`
}

// counts are the fields of a verdict's counts the client reads.
type counts struct {
	SlowThresholdSecs float64 `json:"slow_threshold_seconds"`
	// Probe is the state of Vigil's active probe of the target ("passing", "failing"), when
	// one was recorded lately.
	Probe string `json:"probe"`
}

// status is the wire form of GET /v1/breakers/{target}?peek=true&caller=..., as far as the
// client reads it: the fleet-wide status, and this caller's own view in caller_view.
type status struct {
	statusFields
	CallerView *statusFields `json:"caller_view"`
}

type statusFields struct {
	Target       string     `json:"target"`
	Known        bool       `json:"known"`
	MachineState string     `json:"machine_state"`
	Mode         string     `json:"mode"`
	RetryAt      *time.Time `json:"retry_at"`
	Counts       counts     `json:"counts"`
	Transitions  []struct {
		At time.Time `json:"at"`
	} `json:"transitions"`
}

// answeringReasons are the reasons of a half-open that Vigil entered on evidence that the
// target answers again, rather than on its backoff ending.
var answeringReasons = map[string]bool{"successes_while_open": true, "probe_passed": true, "trial_passed": true}

func parseState(s string) (State, bool) {
	switch s {
	case "closed":
		return Closed, true
	case "half_open":
		return HalfOpen, true
	case "open":
		return Open, true
	}
	return Closed, false
}

// view turns a verdict's fields into a remoteView; ok is false when they cannot be read.
func (c *Client) view(state, modeName string, at time.Time, retry *time.Time, cn counts, prev remoteView) (remoteView, bool) {
	m, ok := parseMode(modeName)
	if !ok {
		return remoteView{}, false
	}
	v := remoteView{mode: m, state: prev.state, version: at.UnixNano()}
	if s, ok := parseState(state); ok {
		v.state = s
	} else if _, isMode := parseMode(state); !isMode {
		return remoteView{}, false
	}
	if retry != nil {
		v.retryAt = c.now() + int64(time.Until(*retry))
	}
	if cn.SlowThresholdSecs > 0 {
		v.slowNanos = int64(cn.SlowThresholdSecs * float64(time.Second))
	}
	v.probeDown = v.state == Open && cn.Probe == "failing"
	return v, true
}

// applyTransition applies one event to its target, if this client tracks it.
func (c *Client) applyTransition(data []byte) {
	var tr transition
	if err := json.Unmarshal(data, &tr); err != nil || tr.Target == "" {
		c.stats.badEvents.Add(1)
		return
	}
	c.stats.events.Add(1)
	if tr.Caller != "" && tr.Caller != c.cfg.Caller {
		return // another caller's own view
	}
	e := (*c.targets.Load())[tr.Target]
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	mine := tr.Caller != ""
	prev := e.fleet
	if mine {
		prev = e.mine
	}
	v, ok := c.view(tr.To, tr.Mode, tr.At, tr.RetryAt, tr.Counts, prev)
	if !ok {
		c.stats.badEvents.Add(1)
		return
	}
	v.answering = v.state == Closed || (v.state == HalfOpen && answeringReasons[tr.Reason])
	e.applySource(v, mine, c)
}

// watchLoop keeps one subscription up, reconnecting with a backoff, and drops Vigil's
// verdicts once it has been down for longer than MaxStale.
func (c *Client) watchLoop(ctx context.Context) {
	defer c.wg.Done()
	backoff := c.cfg.ReconnectMin
	lastUp := time.Now()
	for ctx.Err() == nil {
		up := c.stream(ctx)
		c.stats.connected.Store(false)
		if up {
			lastUp = time.Now()
			backoff = c.cfg.ReconnectMin
		}
		if time.Since(lastUp) > c.cfg.MaxStale && !c.stale.Load() {
			c.dropVerdicts()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.cfg.ReconnectMax)
		if time.Since(lastUp) > c.cfg.MaxStale && !c.stale.Load() {
			c.dropVerdicts()
		}
	}
}

// dropVerdicts forgets every verdict of Vigil: the local fast path decides alone.
func (c *Client) dropVerdicts() {
	c.stale.Store(true)
	for _, e := range *c.targets.Load() {
		e.mu.Lock()
		e.fleet, e.mine, e.remote = remoteView{}, remoteView{}, remoteView{}
		e.refreshGate(true)
		e.mu.Unlock()
	}
}

func (c *Client) newRequest(ctx context.Context, path string, query url.Values) (*http.Request, error) {
	u := strings.TrimRight(c.cfg.Endpoint, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	return req, nil
}

// stream runs one subscription until it ends; it reports whether it was established.
func (c *Client) stream(ctx context.Context) bool {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Until the headers arrive the request timeout applies, then the idle timeout.
	idle := time.AfterFunc(c.cfg.RequestTimeout, cancel)
	defer idle.Stop()
	// Only transitions: the stream also carries the status extension's component and incident
	// events, which the client does not read.
	q := url.Values{"events": {"transition"}}
	if c.cfg.Caller != "" {
		q.Set("caller", c.cfg.Caller)
	}
	req, err := c.newRequest(sctx, "/v1/watch", q)
	if err != nil {
		return false
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return false
	}
	idle.Reset(c.cfg.IdleTimeout)
	c.stats.reconnects.Add(1)
	c.stats.connected.Store(true)
	c.stale.Store(false)

	// Statuses are fetched once the stream is up, so no transition falls between the two;
	// version order settles which of a status and an event is newer.
	var fetchers sync.WaitGroup
	fetchers.Add(1)
	go func() {
		defer fetchers.Done()
		c.fetchLoop(sctx)
	}()
	defer fetchers.Wait()
	defer cancel()

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), maxEventLine)
	var event string
	var data []byte
	for sc.Scan() {
		idle.Reset(c.cfg.IdleTimeout)
		line := sc.Bytes()
		switch {
		case len(line) == 0: // end of an event
			if event == "transition" || (event == "" && len(data) > 0) {
				c.applyTransition(data)
			}
			event, data = "", data[:0]
		case line[0] == ':': // comment (keepalive)
		default:
			field, value, _ := strings.Cut(string(line), ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				event = value
			case "data":
				if len(data) > 0 {
					data = append(data, '\n')
				}
				data = append(data, value...)
			}
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		c.stats.badEvents.Add(1)
	}
	return true
}

// fetchLoop fetches the status of every tracked target once, then of each new target as it
// is first used, while the stream is up.
func (c *Client) fetchLoop(ctx context.Context) {
	for name := range *c.targets.Load() {
		if ctx.Err() != nil {
			return
		}
		c.fetch(ctx, name)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case name := <-c.newT:
			c.fetch(ctx, name)
		}
	}
}

// fetch reads one target's status without taking a half-open slot (?peek=true).
func (c *Client) fetch(ctx context.Context, name string) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	q := url.Values{"peek": {"true"}}
	if c.cfg.Caller != "" {
		q.Set("caller", c.cfg.Caller)
	}
	req, err := c.newRequest(rctx, "/v1/breakers/"+url.PathEscape(name), q)
	if err != nil {
		return
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return
	}
	var st status
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxEventLine)).Decode(&st); err != nil {
		c.stats.badEvents.Add(1)
		return
	}
	c.stats.snapshots.Add(1)
	if err := c.applyStatus(name, &st); err != nil {
		c.stats.badEvents.Add(1)
	}
}

func (c *Client) applyStatus(name string, st *status) error {
	e := (*c.targets.Load())[name]
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := c.applyFields(e, name, &st.statusFields, false); err != nil {
		return err
	}
	if st.CallerView != nil {
		return c.applyFields(e, name, st.CallerView, true)
	}
	return nil
}

func (c *Client) applyFields(e *entry, name string, st *statusFields, mine bool) error {
	if !st.Known {
		return nil
	}
	var at time.Time
	if n := len(st.Transitions); n > 0 {
		at = st.Transitions[n-1].At
	}
	prev := e.fleet
	if mine {
		prev = e.mine
	}
	v, ok := c.view(st.MachineState, st.Mode, at, st.RetryAt, st.Counts, prev)
	if !ok {
		return fmt.Errorf("status of %q: state %q, mode %q", name, st.MachineState, st.Mode)
	}
	if v.version == 0 {
		return nil // never transitioned: closed, nothing to apply
	}
	e.applySource(v, mine, c)
	return nil
}
