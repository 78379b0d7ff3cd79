package cluster

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"golang.org/x/sync/errgroup"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// Pod is the pod behind one ready endpoint: the object its targetRef names, with its addresses.
type Pod struct {
	Namespace, Name string
	IPs             []string // IPv4, then IPv6 for a dual-stack service
}

// Pods are the pods behind the ready endpoints of f. A dual-stack service's IPv4 and IPv6
// endpoints j name the same pod, so that pod has both addresses, as in a dual-stack cluster.
func (f *Fixture) Pods() []Pod {
	var pods []Pod
	for _, s := range f.Services {
		// Endpoints are the IPv4 addresses in endpoint order, then as many IPv6 ones.
		n := len(s.Endpoints)
		if s.DualStack {
			n /= 2
		}
		for j := range n {
			p := Pod{Namespace: s.Namespace, Name: podName(s.Name, j), IPs: []string{s.Endpoints[j]}}
			if s.DualStack {
				p.IPs = append(p.IPs, s.Endpoints[n+j])
			}
			pods = append(pods, p)
		}
	}
	return pods
}

// CreatePods creates pods through the API server of cfg, with workers in flight, each on the node
// the endpoints name and then Running with its addresses, as its kubelet would report it: what
// "pods verified" reads. No kubelet runs them and no controller that would remove them runs.
// Progress goes to log.
func CreatePods(ctx context.Context, cfg *rest.Config, pods []Pod, workers int, log io.Writer) error {
	client, err := FastClient(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for _, p := range pods {
		g.Go(func() error {
			if err := createPod(gctx, client, p); err != nil {
				return err
			}
			if n := done.Add(1); n%int64(max(len(pods)/10, 1)) == 0 {
				fmt.Fprintf(log, "cluster: %d/%d pods running (%s)\n", n, len(pods), time.Since(start).Round(time.Second))
			}
			return nil
		})
	}
	return g.Wait()
}

// createPod creates p and sets its status: creation ignores the status, which only the status
// subresource writes.
func createPod(ctx context.Context, client kubernetes.Interface, p Pod) error {
	obj := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace},
		Spec: corev1.PodSpec{
			NodeName:   controlplane.NodeName,
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	pods := client.CoreV1().Pods(p.Namespace)
	created, err := pods.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	created.Status.Phase = corev1.PodRunning
	created.Status.PodIP = p.IPs[0]
	for _, ip := range p.IPs {
		created.Status.PodIPs = append(created.Status.PodIPs, corev1.PodIP{IP: ip})
	}
	if _, err := pods.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set status of pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}
