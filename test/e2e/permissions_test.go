package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// TestFaultMissingPermissions runs CoreDNS as an account that may list and watch everything but
// namespaces: it says exactly what is missing, once, and counts the refusals; it serves what it
// can, never answers NXDOMAIN from incomplete data, and is not ready.
func TestFaultMissingPermissions(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	kubeconfig := limitedKubeconfig(ctx, t, s, []string{"services", "pods"}, []string{"endpointslices"})
	o := s.corefileOptions()
	o.kubeconfig, o.startupTimeout = kubeconfig, 2*time.Second
	c := s.startExtraCoreDNS(t, "no-namespaces", o)

	hostnames := svcName("hostnames", "default")
	if _, err := c.awaitAnswer(ctx, time.Now(), hostnames, dns.TypeA, answers(aKey(hostnames, s.sc.clusterIP("default/hostnames", true))), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // several retries of the refused list
	runCases(t, c, []dnsCase{
		{"what can be served is served", hostnames, dns.TypeA, answers(aKey(hostnames, s.sc.clusterIP("default/hostnames", true)))},
		{"an unknown name is not denied from incomplete data", svcName("nothere", "default"), dns.TypeA, expect{rcode: dns.RcodeServerFailure, anyAnswer: true, notAuthoritative: true}},
	})
	if code, _, err := c.readyStatus(ctx); err == nil && code == 200 {
		t.Error("/ready is 200 with the namespaces refused")
	}
	log, err := os.ReadFile(c.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "RBAC: list/watch of namespaces refused"); n != 1 {
		t.Errorf("the refusal of namespaces is logged %d times, want once:\n%s", n, c.LogTail(4096))
	}
	if v, ok := metricValue(ctx, c, `coredns_clusterdns_api_request_errors_total{resource="namespaces"}`); !ok || v < 1 {
		t.Errorf("api_request_errors_total for namespaces is %v (found %v), want the refusals counted", v, ok)
	}
}

// limitedKubeconfig writes a kubeconfig for a new service account allowed to list and watch only
// the given core and discovery.k8s.io resources.
func limitedKubeconfig(ctx context.Context, t *testing.T, s *suite, core, discovery []string) string {
	t.Helper()
	client := s.cp.Client
	const name, ns = "clusterdns-limited", "kube-system"
	verbs := []string{"list", "watch"}
	if _, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: core, Verbs: verbs},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: discovery, Verbs: verbs},
	}}
	if _, err := client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}},
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = client.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
		_ = client.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
		_ = client.CoreV1().ServiceAccounts(ns).Delete(ctx, name, metav1.DeleteOptions{})
	})
	token, err := client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := s.cp.RESTConfig
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: rc.CAData, CertificateAuthority: rc.CAFile, InsecureSkipTLSVerify: rc.Insecure}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token.Status.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
