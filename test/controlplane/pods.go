package controlplane

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// CreateReadyPod creates pod and then writes the status a kubelet would
// report for it running and ready with the given IPs (at most one per
// family, the first is the primary). Pods never run; this is what makes them
// ready endpoints. Unset node name, grace period and containers are defaulted.
func (cp *ControlPlane) CreateReadyPod(ctx context.Context, pod *corev1.Pod, ips ...string) (*corev1.Pod, error) {
	if len(ips) == 0 {
		return nil, errors.New("CreateReadyPod: at least one pod IP is required")
	}
	pod = pod.DeepCopy()
	if pod.Spec.NodeName == "" {
		pod.Spec.NodeName = NodeName
	}
	if pod.Spec.TerminationGracePeriodSeconds == nil {
		pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](0)
	}
	if len(pod.Spec.Containers) == 0 {
		pod.Spec.Containers = []corev1.Container{{Name: "app", Image: "clusterdns.invalid/app"}}
	}
	pods := cp.Client.CoreV1().Pods(pod.Namespace)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}

	now := metav1.Now()
	podIPs := make([]corev1.PodIP, len(ips))
	for i, ip := range ips {
		podIPs[i] = corev1.PodIP{IP: ip}
	}
	created.Status = corev1.PodStatus{
		Phase:     corev1.PodRunning,
		HostIP:    "127.0.0.1",
		HostIPs:   []corev1.HostIP{{IP: "127.0.0.1"}},
		PodIP:     ips[0],
		PodIPs:    podIPs,
		StartTime: &now,
	}
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		created.Status.Conditions = append(created.Status.Conditions, corev1.PodCondition{
			Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now,
		})
	}
	updated, err := pods.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("set status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return updated, nil
}

// SetPodReady flips the Ready and ContainersReady conditions of a pod, as a
// kubelet would when its readiness probe starts failing or passing again.
func (cp *ControlPlane) SetPodReady(ctx context.Context, namespace, name string, ready bool) error {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	pods := cp.Client.CoreV1().Pods(namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		for _, t := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
			setPodCondition(&pod.Status, corev1.PodCondition{Type: t, Status: status, LastTransitionTime: now})
		}
		_, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("set pod %s/%s ready=%t: %w", namespace, name, ready, err)
	}
	return nil
}

// setPodCondition replaces the condition of c's type, or appends c.
func setPodCondition(status *corev1.PodStatus, c corev1.PodCondition) {
	for i := range status.Conditions {
		if status.Conditions[i].Type == c.Type {
			status.Conditions[i] = c
			return
		}
	}
	status.Conditions = append(status.Conditions, c)
}
