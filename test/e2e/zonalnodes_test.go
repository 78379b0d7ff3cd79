package e2e

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// zonalNode is a Node in a topology zone ("" for none) and the pods bound to it, whose endpoints
// the EndpointSlice controller gives the node's zone.
type zonalNode struct {
	name, zone string
	pods       []podDef
}

// zonalNodes puts the pods of the selector service "web" on nodes in three zones, one dotted and
// one in upper case, and on a node without a zone.
func zonalNodes() []zonalNode {
	pod := func(name string, ips ...string) podDef {
		return podDef{name: name, labels: labels("zonal-web"), ips: ips}
	}
	named := pod("web-0", "10.246.2.1", "fd00:246:2::1")
	named.hostname, named.subdomain = "web-0", "web"
	return []zonalNode{
		{"zonal-a", "us-west-2a", []podDef{named, pod("web-1", "10.246.2.2", "fd00:246:2::2")}},
		{"zonal-dotted", "us-west-2.b", []podDef{pod("web-2", "10.246.2.3", "fd00:246:2::3")}},
		{"zonal-upper", "EU-West-1", []podDef{pod("web-3", "10.246.2.4", "fd00:246:2::4")}},
		{"zonal-none", "", []podDef{pod("web-4", "10.246.2.5", "fd00:246:2::5")}},
	}
}

// createZonalNodes creates the nodes (ready, as createReadyNode does), the dual-stack headless
// service "web" and its pods, and waits for the controller's slices.
func createZonalNodes(ctx context.Context, t *testing.T, s *suite) {
	t.Helper()
	nodes := s.cp.Client.CoreV1().Nodes()
	pods := 0
	for _, n := range zonalNodes() {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{corev1.LabelHostname: n.name}}}
		if n.zone != "" {
			node.Labels[corev1.LabelTopologyZone] = n.zone
		}
		created, err := nodes.Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := metav1.Now()
		created.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
		created.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
			Reason: "E2EFakeNode", LastHeartbeatTime: now, LastTransitionTime: now}}
		if _, err := nodes.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, d := range n.pods {
			p := newPod(zonalNamespace, d)
			p.Spec.NodeName = n.name
			if _, err := s.cp.CreateReadyPod(ctx, p, d.ips...); err != nil {
				t.Fatal(err)
			}
			pods++
		}
	}
	spec := headlessSpec("zonal-web")
	spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyRequireDualStack)
	spec.Ports = []corev1.ServicePort{{Name: "sql", Port: 5432, Protocol: corev1.ProtocolTCP}}
	if _, err := s.cp.Client.CoreV1().Services(zonalNamespace).Create(ctx, service(zonalNamespace, "web", spec), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitSlices(ctx, s.cp, zonalNamespace, "web", 2*pods, 0, false); err != nil {
		t.Fatal(fmt.Errorf("zonal nodes: %w", err))
	}
}
