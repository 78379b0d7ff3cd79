package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// TestChanges writes to the API and polls the main instance until its answers follow (spec rule
// 20), logging the time from the API write to the first matching answer for each kind of change.
func TestChanges(t *testing.T) {
	s := needLive(t)
	s.dumpOnFailure(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	const ns = "e2e-changes"
	client := s.cp.Client.CoreV1()
	c := s.main

	// await polls after an API write that began at start; kind names the change.
	await := func(t *testing.T, kind string, start time.Time, qname string, qtype uint16, e expect) {
		t.Helper()
		d, err := c.awaitAnswer(ctx, start, qname, qtype, e, propagationDeadline)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		propagationTimes.add(t, "change: "+kind, d)
	}

	t.Run("namespace created", func(t *testing.T) {
		name := ns + ".svc." + zone
		if r := c.ask(t, "udp", name, dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Fatalf("%s before the namespace exists: rcode %s, want NXDOMAIN", name, rcodeName(r.Rcode))
		}
		start := time.Now()
		if err := createNamespace(ctx, s.cp, ns); err != nil {
			t.Fatal(err)
		}
		await(t, "namespace created", start, name, dns.TypeA, nodata(zone))
	})

	fresh := svcName("fresh", ns)
	var freshIP netip.Addr
	t.Run("ClusterIP service created", func(t *testing.T) {
		start := time.Now()
		created, err := client.Services(ns).Create(ctx, service(ns, "fresh", corev1.ServiceSpec{Ports: httpPort()}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		freshIP = netip.MustParseAddr(created.Spec.ClusterIP)
		await(t, "service created", start, fresh, dns.TypeA, answers(aKey(fresh, freshIP)))
		runCases(t, c, []dnsCase{{"PTR of the new service", reverse(freshIP), dns.TypePTR, answers(ptrKey(reverse(freshIP), fresh))}})
	})

	t.Run("service port added", func(t *testing.T) {
		if !freshIP.IsValid() {
			t.Skip("needs the service created above")
		}
		start := time.Now()
		updateService(ctx, t, s, ns, "fresh", func(svc *corev1.Service) {
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9090)})
		})
		owner := "_metrics._tcp." + fresh
		await(t, "service port added", start, owner, dns.TypeSRV, answers(srvKey(owner, 9090, fresh)))
	})

	// A headless service scaled up one pod at a time, readiness flipped, scaled down to zero.
	scale := svcName("scale", ns)
	const replicas = 5
	pods := make([]podDef, replicas)
	for i := range pods {
		pods[i] = podDef{name: fmt.Sprintf("scale-%d", i), labels: labels("scale"), ips: []string{fmt.Sprintf("10.244.10.%d", i+1)}}
	}
	want := func(idx ...int) expect {
		if len(idx) == 0 {
			return nxdomain(zone)
		}
		var rrs []string
		for _, i := range idx {
			rrs = append(rrs, aKey(scale, netip.MustParseAddr(pods[i].ips[0])))
		}
		return answers(rrs...)
	}
	live := []int{}

	t.Run("headless scale up", func(t *testing.T) {
		if _, err := client.Services(ns).Create(ctx, service(ns, "scale", headlessSpec("scale")), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		runCases(t, c, []dnsCase{{"headless service without endpoints", scale, dns.TypeA, nxdomain(zone)}})
		for i, p := range pods {
			start := time.Now()
			if err := createPod(ctx, s.cp, ns, p); err != nil {
				t.Fatal(err)
			}
			live = append(live, i)
			kind := "pod added (headless scale up)"
			if i == 0 {
				kind = "first endpoint (NXDOMAIN to answer)"
			}
			// The pod record comes straight from the pod; the endpoint waits for the
			// EndpointSlice controller, so it is polled second.
			ip := netip.MustParseAddr(p.ips[0])
			await(t, "pod record added", start, podName(ip, ns), dns.TypeA, answers(aKey(podName(ip, ns), ip)))
			await(t, kind, start, scale, dns.TypeA, want(live...))
		}
	})

	t.Run("readiness flip", func(t *testing.T) {
		if len(live) != replicas {
			t.Skip("needs the scaled-up service")
		}
		start := time.Now()
		if err := s.cp.SetPodReady(ctx, ns, "scale-1", false); err != nil {
			t.Fatal(err)
		}
		await(t, "pod became not ready", start, scale, dns.TypeA, want(0, 2, 3, 4))
		name := dashed(netip.MustParseAddr(pods[1].ips[0])) + "." + scale
		runCases(t, c, []dnsCase{{"not-ready endpoint name is gone", name, dns.TypeA, nxdomain(zone)}})

		start = time.Now()
		if err := s.cp.SetPodReady(ctx, ns, "scale-1", true); err != nil {
			t.Fatal(err)
		}
		await(t, "pod became ready", start, scale, dns.TypeA, want(0, 1, 2, 3, 4))
	})

	// A graceful delete leaves the pod terminating (no kubelet confirms it): the controller
	// marks its endpoint not ready and terminating (spec rule 10).
	terminating := false
	t.Run("pod terminating", func(t *testing.T) {
		if len(live) != replicas {
			t.Skip("needs the scaled-up service")
		}
		start := time.Now()
		if err := client.Pods(ns).Delete(ctx, "scale-2", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](300)}); err != nil {
			t.Fatal(err)
		}
		terminating = true
		live = []int{0, 1, 3, 4}
		await(t, "pod terminating", start, scale, dns.TypeA, want(live...))
	})

	t.Run("headless scale down", func(t *testing.T) {
		if len(live) == 0 {
			t.Skip("needs the scaled-up service")
		}
		if terminating {
			// Force the terminating pod out (no answer changes).
			if err := client.Pods(ns).Delete(ctx, "scale-2", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
				t.Fatal(err)
			}
		}
		for len(live) > 0 {
			i := live[len(live)-1]
			live = live[:len(live)-1]
			start := time.Now()
			err := client.Pods(ns).Delete(ctx, pods[i].name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
			if err != nil {
				t.Fatal(err)
			}
			kind := "pod deleted (headless scale down)"
			if len(live) == 0 {
				kind = "last endpoint gone (answer to NXDOMAIN)"
			}
			ip := netip.MustParseAddr(pods[i].ips[0])
			await(t, "pod record removed", start, podName(ip, ns), dns.TypeA, nxdomain(zone))
			await(t, kind, start, scale, dns.TypeA, want(live...))
		}
	})

	t.Run("service deleted", func(t *testing.T) {
		if !freshIP.IsValid() {
			t.Skip("needs the service created above")
		}
		start := time.Now()
		if err := client.Services(ns).Delete(ctx, "fresh", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		await(t, "service deleted", start, fresh, dns.TypeA, nxdomain(zone))
		// The reverse name is gone from the plugin: it falls through to the upstream's NXDOMAIN.
		gone := expect{rcode: dns.RcodeNameError, soaZone: ".", soaMname: upstreamSOAMname, notAuthoritative: true}
		await(t, "service PTR removed", start, reverse(freshIP), dns.TypePTR, gone)
		runCases(t, c, []dnsCase{{"SRV of the deleted service", "_metrics._tcp." + fresh, dns.TypeSRV, nxdomain(zone)}})
	})

	t.Run("summary", func(t *testing.T) {
		for _, line := range propagationTimes.byKind("change: ") {
			t.Logf("%s", line)
		}
		t.Logf("propagation: %s", propagationTimes.summary("change: "))
	})
}
