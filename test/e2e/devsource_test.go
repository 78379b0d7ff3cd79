package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// dumpManifests writes what the API holds (namespaces, services, EndpointSlices, pods) as a
// stream of JSON objects the plugin's manifests source reads, for CLUSTERDNS_E2E_SOURCE=manifests.
func dumpManifests(ctx context.Context, cp *controlplane.ControlPlane, path string) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	write := func(kind, apiVersion string, items any) error {
		return enc.Encode(map[string]any{"apiVersion": "v1", "kind": "List", "items": withType(items, apiVersion, kind)})
	}
	all := metav1.ListOptions{}
	nss, err := cp.Client.CoreV1().Namespaces().List(ctx, all)
	if err != nil {
		return "", err
	}
	svcs, err := cp.Client.CoreV1().Services("").List(ctx, all)
	if err != nil {
		return "", err
	}
	eps, err := cp.Client.DiscoveryV1().EndpointSlices("").List(ctx, all)
	if err != nil {
		return "", err
	}
	pods, err := cp.Client.CoreV1().Pods("").List(ctx, all)
	if err != nil {
		return "", err
	}
	for _, w := range []struct {
		kind, version string
		items         any
	}{
		{"Namespace", "v1", nss.Items},
		{"Service", "v1", svcs.Items},
		{"EndpointSlice", "discovery.k8s.io/v1", eps.Items},
		{"Pod", "v1", pods.Items},
	} {
		if err := write(w.kind, w.version, w.items); err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
	}
	return path, f.Close()
}

// withType round-trips items through JSON to add apiVersion and kind, which typed List calls drop.
func withType(items any, apiVersion, kind string) []map[string]any {
	b, _ := json.Marshal(items)
	var out []map[string]any
	_ = json.Unmarshal(b, &out)
	for _, o := range out {
		o["apiVersion"], o["kind"] = apiVersion, kind
	}
	return out
}
