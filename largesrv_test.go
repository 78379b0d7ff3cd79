package clusterdns

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// The SRV names of the large headless service: under _port._proto (spec 2.5.2) and at the
// service's name (as the kubernetes plugin answers), and through an ExternalName's CNAME.
var bigSRVNames = []string{"_http._tcp." + bigName, bigName, "alias.default.svc.cluster.local."}

func srvQuery(name string, size uint16) *dns.Msg {
	m := bufferQuery(name, size)
	m.Question[0].Qtype = dns.TypeSRV
	return m
}

// srvAndGlue checks that every SRV record of r targets an endpoint of the service and returns the
// targets, and the owners of the A glue; it fails on glue of any other type.
func srvAndGlue(t *testing.T, r *dns.Msg) (targets, glue map[string]bool) {
	t.Helper()
	targets, glue = map[string]bool{}, map[string]bool{}
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			if !strings.HasSuffix(s.Target, "."+bigName) || s.Port != 80 {
				t.Fatalf("%v: not an endpoint of %s port 80", s, bigName)
			}
			targets[s.Target] = true
		}
	}
	for _, rr := range r.Extra {
		switch rr.Header().Rrtype {
		case dns.TypeA:
			glue[rr.Header().Name] = true
		case dns.TypeOPT:
		default:
			t.Fatalf("additional %v: want A glue only", rr)
		}
	}
	return targets, glue
}

func TestLargeSRVIsTruncatedOverUDP(t *testing.T) {
	cd := newPlugin(t, "", bigHeadless(10000))
	for _, name := range bigSRVNames {
		for _, tc := range []struct {
			name  string
			edns  uint16
			limit int
		}{
			{"UDP without EDNS: TC within 512 bytes", 0, 512},
			{"UDP with EDNS 1232: TC within 1232 bytes", 1232, 1232},
			{"UDP with EDNS 4096: TC within 4096 bytes", 4096, 4096},
			{"TCP: a full message, TC, as 10,000 SRV records exceed 65,535 bytes", 0, dns.MaxMsgSize},
		} {
			t.Run(name+" "+tc.name, func(t *testing.T) {
				tcp := tc.limit == dns.MaxMsgSize
				r, size := serveScrubbed(t, cd, srvQuery(name, tc.edns), tcp)
				if r.Rcode != dns.RcodeSuccess || !r.Truncated {
					t.Fatalf("rcode %s, TC %v: want NOERROR with TC", dns.RcodeToString[r.Rcode], r.Truncated)
				}
				if size > tc.limit {
					t.Errorf("%d bytes on the wire, more than %d", size, tc.limit)
				}
				// The cut is where the next record (about 60 bytes) would not fit: no needless cut.
				if size <= tc.limit-2*64 {
					t.Errorf("%d bytes with TC: room was left in %d", size, tc.limit)
				}
				targets, glue := srvAndGlue(t, r)
				if len(targets) == 0 || len(glue) > 0 {
					t.Errorf("%d SRV records and %d glue: want SRV records and no glue with TC (RFC 2181 9)", len(targets), len(glue))
				}
			})
		}
	}
}

func TestSRVThatFitsTCPIsWholeWithGlue(t *testing.T) {
	const n = 500 // 500 SRV records and their glue fit in one TCP message, in no UDP buffer
	cd := newPlugin(t, "", bigHeadless(n))
	for _, name := range bigSRVNames {
		t.Run(name, func(t *testing.T) {
			r, size := serveScrubbed(t, cd, srvQuery(name, 0), true)
			if r.Rcode != dns.RcodeSuccess || r.Truncated || size > dns.MaxMsgSize {
				t.Fatalf("rcode %s, TC %v, %d bytes: want NOERROR without TC", dns.RcodeToString[r.Rcode], r.Truncated, size)
			}
			targets, glue := srvAndGlue(t, r)
			if len(targets) != n || len(glue) != n {
				t.Errorf("%d targets, %d glue: want every one of %d with its glue", len(targets), len(glue), n)
			}
			r, _ = serveScrubbed(t, cd, srvQuery(name, 1232), false)
			if !r.Truncated {
				t.Errorf("UDP with EDNS 1232: no TC for %d SRV records", n)
			}
		})
	}
}

