package controlplane

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
)

// startEtcd starts a single-member etcd on loopback and waits until healthy.
func (cp *ControlPlane) startEtcd(ctx context.Context, clientPort, peerPort int) error {
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	args := []string{
		"--name=e2e",
		"--data-dir=" + filepath.Join(cp.Dir, "etcd-data"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=e2e=" + peerURL,
		"--unsafe-no-fsync",
	}
	p, err := cp.startComponent("etcd", args)
	if err != nil {
		return err
	}
	cp.etcd = p
	cp.etcdURL = clientURL
	return waitFor(ctx, p, "etcd health", httpOK(http.DefaultClient, clientURL+"/health", ""))
}
