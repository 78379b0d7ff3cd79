package controlplane

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// controllers are the kube-controller-manager controllers the tests need:
// EndpointSlices for selector Services and mirrored selector-less Endpoints,
// default ServiceAccounts, namespace deletion and owner-reference cleanup.
var controllers = []string{
	"endpointslice-controller",
	"endpointslice-mirroring-controller",
	"serviceaccount-controller",
	"namespace-controller",
	"garbage-collector-controller",
}

// startControllerManager starts kube-controller-manager without a serving
// port and waits until its serviceaccount controller has done its first work.
func (cp *ControlPlane) startControllerManager(ctx context.Context) error {
	args := []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--service-cluster-ip-range=" + cp.serviceCIDRs(),
	}
	p, err := cp.startComponent("kube-controller-manager", args)
	if err != nil {
		return err
	}
	cp.controllerManager = p
	return waitFor(ctx, p, "default ServiceAccount from kube-controller-manager", func(ctx context.Context) error {
		_, err := cp.Client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get default ServiceAccount: %w", err)
		}
		return nil
	})
}

// RestartControllerManager stops kube-controller-manager and starts it again. After an
// apiserver outage its informers back off for up to a minute or more before they notice
// changes; tests about other clients restart it rather than wait on that.
func (cp *ControlPlane) RestartControllerManager(ctx context.Context) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.controllerManager != nil {
		if err := cp.controllerManager.stop(); err != nil {
			return fmt.Errorf("stop kube-controller-manager: %w", err)
		}
	}
	return cp.startControllerManager(ctx)
}
