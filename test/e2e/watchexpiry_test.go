package e2e

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestFaultWatchExpiry makes every watch expire: a service is deleted straight from etcd while
// kube-apiserver is down, so no watch event can report it, and the restarted kube-apiserver's watch
// cache starts past every watcher's resource version, so each resumed watch gets "410 Gone" (too
// old resource version) and the reflectors list again. Only that re-list can drop the service.
// Meanwhile the known names must answer right, without a gap, and the live heap afterwards must
// hold one copy of the data, not two.
func TestFaultWatchExpiry(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	o := s.corefileOptions()
	o.pprof = true
	c := s.startExtraCoreDNS(t, "expiry", o)
	if err := c.waitReady(ctx); err != nil {
		t.Fatal(err)
	}
	const ns = "e2e-expiry"
	if err := createNamespace(ctx, s.cp, ns); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	cases := knownCases(s.sc)
	for _, name := range []string{"kept", "gone"} {
		created, err := s.cp.Client.CoreV1().Services(ns).Create(ctx, service(ns, name, corev1.ServiceSpec{Ports: httpPort()}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		qname := svcName(name, ns)
		names[name] = qname
		want := answers(aKey(qname, netip.MustParseAddr(created.Spec.ClusterIP)))
		if _, err := c.awaitAnswer(ctx, time.Now(), qname, dns.TypeA, want, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if name == "kept" {
			cases = append(cases, dnsCase{"service kept", qname, dns.TypeA, want})
		}
	}
	before := liveHeap(ctx, t, c)
	p := &prober{c: c, cases: cases, since: time.Now()}
	stopProbe := p.start(ctx)
	defer stopProbe()

	s.stopAPIServer(t)
	if err := s.cp.DeleteStored(ctx, "services/specs/"+ns+"/gone"); err != nil {
		t.Fatal(err)
	}
	if r := c.ask(t, "udp", names["gone"], dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("while kube-apiserver is down, the last data must be served: %s gave %s with %d answers", names["gone"], rcodeName(r.Rcode), len(r.Answer))
	}
	start := time.Now()
	if err := s.startAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := c.awaitAnswer(ctx, start, names["gone"], dns.TypeA, nxdomain(zone), 30*time.Second)
	if err != nil {
		t.Fatalf("the service deleted behind the watches' back: %v", err)
	}
	stopProbe()
	total, bad, servfail, failures := p.counts()
	after := liveHeap(ctx, t, c)
	t.Logf("re-listed %v after kube-apiserver's start; live heap %.2f MiB before, %.2f after; prober: %d questions, %d wrong (%d SERVFAIL)",
		d.Round(time.Millisecond), before/(1<<20), after/(1<<20), total, bad, servfail)
	if bad > 0 {
		t.Errorf("%d of %d answers for known names were wrong or SERVFAIL around the re-list; first ones:\n%s", bad, total, strings.Join(failures, "\n"))
	}
	if after > 1.5*before {
		t.Errorf("live heap grew from %.2f to %.2f MiB over the re-list: the old data is kept beside the new", before/(1<<20), after/(1<<20))
	}
}
