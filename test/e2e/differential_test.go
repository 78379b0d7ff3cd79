package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// question is one query of a differential comparison.
type question struct {
	name  string
	qtype uint16
}

func (q question) String() string { return q.name + " " + dns.TypeToString[q.qtype] }

// reference starts the kubernetes plugin with o's options in the same binary, over the same API
// server, for a comparison with clusterdns query by query.
func (s *suite) reference(t *testing.T, name string, o corefileOptions) *coreDNS {
	t.Helper()
	o.kubernetesPlugin = true
	return s.startExtraCoreDNS(t, name, o)
}

// sameAnswer returns how two answers to one question differ in what a client sees: the rcode,
// the answer section as a set, and whether the authority section carries an SOA. TTLs, SRV
// priorities and weights, and record order are not compared.
func sameAnswer(ours, ref *dns.Msg) []string {
	var diff []string
	if ours.Rcode != ref.Rcode {
		diff = append(diff, fmt.Sprintf("rcode %s, kubernetes plugin %s", rcodeName(ours.Rcode), rcodeName(ref.Rcode)))
	}
	a, b := rrKeys(ours.Answer), rrKeys(ref.Answer)
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		diff = append(diff, fmt.Sprintf("answer\n\t clusterdns %q\n\t kubernetes %q", a, b))
	}
	if hasSOA(ours.Ns) != hasSOA(ref.Ns) {
		diff = append(diff, fmt.Sprintf("authority SOA: clusterdns %v, kubernetes plugin %v", hasSOA(ours.Ns), hasSOA(ref.Ns)))
	}
	return diff
}

func hasSOA(rrs []dns.RR) bool {
	return slices.ContainsFunc(rrs, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeSOA })
}

// compareWithReference asks both instances every question over UDP and TCP and fails on every
// difference, except for the questions in deliberate, whose value says why clusterdns differs
// (each is listed in the README).
func compareWithReference(t *testing.T, ours, ref *coreDNS, qs []question, deliberate map[question]string) {
	t.Helper()
	for _, q := range qs {
		for _, network := range networks {
			a, b := ours.ask(t, network, q.name, q.qtype), ref.ask(t, network, q.name, q.qtype)
			diff := sameAnswer(a, b)
			why, known := deliberate[q]
			switch {
			case len(diff) > 0 && !known:
				t.Errorf("%s over %s differs from the kubernetes plugin:\n\t%s", q, network, strings.Join(diff, "\n\t"))
			case len(diff) == 0 && known:
				t.Errorf("%s over %s: a deliberate difference (%s) is gone: update the README", q, network, why)
			}
		}
	}
}
