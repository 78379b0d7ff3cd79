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

	"github.com/clusterdns/clusterdns/test/e2e/controlplane"
)

func TestControlPlaneSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real control plane")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	binDir, err := controlplane.BinDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	startCtx, cancelStart := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelStart()
	cp, err := controlplane.Start(startCtx, controlplane.Options{BinDir: binDir, Dir: t.TempDir(), Log: tWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(cp.Logs())
		}
	})

	const ns = "smoke"
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("web")}},
		},
	}
	if _, err := cp.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, ip := range []string{"10.244.0.11", "10.244.0.12"} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Namespace: ns, Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name:  "web",
				Image: "clusterdns.invalid/web",
				Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8080}},
			}}},
		}
		if _, err := cp.CreateReadyPod(ctx, pod, ip); err != nil {
			t.Fatal(err)
		}
	}

	waitCtx, cancelWait := context.WithTimeout(ctx, time.Minute)
	defer cancelWait()
	for {
		ready, err := readyEndpoints(waitCtx, cp, ns, "web")
		if err == nil && ready == 2 {
			break
		}
		select {
		case <-waitCtx.Done():
			t.Fatalf("EndpointSlice for %s/web never showed 2 ready endpoints: last %d ready, err %v", ns, ready, err)
		case <-time.After(200 * time.Millisecond):
		}
	}

	if err := cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
		t.Fatal("client still works with kube-apiserver stopped")
	}
	restartCtx, cancelRestart := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelRestart()
	if err := cp.StartAPIServer(restartCtx); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Client.CoreV1().Namespaces().Get(restartCtx, ns, metav1.GetOptions{}); err != nil {
		t.Fatalf("client after kube-apiserver restart: %v", err)
	}
}

// readyEndpoints counts ready endpoints with the http port across the
// Service's EndpointSlices.
func readyEndpoints(ctx context.Context, cp *controlplane.ControlPlane, ns, service string) (int, error) {
	slices, err := cp.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + service,
	})
	if err != nil {
		return 0, err
	}
	ready := 0
	for _, slice := range slices.Items {
		if len(slice.Ports) != 1 || slice.Ports[0].Port == nil || *slice.Ports[0].Port != 8080 {
			continue
		}
		for _, ep := range slice.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				ready++
			}
		}
	}
	return ready, nil
}

// tWriter sends the control plane's progress messages to the test log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
