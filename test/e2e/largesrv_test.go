package e2e

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// largeSRV is the SRV part of TestLargeAnswers, once the 10,000 endpoints answer: the SRV records
// under _http._tcp (spec 2.5.2) and at the service's name (as the kubernetes plugin answers), by
// default, with udp_fit and from the kubernetes plugin (rule 16; README "Large answers").
func largeSRV(t *testing.T, plain, ref, fitted *coreDNS, ns, name string) {
	base := svcName(name, ns)
	names := []string{"_http._tcp." + base, base}
	// srvs returns the targets of r's SRV records and the owners of its A glue, failing on a
	// target that is no endpoint's name.
	srvs := func(t *testing.T, r *dns.Msg) (targets, glue map[string]bool) {
		targets, glue = map[string]bool{}, map[string]bool{}
		for _, rr := range r.Answer {
			if s, ok := rr.(*dns.SRV); ok {
				if !strings.HasSuffix(s.Target, "."+base) || s.Port != 80 {
					t.Errorf("%s: not an endpoint of %s port 80", rr, base)
				}
				targets[s.Target] = true
			}
		}
		for _, rr := range r.Extra {
			if rr.Header().Rrtype == dns.TypeA {
				glue[rr.Header().Name] = true
			}
		}
		return targets, glue
	}

	for _, c := range []*coreDNS{plain, ref} {
		t.Run(c.name+": SRV: TC over UDP, a full message with TC over TCP, NOERROR", func(t *testing.T) {
			for _, qname := range names {
				for _, size := range []uint16{0, 1232, 4096} {
					r, n, err := exchangeSizedType(c.addr, qname, dns.TypeSRV, size)
					if err != nil {
						t.Fatal(err)
					}
					limit := max(int(size), dns.MinMsgSize)
					targets, _ := srvs(t, r)
					if r.Rcode != dns.RcodeSuccess || !r.Truncated || n > limit || len(targets) == 0 {
						t.Errorf("%s buffer %d: rcode %s, TC %v, %d bytes, %d targets: want NOERROR, TC, at most %d bytes",
							qname, size, rcodeName(r.Rcode), r.Truncated, n, len(targets), limit)
					}
				}
				r := c.ask(t, "tcp", qname, dns.TypeSRV)
				targets, _ := srvs(t, r)
				if r.Rcode != dns.RcodeSuccess || !r.Truncated || len(targets) < 900 {
					t.Errorf("%s over TCP: rcode %s, TC %v, %d targets: want NOERROR, TC and a full message", qname, rcodeName(r.Rcode), r.Truncated, len(targets))
				}
				t.Logf("%s over TCP: %d SRV records, %d additional, TC %v", qname, len(r.Answer), len(r.Extra), r.Truncated)
			}
		})
	}

	// The records that fit differ by a few: the kubernetes plugin's come in its endpoints' order,
	// clusterdns's by target, and targets differ in length.
	t.Run("SRV: clusterdns and the kubernetes plugin: same rcode and TC, about as many records", func(t *testing.T) {
		for _, qname := range names {
			for _, size := range []uint16{0, 1232, 4096} {
				a, _, errA := exchangeSizedType(plain.addr, qname, dns.TypeSRV, size)
				b, _, errB := exchangeSizedType(ref.addr, qname, dns.TypeSRV, size)
				if errA != nil || errB != nil {
					t.Fatal(errA, errB)
				}
				if a.Rcode != b.Rcode || a.Truncated != b.Truncated || !near(len(a.Answer), len(b.Answer)) || len(a.Extra) != len(b.Extra) {
					t.Errorf("%s buffer %d: clusterdns %s TC %v %d+%d records, kubernetes plugin %s TC %v %d+%d records", qname, size,
						rcodeName(a.Rcode), a.Truncated, len(a.Answer), len(a.Extra), rcodeName(b.Rcode), b.Truncated, len(b.Answer), len(b.Extra))
				}
			}
			a, b := plain.ask(t, "tcp", qname, dns.TypeSRV), ref.ask(t, "tcp", qname, dns.TypeSRV)
			if a.Rcode != b.Rcode || a.Truncated != b.Truncated || !near(len(a.Answer), len(b.Answer)) {
				t.Errorf("%s over TCP: clusterdns %s TC %v %d records, kubernetes plugin %s TC %v %d records", qname,
					rcodeName(a.Rcode), a.Truncated, len(a.Answer), rcodeName(b.Rcode), b.Truncated, len(b.Answer))
			}
		}
	})

	t.Run("udp_fit: SRV windows reach every target, each with its glue and no other, no TC", func(t *testing.T) {
		for _, qname := range names {
			for _, size := range []uint16{0, 1232, 4096} {
				seen := map[string]bool{}
				queries := 0
				for ; len(seen) < largeEndpoints && queries < 4*largeEndpoints; queries++ {
					r, n, err := exchangeSizedType(fitted.addr, qname, dns.TypeSRV, size)
					if err != nil {
						t.Fatal(err)
					}
					limit := max(int(size), dns.MinMsgSize)
					if r.Rcode != dns.RcodeSuccess || r.Truncated || n > limit {
						t.Fatalf("%s buffer %d: rcode %s, TC %v, %d bytes: want NOERROR, no TC, at most %d", qname, size, rcodeName(r.Rcode), r.Truncated, n, limit)
					}
					targets, glue := srvs(t, r)
					if len(targets) == 0 || len(targets) != len(glue) {
						t.Fatalf("%s buffer %d: %d targets, %d glue: want glue for each target", qname, size, len(targets), len(glue))
					}
					for target := range targets {
						if !glue[target] {
							t.Fatalf("%s buffer %d: target %s without its glue", qname, size, target)
						}
						seen[target] = true
					}
				}
				if len(seen) < largeEndpoints {
					t.Fatalf("%s buffer %d: %d of %d targets after %d queries", qname, size, len(seen), largeEndpoints, queries)
				}
				t.Logf("%s buffer %d: every target served within %d queries", qname, size, queries)
			}
		}
	})
}

// near tells whether two record counts differ by at most one or a tenth.
func near(a, b int) bool {
	d := max(1, max(a, b)/10)
	return a-b <= d && b-a <= d
}
