package controlplane

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// pollInterval is how often readiness conditions are re-checked.
const pollInterval = 200 * time.Millisecond

// waitFor calls check until it returns nil, p exits, or ctx ends; the error
// then names what was awaited and the last reason check gave.
func waitFor(ctx context.Context, p *process, what string, check func(context.Context) error) error {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		last := check(ctx)
		if last == nil {
			return nil
		}
		if err := p.exitErr(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last: %v)", what, ctx.Err(), last)
		case <-ticker.C:
		}
	}
}

// httpOK returns a check that GETs url, with bearer as the token if not
// empty, and wants 200.
func httpOK(client *http.Client, url, bearer string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("build request for %s: %w", url, err)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
		}
		return nil
	}
}
