package e2e

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestMulticlusterAndZonalMatchTheKubernetesPlugin is the comparison of issue 13 with both options
// on at once: the built binary and the kubernetes plugin in it, each with `multicluster
// clusterset.local` and `zonal` in its stanza, asked the MCS questions, the zonal questions and
// zonal names in the clusterset zone, over UDP and TCP. They must differ only where the separate
// comparisons allow (README "Differences from the kubernetes plugin", "Zonal Names",
// "Multi-Cluster Services").
func TestMulticlusterAndZonalMatchTheKubernetesPlugin(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	mc, err := installMCSCRDs(ctx, s.cp.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	createImports(ctx, t, s, mc)
	zonalObjects(ctx, t, s)

	o := s.multiclusterOptions()
	o.stanza = append(o.stanza, "zonal")
	ours := s.startExtraCoreDNS(t, "multicluster-zonal", o)
	ref := s.reference(t, "multicluster-zonal-kubernetes", o)
	waitZonal(ctx, t, ours, ref)
	for _, c := range []*coreDNS{ours, ref} {
		if err := c.waitServing(ctx, "clusterset.local.", dns.TypeSOA); err != nil {
			t.Fatal(err)
		}
	}

	qs, deliberate := mcsQuestions()
	qs = append(qs, zonalQuestions()...)
	maps.Copy(deliberate, zonalDeliberate())
	// zonal is of the cluster zone: below a headless import in the clusterset zone the same
	// shapes are names that do not exist.
	z := "." + mcsNamespace + ".svc.clusterset.local."
	qs = append(qs,
		question{"east.pin._zone.db" + z, dns.TypeA}, question{"us-east-1a.prefer._zone.db" + z, dns.TypeSRV},
		question{"_zone.db" + z, dns.TypeA},
	)
	if len(qs) < 50 {
		t.Fatalf("%d questions, want 50 or more", len(qs))
	}
	t.Logf("%d questions, %d deliberate differences", len(qs), len(deliberate))
	compareWithReference(t, ours, ref, qs, deliberate)
}
