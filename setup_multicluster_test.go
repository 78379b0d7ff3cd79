package clusterdns

import (
	"strings"
	"testing"
)

func TestParseRejectsBadMulticluster(t *testing.T) {
	for _, tc := range []struct{ name, corefile, want string }{
		{"no zone", "clusterdns cluster.local clusterset.local {\nmulticluster\n}", "multicluster takes one or more clusterset zones"},
		{"zone not served", "clusterdns cluster.local {\nmulticluster clusterset.local\n}", "clusterset.local. is not among the zones served"},
		{"reverse zone", "clusterdns cluster.local in-addr.arpa {\nmulticluster in-addr.arpa\n}", "is a reverse zone"},
		{"with manifests", "clusterdns cluster.local clusterset.local {\nmanifests x.yaml\nmulticluster clusterset.local\n}", "not from manifests"},
		{"the only forward zone", "clusterdns clusterset.local {\nmulticluster clusterset.local\n}", "no forward zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCorefile(t, tc.corefile)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseMulticluster(t *testing.T) {
	cd, err := parseCorefile(t, "clusterdns cluster.local ClusterSet.Local 10.0.0.0/24 {\nmulticluster clusterset.local\n}")
	if err != nil {
		t.Fatal(err)
	}
	b := cd.store.b
	if got := strings.Join(b.zones, " "); got != "cluster.local." {
		t.Errorf("zones %q, want cluster.local. alone: the clusterset zone holds imports, not services", got)
	}
	if got := strings.Join(b.mcZones, " "); got != "clusterset.local." {
		t.Errorf("clusterset zones %q, want clusterset.local.", got)
	}
	if cd.Ready() {
		t.Error("ready before any sync")
	}
}
