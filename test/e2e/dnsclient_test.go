package e2e

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	queryTimeout = 3 * time.Second
	// ednsSize is what a modern stub advertises over UDP (DNS flag day 2020).
	ednsSize = 1232
)

// networks are the transports every name is asked over.
var networks = []string{"udp", "tcp"}

// exchange asks one question over network (udp with EDNS0, tcp without) and checks that the
// answer belongs to it.
func (c *coreDNS) exchange(network, qname string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	if network == "udp" {
		m.SetEdns0(ednsSize, false)
	}
	cl := &dns.Client{Net: network, Timeout: queryTimeout, UDPSize: ednsSize}
	r, _, err := cl.Exchange(m, c.addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s over %s to %s: %w", qname, dns.TypeToString[qtype], network, c.name, err)
	}
	if r.Id != m.Id {
		return nil, fmt.Errorf("%s %s over %s: answer ID %d, query ID %d", qname, dns.TypeToString[qtype], network, r.Id, m.Id)
	}
	if len(r.Question) != 1 || r.Question[0].Name != qname || r.Question[0].Qtype != qtype {
		return nil, fmt.Errorf("%s %s over %s: answer's question %v does not echo the query", qname, dns.TypeToString[qtype], network, r.Question)
	}
	return r, nil
}

// ask is exchange that fails the test on a transport error.
func (c *coreDNS) ask(t testing.TB, network, qname string, qtype uint16) *dns.Msg {
	t.Helper()
	r, err := c.exchange(network, qname, qtype)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// exchangeRawUDP sends one query without EDNS over UDP and reads the answer into a 64 KiB
// buffer, so that its real size on the wire is seen (the miekg/dns client reads only 512
// bytes without EDNS).
func (c *coreDNS) exchangeRawUDP(qname string, qtype uint16) (*dns.Msg, int, error) {
	return exchangeSizedType(c.addr, qname, qtype, 0)
}

// expect is what an answer must look like. Records are compared as rrKey strings: owner (exact
// case), type and data, no TTL or class.
type expect struct {
	rcode int
	// answer is the exact multiset of answer records; empty means the answer must be empty.
	answer []string
	// extra must all be in the additional section (the OPT record aside).
	extra []string
	// soaZone, when set, is the zone whose SOA must be (alone) in the authority section; negative
	// answers from the plugin set it through nodata and nxdomain.
	soaZone string
	// soaMname, when set, is the SOA's MNAME: tells the plugin's SOA from the upstream's.
	soaMname string
	// anyAnswer skips the answer comparison (only the rcode and authority are checked).
	anyAnswer bool
	// notAuthoritative skips the AA check (answers that come through forward).
	notAuthoritative bool
	// more runs free-form checks and returns problems.
	more func(r *dns.Msg) []string
}

// answers is a NOERROR answer with exactly these records.
func answers(rrs ...string) expect { return expect{rcode: dns.RcodeSuccess, answer: rrs} }

// nodata is NOERROR, no answer, the zone's SOA.
func nodata(zone string) expect {
	return expect{rcode: dns.RcodeSuccess, soaZone: zone, soaMname: pluginSOAMname}
}

// nxdomain is NXDOMAIN, no answer, the zone's SOA.
func nxdomain(zone string) expect {
	return expect{rcode: dns.RcodeNameError, soaZone: zone, soaMname: pluginSOAMname}
}

// pluginSOAMname is the MNAME of every SOA the plugin serves.
const pluginSOAMname = "ns.dns.cluster.local."

// withExtra returns e also requiring these additional records.
func (e expect) withExtra(rrs ...string) expect {
	e.extra = append(slices.Clone(e.extra), rrs...)
	return e
}

// verify returns every way r differs from e; none means it matches.
func (e expect) verify(r *dns.Msg) []string {
	var bad []string
	if r.Rcode != e.rcode {
		bad = append(bad, fmt.Sprintf("rcode %s, want %s", rcodeName(r.Rcode), rcodeName(e.rcode)))
	}
	if r.Truncated {
		bad = append(bad, "TC set")
	}
	if !e.notAuthoritative && !r.Authoritative {
		bad = append(bad, "AA not set")
	}
	if !e.anyAnswer {
		got := rrKeys(r.Answer)
		want := slices.Clone(e.answer)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			bad = append(bad, fmt.Sprintf("answer\n\t got %q\n\twant %q", got, want))
		}
	}
	if len(e.extra) > 0 {
		got := rrKeys(r.Extra)
		for _, w := range e.extra {
			if !slices.Contains(got, w) {
				bad = append(bad, fmt.Sprintf("additional section lacks %q (has %q)", w, got))
			}
		}
	}
	if e.soaZone != "" {
		var soas []*dns.SOA
		for _, rr := range r.Ns {
			if s, ok := rr.(*dns.SOA); ok {
				soas = append(soas, s)
			}
		}
		switch {
		case len(soas) != 1:
			bad = append(bad, fmt.Sprintf("%d SOA records in the authority section, want the SOA of %s: %v", len(soas), e.soaZone, r.Ns))
		case !strings.EqualFold(soas[0].Hdr.Name, e.soaZone):
			bad = append(bad, fmt.Sprintf("authority SOA owner %s, want %s", soas[0].Hdr.Name, e.soaZone))
		case e.soaMname != "" && !strings.EqualFold(soas[0].Ns, e.soaMname):
			bad = append(bad, fmt.Sprintf("authority SOA MNAME %s, want %s", soas[0].Ns, e.soaMname))
		}
	}
	if e.more != nil {
		bad = append(bad, e.more(r)...)
	}
	return bad
}

