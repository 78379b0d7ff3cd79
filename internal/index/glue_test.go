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
		name   string
		target string
		want   int
	}{
		{"the first target, with A and AAAA", "a.", 0},
		{"a target after others", "b.", 2},
		{"the last target", "c.", 3},
		{"a target without glue: where the next one's starts", "bb.", 3},
		{"past every target", "d.", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := GlueStart(extra, tc.target); got != tc.want {
				t.Errorf("GlueStart(%s) = %d, want %d", tc.target, got, tc.want)
			}
		})
	}
}
