package clusterdns

import (
	"context"
	"fmt"
	"time"

	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/coredns/coredns/coremain"
	"k8s.io/client-go/kubernetes"
)

// kubeSource serves the live cluster through client-go reflectors.
type kubeSource struct {
	at             string // the Corefile's place that says how to reach the API server, for errors
	client         kube.ClientConfig
	watch          kube.WatchConfig
	startupTimeout time.Duration
	// connect makes the API client (kube.NewClient; tests hand in a fake clientset).
	connect func(kube.ClientConfig) (kubernetes.Interface, error)
	// lastGood is the snapshot option's file; nil without it.
	lastGood *lastGood
	// imports watches ServiceImports (multicluster); nil without it.
	imports *importsSource
}

// userAgent names this plugin and the CoreDNS it runs in, so API server audit logs tell it apart.
func userAgent() string {
	return fmt.Sprintf("clusterdns CoreDNS/%s", coremain.CoreVersion)
}

// Start connects and waits up to startup_timeout for the first complete list of everything. Past
// that it serves what it has: names it does not know yet get SERVFAIL until the sync completes.
func (s *kubeSource) Start(ctx context.Context, st *store, synced func()) error {
	health := &kube.Health{Report: reportHealth, Request: observeRequest}
	apiReachable.Set(1)
	s.client.Health = health
	client, err := s.connect(s.client)
	if err != nil {
		return fmt.Errorf("%s: %w", s.at, err)
	}
	// The snapshot's names are answered at once; the rest waits for the first sync or the timeout.
	fromFile := s.lastGood != nil && s.lastGood.load(st)
	// The first list is built once, when complete (or at the timeout, as far as it got).
	release := st.hold()
	w := kube.Watch(ctx, client, s.watch, st)
	if s.imports != nil {
		if err := s.imports.start(ctx, client, s.client, s.watch, st); err != nil {
			return fmt.Errorf("%s: %w", s.at, err)
		}
	}
	done := make(chan struct{})
	go func() {
		if w.WaitForSync(ctx) {
			release()
			synced()
			close(done)
		}
	}()
	if s.lastGood != nil {
		go s.lastGood.run(ctx, st, w.WaitForSync, client)
	}
	if fromFile {
		// Serve at once: the snapshot answers its names; after startup_timeout it answers the
		// rest too, unless the API server has been synced with by then.
		go func() {
			if s.timedOut(ctx, done) {
				log.Warningf("not synced with the API server after %s: serving the snapshot %s, written %s ago, until it is",
					s.startupTimeout, s.lastGood.path, time.Since(s.lastGood.loaded.Written).Round(time.Second))
				release()
				synced()
			}
		}()
		return nil
	}
	if s.timedOut(ctx, done) {
		release()
		log.Warningf("not synced with the API server after %s: names not known yet get SERVFAIL until it is", s.startupTimeout)
	}
	return nil
}

// timedOut waits for done, ctx or startup_timeout, and reports whether the timeout came first.
func (s *kubeSource) timedOut(ctx context.Context, done <-chan struct{}) bool {
	timer := time.NewTimer(s.startupTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-ctx.Done():
	case <-timer.C:
		return true
	}
	return false
}

func observeRequest(verb, code string, d time.Duration) {
	if code == "" {
		code = "<error>"
	}
	apiRequests.WithLabelValues(code, verb).Inc()
	apiRequestDuration.WithLabelValues(verb).Observe(d.Seconds())
}

// reportHealth logs once per outage and once per refused resource, never per retry.
func reportHealth(e kube.Event) {
	switch e.Kind {
	case kube.RequestError:
		requestErrors.WithLabelValues(e.Resource).Inc()
	case kube.Down:
		apiReachable.Set(0)
		log.Warningf("API server unreachable (%s: %v): serving the last data until it is back", e.Resource, e.Err)
	case kube.Up:
		apiReachable.Set(1)
		log.Infof("API server reachable again after %s", e.DownFor.Round(time.Second))
	case kube.Forbidden:
		log.Errorf("RBAC: list/watch of %s refused: %v; grant list and watch on %s to this server's account", e.Resource, e.Err, e.Resource)
	}
}
