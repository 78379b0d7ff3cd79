package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestFaultRestartWithSnapshot restarts CoreDNS while kube-apiserver is down: with the snapshot
// the last instance wrote, the new one answers the cluster's names from it at once, is ready once
// startup_timeout has passed, and NXDOMAIN is then the snapshot's; with kube-apiserver back, the
// live data takes over.
func TestFaultRestartWithSnapshot(t *testing.T) {
	s := needLive(t)
	s.dumpOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	o := s.corefileOptions()
	o.snapshot = filepath.Join(t.TempDir(), "dns.snap")
	writer := s.startExtraCoreDNS(t, "snapshot-writer", o)
	if err := writer.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(o.snapshot); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no snapshot written to %s", o.snapshot)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := writer.stop(); err != nil {
		t.Fatal(err)
	}

	s.stopAPIServer(t)
	start := time.Now()
	c := s.startExtraCoreDNS(t, "snapshot-reader", o)
	hostnames := svcName("hostnames", "default")
	want := answers(aKey(hostnames, s.sc.clusterIP("default/hostnames", true)))
	d, err := c.awaitAnswer(ctx, start, hostnames, dns.TypeA, want, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first answer from the snapshot %v after start without kube-apiserver", d.Round(time.Millisecond))
	readyCtx, readyCancel := context.WithTimeout(ctx, o.startupTimeout+10*time.Second)
	defer readyCancel()
	if err := c.waitReady(readyCtx); err != nil {
		t.Fatal(err)
	}
	runCases(t, c, []dnsCase{
		{"snapshot: ClusterIP A", hostnames, dns.TypeA, want},
		{"snapshot: unknown service is NXDOMAIN", svcName("nothere", "default"), dns.TypeA, nxdomain(zone)},
	})
	if v, ok := metricValue(ctx, c, "coredns_clusterdns_snapshot_age_seconds"); !ok || v <= 0 {
		t.Errorf("snapshot_age_seconds is %v (found %v) while the snapshot is served, want its age", v, ok)
	}

	if err := s.startAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		if v, ok := metricValue(ctx, c, "coredns_clusterdns_snapshot_age_seconds"); ok && v == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the snapshot is still served after kube-apiserver came back")
		case <-time.After(100 * time.Millisecond):
		}
	}
	runCases(t, c, []dnsCase{{"live again: ClusterIP A", hostnames, dns.TypeA, want}})
}