func TestUDPFitRotatesWholeSRVRecordsWithTheirGlue(t *testing.T) {
	cd := newPlugin(t, "udp_fit", bigHeadless(bigEndpoints))
	for _, name := range append(bigSRVNames, "_HTTP._tcp.Big.default.svc.cluster.local.") {
		for _, tc := range []struct {
			name  string
			edns  uint16
			limit int
		}{
			{"UDP without EDNS", 0, 512},
			{"UDP with EDNS 1232", 1232, 1232},
			{"UDP with EDNS 4096", 4096, 4096},
		} {
			t.Run(name+" "+tc.name, func(t *testing.T) {
				seen := map[string]bool{}
				for q := 0; q < 2*bigEndpoints && len(seen) < bigEndpoints; q++ {
					r, size := serveScrubbed(t, cd, srvQuery(name, tc.edns), false)
					if r.Rcode != dns.RcodeSuccess || r.Truncated {
						t.Fatalf("rcode %s, TC %v: want NOERROR without TC", dns.RcodeToString[r.Rcode], r.Truncated)
					}
					if size > tc.limit {
						t.Fatalf("%d bytes on the wire, more than %d", size, tc.limit)
					}
					if strings.HasPrefix(name, "alias.") {
						if c, ok := r.Answer[0].(*dns.CNAME); !ok || c.Target != bigName {
							t.Fatalf("first record %v, want the CNAME to %s", r.Answer[0], bigName)
						}
					}
					if !strings.EqualFold(r.Answer[len(r.Answer)-1].Header().Name, name) && !strings.HasPrefix(name, "alias.") {
						t.Fatalf("owner %s, want %s", r.Answer[len(r.Answer)-1].Header().Name, name)
					}
					targets, glue := srvAndGlue(t, r)
					if len(targets) == 0 {
						t.Fatal("no SRV record in the answer")
					}
					for target := range targets {
						if !glue[target] {
							t.Fatalf("target %s without its glue", target)
						}
						seen[target] = true
					}
					for owner := range glue {
						if !targets[owner] {
							t.Fatalf("glue for %s, which no SRV record in the answer targets", owner)
						}
					}
				}
				if len(seen) != bigEndpoints {
					t.Errorf("%d targets served over repeated queries, want all %d", len(seen), bigEndpoints)
				}
			})
		}
	}
	t.Run("TCP is not thinned", func(t *testing.T) {
		r, _ := serveScrubbed(t, cd, srvQuery(bigName, 0), true)
		if !r.Truncated {
			t.Errorf("TC %v: 3,000 SRV records do not fit a TCP message", r.Truncated)
		}
	})
}

// TestSRVThatFitsWithoutAllItsGlueHasNoTC: when every SRV record fits but not all the glue, the
// answer is whole and the glue that fits goes with it, without TC (RFC 2181 9: TC only when the
// answer itself is cut; CoreDNS's ScrubWriter sets it for any record left out).
func TestSRVThatFitsWithoutAllItsGlueHasNoTC(t *testing.T) {
	const n = 18 // 18 SRV records of 60 bytes fit in 1,232, their 18 A records of 16 bytes no more
	cd := newPlugin(t, "", bigHeadless(n))
	r, size := serveScrubbed(t, cd, srvQuery("_http._tcp."+bigName, 1232), false)
	if r.Rcode != dns.RcodeSuccess || r.Truncated || size > 1232 {
		t.Fatalf("rcode %s, TC %v, %d bytes: want NOERROR without TC within 1232", dns.RcodeToString[r.Rcode], r.Truncated, size)
	}
	targets, glue := srvAndGlue(t, r)
	if len(targets) != n || len(glue) == 0 || len(glue) == n {
		t.Errorf("%d targets, %d glue: want all %d targets and the glue that fits", len(targets), len(glue), n)
	}
	for owner := range glue {
		if !targets[owner] {
			t.Errorf("glue for %s, no target", owner)
		}
	}
}

// dualStackHeadless is a headless service "ds" with n endpoints named h-<i>, each with an IPv4
// address in one slice and an IPv6 address in another: every SRV target has an A and an AAAA.
func dualStackHeadless(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata: {name: ds, namespace: default}\nspec: {clusterIP: None, ports: [{name: http, port: 80}]}\n")
	for _, family := range []string{"IPv4", "IPv6"} {
		fmt.Fprintf(&b, "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ds-%s, namespace: default, labels: {kubernetes.io/service-name: ds}}\naddressType: %s\nports: [{name: http, port: 80}]\nendpoints:\n", strings.ToLower(family), family)
		for i := range n {
			addr := fmt.Sprintf("10.200.%d.%d", i/256, i%256)
			if family == "IPv6" {
				addr = fmt.Sprintf("fd00:200::%x", i+1)
			}
			fmt.Fprintf(&b, "- {addresses: [%q], hostname: h-%d}\n", addr, i)
		}
	}
	return b.String()
}

func TestUDPFitGluesBothFamiliesOfEachTarget(t *testing.T) {
	const n = 300
	cd := newPlugin(t, "udp_fit", dualStackHeadless(n))
	name := "_http._tcp.ds.default.svc.cluster.local."
	seen := map[string]bool{}
	for q := 0; q < 2*n && len(seen) < n; q++ {
		r, size := serveScrubbed(t, cd, srvQuery(name, 1232), false)
		if r.Rcode != dns.RcodeSuccess || r.Truncated || size > 1232 {
			t.Fatalf("rcode %s, TC %v, %d bytes: want NOERROR without TC within 1232", dns.RcodeToString[r.Rcode], r.Truncated, size)
		}
		targets := map[string]bool{}
		for _, rr := range r.Answer {
			targets[rr.(*dns.SRV).Target] = true
			seen[rr.(*dns.SRV).Target] = true
		}
		glue := map[string][]uint16{}
		for _, rr := range r.Extra {
			if h := rr.Header(); h.Rrtype != dns.TypeOPT {
				glue[h.Name] = append(glue[h.Name], h.Rrtype)
			}
		}
		if len(glue) != len(targets) {
			t.Fatalf("glue for %d names, %d targets: want glue for the targets only", len(glue), len(targets))
		}
		for target := range targets {
			if got := glue[target]; len(got) != 2 || got[0] == got[1] {
				t.Fatalf("glue of %s: types %v, want its A and its AAAA", target, got)
			}
		}
	}
	if len(seen) != n {
		t.Errorf("%d targets served over repeated queries, want all %d", len(seen), n)
	}
}
