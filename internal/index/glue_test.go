package index

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
)

func TestSRVGlueIsFoundByTarget(t *testing.T) {
	srv := func(target string, port uint16) dns.RR {
		return &dns.SRV{Hdr: dns.RR_Header{Name: "s.", Rrtype: dns.TypeSRV}, Target: target, Port: port}
	}
	glue := func(owner string, t uint16) dns.RR { return &dns.A{Hdr: dns.RR_Header{Name: owner, Rrtype: t}} }
	answer := []dns.RR{srv("c.", 80), srv("a.", 81), srv("b.", 80), srv("a.", 80)}
	extra := []dns.RR{glue("c.", dns.TypeA), glue("a.", dns.TypeAAAA), glue("b.", dns.TypeA), glue("a.", dns.TypeA)}
	SortGlued(answer, extra)
	var got []string
	for _, rr := range answer {
		got = append(got, rr.(*dns.SRV).Target+dns.TypeToString[rr.Header().Rrtype])
	}
	if want := []string{"a.SRV", "a.SRV", "b.SRV", "c.SRV"}; !slices.Equal(got, want) || answer[0].(*dns.SRV).Port != 80 {
		t.Fatalf("answers %v, want %v, port 80 first", got, want)
	}
	if extra[0].Header().Rrtype != dns.TypeA || extra[1].Header().Rrtype != dns.TypeAAAA {
		t.Errorf("glue of a.: %v, want A then AAAA", extra[:2])
	}
	for _, tc := range []struct {
		name        string
		first, last string
		lo, hi      int
	}{
		{"one target with two records", "a.", "a.", 0, 2},
		{"a run of targets", "a.", "b.", 0, 3},
		{"the last target", "c.", "c.", 3, 4},
		{"a target without glue", "bb.", "bb.", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if lo, hi := GlueRange(extra, tc.first, tc.last); lo != tc.lo || hi != tc.hi {
				t.Errorf("GlueRange(%s, %s) = %d, %d; want %d, %d", tc.first, tc.last, lo, hi, tc.lo, tc.hi)
			}
		})
	}
}