// rrKey is a record without TTL and class: "owner TYPE data". SRV keeps port and target only
// (priority and weights are checked on their own); SOA keeps its MNAME.
func rrKey(rr dns.RR) string {
	h := rr.Header()
	switch v := rr.(type) {
	case *dns.SRV:
		return fmt.Sprintf("%s SRV %d %s", h.Name, v.Port, v.Target)
	case *dns.SOA:
		return fmt.Sprintf("%s SOA %s", h.Name, v.Ns)
	}
	data := strings.TrimPrefix(rr.String(), h.String())
	return h.Name + " " + dns.TypeToString[h.Rrtype] + " " + data
}

// rrKeys returns rrKey of each record, leaving out OPT.
func rrKeys(rrs []dns.RR) []string {
	out := []string{}
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, rrKey(rr))
	}
	return out
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

// Record key builders for expectations.

func aKey(owner string, ip netip.Addr) string {
	if ip.Is4() {
		return owner + " A " + ip.String()
	}
	return owner + " AAAA " + ip.String()
}

func srvKey(owner string, port int, target string) string {
	return fmt.Sprintf("%s SRV %d %s", owner, port, target)
}

func ptrKey(owner, target string) string { return owner + " PTR " + target }

func cnameKey(owner, target string) string { return owner + " CNAME " + target }

// reverse is the in-addr.arpa or 32-nibble ip6.arpa name of ip.
func reverse(ip netip.Addr) string {
	name, err := dns.ReverseAddr(ip.String())
	if err != nil {
		panic(err)
	}
	return name
}

// dashed writes ip as one DNS label: 10.244.1.7 -> 10-244-1-7, fd00::7 -> fd00--7.
func dashed(ip netip.Addr) string {
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.String(), ":", "-")
}

// Pod resolver search path for a pod in namespace ns, with ndots:5.
const ndots = 5

func searchList(ns string) []string {
	return []string{ns + ".svc.cluster.local.", "svc.cluster.local.", "cluster.local."}
}

// searchResult is what a stub resolver got for a short name: the last answer and every name it
// tried, in order.
type searchResult struct {
	r     *dns.Msg
	tried []string
}

// resolveSearch resolves name as a pod's stub resolver in namespace ns would (glibc and musl
// alike): fewer than ndots dots means the search list comes first and the name as is last; an
// NXDOMAIN moves on to the next candidate; anything else ends the search (musl stops on NODATA).
func (c *coreDNS) resolveSearch(network, name, ns string, qtype uint16) (searchResult, error) {
	var candidates []string
	if strings.Count(name, ".") >= ndots {
		candidates = append(candidates, dns.Fqdn(name))
	}
	for _, s := range searchList(ns) {
		candidates = append(candidates, name+"."+s)
	}
	if strings.Count(name, ".") < ndots {
		candidates = append(candidates, dns.Fqdn(name))
	}
	var res searchResult
	for _, q := range candidates {
		r, err := c.exchange(network, q, qtype)
		if err != nil {
			return res, err
		}
		res.r = r
		res.tried = append(res.tried, q)
		if r.Rcode != dns.RcodeNameError {
			return res, nil
		}
	}
	return res, nil
}
