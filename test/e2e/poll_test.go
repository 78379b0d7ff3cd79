package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Bounds on waiting for a change to show in answers.
const (
	propagationDeadline = 30 * time.Second
	pollEvery           = 5 * time.Millisecond
)

// awaitAnswer asks qname until the answer matches e over both transports (UDP first, then
// TCP), or the deadline passes; it returns how long after start the match was first seen.
// start is when the API write that should cause the change began.
func (c *coreDNS) awaitAnswer(ctx context.Context, start time.Time, qname string, qtype uint16, e expect, deadline time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithDeadline(ctx, start.Add(deadline))
	defer cancel()
	var last string
	for {
		r, err := c.exchange("udp", qname, qtype)
		if err == nil {
			if bad := e.verify(r); len(bad) == 0 {
				seen := time.Since(start)
				// The same data must be served over TCP.
				rt, err := c.exchange("tcp", qname, qtype)
				if err != nil {
					return seen, err
				}
				if bad := e.verify(rt); len(bad) != 0 {
					return seen, fmt.Errorf("%s %s matched over UDP but not over TCP: %s\n%s", qname, dns.TypeToString[qtype], strings.Join(bad, "; "), rt)
				}
				return seen, nil
			} else {
				last = strings.Join(bad, "; ") + "\n" + r.String()
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("%s %s did not match within %s: last: %s", qname, dns.TypeToString[qtype], deadline, last)
		case <-time.After(pollEvery):
		}
	}
}

// propagation collects API-write-to-answer times by kind of change.
type propagation struct {
	mu      sync.Mutex
	samples []propSample
}

type propSample struct {
	kind string
	d    time.Duration
}

// propagationTimes is every time measured in the run, summarised at the end of TestMain.
var propagationTimes propagation

func (p *propagation) add(t testing.TB, kind string, d time.Duration) {
	t.Helper()
	t.Logf("propagation %-40s %v", kind, d.Round(time.Millisecond))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.samples = append(p.samples, propSample{kind, d})
}

// summary is "n=... p50=... p90=... max=..." over the samples whose kind has prefix.
func (p *propagation) summary(prefix string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ds []time.Duration
	for _, s := range p.samples {
		if strings.HasPrefix(s.kind, prefix) {
			ds = append(ds, s.d)
		}
	}
	return durationSummary(ds)
}

// byKind is one summary line per kind of change.
func (p *propagation) byKind(prefix string) []string {
	p.mu.Lock()
	kinds := map[string][]time.Duration{}
	for _, s := range p.samples {
		if strings.HasPrefix(s.kind, prefix) {
			kinds[s.kind] = append(kinds[s.kind], s.d)
		}
	}
	p.mu.Unlock()
	var out []string
	for k, ds := range kinds {
		out = append(out, fmt.Sprintf("%-40s %s", k, durationSummary(ds)))
	}
	slices.Sort(out)
	return out
}

func durationSummary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n=0"
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	q := func(f float64) time.Duration { return ds[int(f*float64(len(ds)-1)+0.5)] }
	return fmt.Sprintf("n=%d p50=%v p90=%v max=%v", len(ds),
		q(0.5).Round(time.Millisecond), q(0.9).Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
}
