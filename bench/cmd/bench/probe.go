package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// pollEvery is how often a server is asked while waiting for an answer to change.
const pollEvery = 2 * time.Millisecond

// waitAnswer asks addr for name/qtype every pollEvery until ok accepts the answer, and returns
// when the accepted answer arrived.
func waitAnswer(ctx context.Context, addr, name string, qtype uint16, ok func(*dns.Msg) bool) (time.Time, error) {
	c := &dns.Client{Net: "udp", Timeout: 200 * time.Millisecond}
	m := new(dns.Msg).SetQuestion(dns.Fqdn(name), qtype)
	for {
		if resp, _, err := c.ExchangeContext(ctx, m, addr); err == nil && ok(resp) {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no expected answer from %s for %s %s: %w", addr, name, dns.TypeToString[qtype], ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// hasA accepts an answer holding an A record, of want if want is valid.
func hasA(want netip.Addr) func(*dns.Msg) bool {
	return func(m *dns.Msg) bool {
		for _, rr := range m.Answer {
			if a, ok := rr.(*dns.A); ok && (!want.IsValid() || a.A.String() == want.String()) {
				return true
			}
		}
		return false
	}
}

// hasCNAME accepts an answer whose CNAME points at target.
func hasCNAME(target string) func(*dns.Msg) bool {
	return func(m *dns.Msg) bool {
		for _, rr := range m.Answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Target, dns.Fqdn(target)) {
				return true
			}
		}
		return false
	}
}
