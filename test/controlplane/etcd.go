package controlplane

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
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

// DeleteStored deletes an object straight from etcd, by its key under the API server's storage
// prefix (such as "services/specs/NAMESPACE/NAME"), through etcd's JSON gateway: a change no
// watch reports, which only a fresh list can show. Use it while the API server is stopped, whose
// watch cache would otherwise go out of step with etcd.
func (cp *ControlPlane) DeleteStored(ctx context.Context, key string) error {
	body, err := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte("/registry/" + key))})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cp.etcdURL+"/v3/kv/deleterange", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("delete %s from etcd: %w", key, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("delete %s from etcd: %w", key, err)
	}
	defer resp.Body.Close()
	var out struct {
		Deleted string `json:"deleted"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("delete %s from etcd: status %s, %v", key, resp.Status, err)
	}
	if out.Deleted != "1" {
		return fmt.Errorf("delete %s from etcd: no such key", key)
	}
	return nil
}
