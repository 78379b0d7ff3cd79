package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// apiserverArgs are the kube-apiserver flags; they stay the same across
// restarts so the apiserver comes back on the same port with the same state.
func (cp *ControlPlane) apiserverArgs(port int) []string {
	return []string{
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--tls-cert-file=" + cp.creds.certFile,
		"--tls-private-key-file=" + cp.creds.keyFile,
		"--etcd-servers=" + cp.etcdURL,
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=" + cp.serviceCIDRs(),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + cp.creds.saKeyFile,
		"--service-account-signing-key-file=" + cp.creds.saKeyFile,
		"--token-auth-file=" + cp.creds.tokenFile,
		"--authorization-mode=RBAC",
		// Pods are created before the serviceaccount controller has made the
		// namespace's default ServiceAccount, and no kubelet ever mounts it.
		"--disable-admission-plugins=ServiceAccount",
		"--profiling=false",
	}
}

// serviceCIDRs is the --service-cluster-ip-range value.
func (cp *ControlPlane) serviceCIDRs() string {
	cidrs := []string{"10.96.0.0/16"}
	if cp.dualStack {
		cidrs = append(cidrs, "fd00:10:96::/112")
	}
	return strings.Join(cidrs, ",")
}

// StartAPIServer starts kube-apiserver, after StopAPIServer or during Start,
// on the same port with the same flags, and waits until /readyz is ok.
func (cp *ControlPlane) StartAPIServer(ctx context.Context) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.stopped {
		return errors.New("control plane is stopped")
	}
	if cp.apiserver != nil && cp.apiserver.exitErr() == nil {
		return errors.New("kube-apiserver is already running")
	}
	p, err := cp.startComponent("kube-apiserver", cp.apiserverFlags)
	if err != nil {
		return err
	}
	cp.apiserver = p
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(cp.creds.certPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer client.CloseIdleConnections()
	return waitFor(ctx, p, "kube-apiserver /readyz", httpOK(client, cp.APIServerURL+"/readyz", cp.creds.adminToken))
}

// StopAPIServer kills kube-apiserver only, abruptly like a crash, leaving
// etcd and the controller manager running, to test how clients cope with an
// unreachable apiserver. (A graceful stop would wait on open watches.)
func (cp *ControlPlane) StopAPIServer() error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.apiserver == nil {
		return errors.New("kube-apiserver was never started")
	}
	return cp.apiserver.kill()
}
