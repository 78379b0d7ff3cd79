package controlplane_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

func TestControlPlaneSmoke(t *testing.T) {
	ctx, cp := startControlPlane(t, false)
	svc := createService(ctx, t, cp, "smoke", nil)
	for i, ip := range []string{"10.244.0.11", "10.244.0.12"} {
		createPod(ctx, t, cp, svc, i, ip)
	}
	waitReadyEndpoints(ctx, t, cp, svc, discoveryv1.AddressTypeIPv4, 2)

	if err := cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.CoreV1().Namespaces().Get(ctx, svc.Namespace, metav1.GetOptions{}); err == nil {
		t.Fatal("client still works with kube-apiserver stopped")
	}
	restartCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := cp.StartAPIServer(restartCtx); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.CoreV1().Namespaces().Get(restartCtx, svc.Namespace, metav1.GetOptions{}); err != nil {
		t.Fatalf("client after kube-apiserver restart: %v", err)
	}
}

func TestControlPlaneDualStack(t *testing.T) {
	ctx, cp := startControlPlane(t, true)
	svc := createService(ctx, t, cp, "dual", ptr.To(corev1.IPFamilyPolicyRequireDualStack))
	createPod(ctx, t, cp, svc, 0, "10.244.0.21", "fd00:10:244::21")
	waitReadyEndpoints(ctx, t, cp, svc, discoveryv1.AddressTypeIPv4, 1)
	waitReadyEndpoints(ctx, t, cp, svc, discoveryv1.AddressTypeIPv6, 1)

	if err := cp.SetPodReady(ctx, svc.Namespace, "web-0", false); err != nil {
		t.Fatal(err)
	}
	waitReadyEndpoints(ctx, t, cp, svc, discoveryv1.AddressTypeIPv6, 0)
}

// startControlPlane starts a control plane that is stopped, with its logs
// printed on failure, when t ends. The context bounds the whole test.
func startControlPlane(t *testing.T, dualStack bool) (context.Context, *controlplane.ControlPlane) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real control plane")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	t.Cleanup(cancel)
	binDir, err := controlplane.BinDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	startCtx, cancelStart := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelStart()
	cp, err := controlplane.Start(startCtx, controlplane.Options{
		BinDir: binDir, Dir: t.TempDir(), DualStack: dualStack, Log: t.Output(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(cp.Logs())
		}
	})
	return ctx, cp
}

// createService creates namespace ns and in it Service "web" selecting
// app=web, with port "http" 80 targeting the pods' named port "web".
func createService(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, ns string, policy *corev1.IPFamilyPolicy) *corev1.Service {
	t.Helper()
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := cp.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector:       map[string]string{"app": "web"},
			IPFamilyPolicy: policy,
			Ports:          []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("web")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// createPod creates ready pod web-<i> behind svc with container port "web"
// 8080.
func createPod(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, svc *corev1.Service, i int, ips ...string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Namespace: svc.Namespace, Labels: svc.Spec.Selector},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "web",
			Image: "clusterdns.invalid/web",
			Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8080}},
		}}},
	}
	if _, err := cp.CreateReadyPod(ctx, pod, ips...); err != nil {
		t.Fatal(err)
	}
}

// waitReadyEndpoints polls, for at most a minute, until svc's EndpointSlices
// of the address type show want ready endpoints on port http -> 8080.
func waitReadyEndpoints(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, svc *corev1.Service, addressType discoveryv1.AddressType, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		got, err := readyEndpoints(ctx, cp, svc, addressType)
		if err == nil && got == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s EndpointSlices of %s/%s never showed %d ready endpoints: last %d, err %v",
				addressType, svc.Namespace, svc.Name, want, got, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func readyEndpoints(ctx context.Context, cp *controlplane.ControlPlane, svc *corev1.Service, addressType discoveryv1.AddressType) (int, error) {
	slices, err := cp.Client.DiscoveryV1().EndpointSlices(svc.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc.Name,
	})
	if err != nil {
		return 0, err
	}
	ready := 0
	for _, slice := range slices.Items {
		if slice.AddressType != addressType || len(slice.Ports) != 1 ||
			ptr.Deref(slice.Ports[0].Name, "") != "http" || ptr.Deref(slice.Ports[0].Port, 0) != 8080 {
			continue
		}
		for _, ep := range slice.Endpoints {
			if ptr.Deref(ep.Conditions.Ready, false) {
				ready++
			}
		}
	}
	return ready, nil
}
