package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestFaultAPIServerFlapping kills and restarts kube-apiserver 10 times while known names are
// asked in a loop: no answer may be wrong or SERVFAIL, and a service created as each restart
// completes must be answered within 3 s of it.
func TestFaultAPIServerFlapping(t *testing.T) {
	s := needLive(t)
	s.dumpOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	const ns = "e2e-flapping"
	if err := createNamespace(ctx, s.cp, ns); err != nil {
		t.Fatal(err)
	}
	p := &prober{c: s.main, cases: knownCases(s.sc), since: time.Now()}
	stopProbe := p.start(ctx)
	defer stopProbe()

	const flaps = 10
	var slowest time.Duration
	for i := range flaps {
		if i == 0 {
			s.stopAPIServer(t)
		} else {
			s.stopAPIServerAgain(t)
		}
		time.Sleep(2 * time.Second)
		if err := s.startAPIServer(ctx); err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		name := fmt.Sprintf("flap-%d", i)
		created, err := s.cp.Client.CoreV1().Services(ns).Create(ctx, service(ns, name, corev1.ServiceSpec{Ports: httpPort()}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		qname := svcName(name, ns)
		d, err := s.main.awaitAnswer(ctx, back, qname, dns.TypeA, answers(aKey(qname, netip.MustParseAddr(created.Spec.ClusterIP))), 3*time.Second)
		if err != nil {
			t.Fatalf("restart %d: %v", i+1, err)
		}
		slowest = max(slowest, d)
	}
	stopProbe()
	total, bad, servfail, failures := p.counts()
	t.Logf("%d restarts: slowest change %v after a return; prober: %d questions, %d wrong (%d SERVFAIL)", flaps, slowest.Round(time.Millisecond), total, bad, servfail)
	if bad > 0 {
		t.Errorf("%d of %d answers for known names were wrong or SERVFAIL while kube-apiserver flapped; first ones:\n%s", bad, total, strings.Join(failures, "\n"))
	}
}
