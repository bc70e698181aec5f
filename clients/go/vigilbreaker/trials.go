package vigilbreaker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// reportTrial queues a trial's result for Vigil, so its fleet-wide breaker (and this caller's
// own view) learns of the recovery from the call itself rather than from its span seconds
// later. A full queue drops it (counted): a trial goes at most once per OpenInitial.
func (c *Client) reportTrial(target string, ok bool) {
	if c.cfg.Endpoint == "" || c.stale.Load() {
		return
	}
	select {
	case c.trials <- trialReport{target: target, ok: ok}:
	default:
		c.stats.trialsUnreported.Add(1)
	}
}

// reportLoop posts queued trial results, one at a time.
func (c *Client) reportLoop(ctx context.Context) {
	defer c.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case tr := <-c.trials:
			if c.postTrial(ctx, tr) == nil {
				c.stats.trialsReported.Add(1)
			} else {
				c.stats.trialsUnreported.Add(1)
			}
		}
	}
}

func (c *Client) postTrial(ctx context.Context, tr trialReport) error {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	body := fmt.Sprintf(`{"ok":%t}`, tr.ok)
	if c.cfg.Caller != "" {
		body = fmt.Sprintf(`{"ok":%t,"caller":%q}`, tr.ok, c.cfg.Caller)
	}
	u := strings.TrimRight(c.cfg.Endpoint, "/") + "/v1/breakers/" + url.PathEscape(tr.target) + "/trials"
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("trial report: %s", resp.Status)
	}
	return nil
}
