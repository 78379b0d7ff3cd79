package clusterdns

import (
	"testing"

	"github.com/miekg/dns"
)

// Built before cache (make coredns PLACE=early), clusterdns sits before transfer in the chain: zone
// transfers must still reach it, while other queries for the zone are answered here.
func TestZoneTransfersHandedOn(t *testing.T) {
	cd := newPlugin(t, "", exampleCluster)
	for _, tc := range []struct {
		name  string
		qtype uint16
		want  bool
	}{
		{"cluster.local.", dns.TypeAXFR, true},
		{"cluster.local.", dns.TypeIXFR, true},
		{"in-addr.arpa.", dns.TypeAXFR, true},
		{"cluster.local.", dns.TypeSOA, false},
	} {
		t.Run(dns.TypeToString[tc.qtype]+" "+tc.name, func(t *testing.T) {
			if got := handedOn(t, cd, tc.name, tc.qtype); got != tc.want {
				t.Errorf("handed on = %v, want %v", got, tc.want)
			}
		})
	}
}
