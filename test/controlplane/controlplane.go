// Package controlplane runs a real Kubernetes control plane (etcd,
// kube-apiserver and kube-controller-manager, no kubelet) on 127.0.0.1 for
// end-to-end tests.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options configure Start.
type Options struct {
	// BinDir holds etcd, kube-apiserver and kube-controller-manager; see BinDir.
	BinDir string
	// Dir is an existing work directory for data, credentials and logs,
	// typically t.TempDir().
	Dir string
	// DualStack gives Services an IPv6 range next to the IPv4 one.
	DualStack bool
	// Log receives progress messages; nil discards them.
	Log io.Writer
}

// ControlPlane is a running control plane. Its admin identity bypasses RBAC.
type ControlPlane struct {
	// Kubeconfig is the path of a kubeconfig file for the admin identity.
	Kubeconfig string
	// RESTConfig and Client use the same identity.
	RESTConfig *rest.Config
	Client     kubernetes.Interface
	// APIServerURL is the https URL of kube-apiserver; it survives restarts.
	APIServerURL string
	// Dir is the work directory from Options.
	Dir string

	binDir    string
	dualStack bool
	log       io.Writer
	creds     *credentials
	etcdURL   string

	mu                sync.Mutex // guards apiserver, controllerManager and stopped
	etcd              *process
	apiserver         *process
	apiserverFlags    []string
	controllerManager *process
	stopped           bool
}

// Start brings up etcd, kube-apiserver and kube-controller-manager, creates
// the Node pods are bound to, and returns once all are ready or ctx ends.
// On error everything started is stopped again.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	if opts.BinDir == "" || opts.Dir == "" {
		return nil, errors.New("controlplane: Options.BinDir and Options.Dir are required")
	}
	cp := &ControlPlane{
		Dir:       opts.Dir,
		binDir:    opts.BinDir,
		dualStack: opts.DualStack,
		log:       opts.Log,
	}
	if cp.log == nil {
		cp.log = io.Discard
	}
	if err := cp.start(ctx); err != nil {
		logs := cp.Logs()
		cp.Stop()
		return nil, fmt.Errorf("start control plane: %w\n%s", err, logs)
	}
	return cp, nil
}

func (cp *ControlPlane) start(ctx context.Context) error {
	creds, err := writeCredentials(cp.Dir)
	if err != nil {
		return err
	}
	cp.creds = creds
	cp.Kubeconfig = creds.kubeconfig
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	if err := cp.startEtcd(ctx, ports[0], ports[1]); err != nil {
		return err
	}
	fmt.Fprintf(cp.log, "controlplane: etcd ready at %s\n", cp.etcdURL)

	cp.APIServerURL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	cp.apiserverFlags = cp.apiserverArgs(ports[2])
	if err := cp.StartAPIServer(ctx); err != nil {
		return err
	}
	fmt.Fprintf(cp.log, "controlplane: kube-apiserver ready at %s\n", cp.APIServerURL)
	if err := cp.connect(); err != nil {
		return err
	}
	if err := createReadyNode(ctx, cp.Client); err != nil {
		return err
	}
	if err := cp.startControllerManager(ctx); err != nil {
		return err
	}
	fmt.Fprintf(cp.log, "controlplane: kube-controller-manager ready; kubeconfig %s\n", cp.Kubeconfig)
	return nil
}

// connect writes the kubeconfig and builds the clients from it, so tests use
// exactly what the processes under test will read.
func (cp *ControlPlane) connect() error {
	if err := cp.creds.writeKubeconfig(cp.APIServerURL); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	// Tests create objects by the hundred: client-go's default 5 requests/s would take minutes.
	cfg.QPS, cfg.Burst = 500, 1000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("build client: %w", err)
	}
	cp.RESTConfig = cfg
	cp.Client = client
	return nil
}

// startComponent starts the named binary from the bin dir, logging to
// <Dir>/<name>.log.
func (cp *ControlPlane) startComponent(name string, args []string) (*process, error) {
	p, err := startProcess(name, filepath.Join(cp.binDir, name), cp.logPath(name), args)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cp.log, "controlplane: started %s (pid %d), log %s\n", name, p.cmd.Process.Pid, p.logPath)
	return p, nil
}

func (cp *ControlPlane) logPath(name string) string {
	return filepath.Join(cp.Dir, name+".log")
}

// Stop stops every component by PID, in reverse start order. It is
// idempotent.
func (cp *ControlPlane) Stop() {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.stopped {
		return
	}
	cp.stopped = true
	for _, p := range []*process{cp.controllerManager, cp.apiserver, cp.etcd} {
		if p == nil {
			continue
		}
		if err := p.stop(); err != nil {
			fmt.Fprintf(cp.log, "controlplane: %v\n", err)
		}
	}
}
