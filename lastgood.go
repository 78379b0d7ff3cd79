package clusterdns

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/snapshot"
	"github.com/clusterdns/clusterdns/internal/source"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// lastGood keeps the data served in a file (the snapshot option), so that a CoreDNS started while
// the API server is down still answers: the kubernetes plugin's data lives only as long as its
// process (coredns#7805, #8273).
type lastGood struct {
	path   string
	maxAge time.Duration // files older than this are refused; 0 takes any age
	delay  time.Duration // how long changes gather before a write
	keep   source.Filter // what is served now: the file may be of another Corefile
	loaded snapshot.Meta // of the file loaded at start, if any
}

// servedSince is when the snapshot being served was written; zero while live data is served.
var servedSince atomic.Int64

// load puts the file's data in the store and reports whether it did. A file that is missing,
// damaged or too old is refused with one log line.
func (l *lastGood) load(st *store) bool {
	snap, meta, err := snapshot.Read(l.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Infof("snapshot %s: none yet, one is written once synced with the API server", l.path)
		return false
	case err != nil:
		log.Errorf("snapshot refused: %v", err)
		return false
	}
	age := time.Since(meta.Written)
	if l.maxAge > 0 && age > l.maxAge {
		log.Errorf("snapshot %s refused: written %s ago, more than its maximum age %s", l.path, age.Round(time.Second), l.maxAge)
		return false
	}
	st.Replace(l.kept(snap))
	l.loaded = meta
	servedSince.Store(meta.Written.UnixNano())
	return true
}

// run writes the store's data to the file once the data is live and the cluster is known, then
// after changes, gathered for l.delay, until ctx is done. A write that fails is logged and
// tried again at the next change.
func (l *lastGood) run(ctx context.Context, st *store, live func(context.Context) bool, client kubernetes.Interface) {
	changed := st.watch()
	if !live(ctx) {
		return
	}
	if servedSince.Swap(0) != 0 {
		log.Infof("synced with the API server: its data replaces the snapshot's")
	}
	cluster, err := clusterID(ctx, client)
	if err != nil {
		return // ctx is done
	}
	if l.loaded.Cluster != "" && l.loaded.Cluster != cluster {
		log.Warningf("snapshot %s was written by another cluster (kube-system %s, here %s): this cluster's data replaces it", l.path, l.loaded.Cluster, cluster)
	}
	// The first write at once; then one write at most every l.delay while changes go on.
	timer := time.NewTimer(0)
	defer timer.Stop()
	pending, failed := true, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			if !pending {
				timer.Reset(l.delay)
				pending = true
			}
			continue
		case <-timer.C:
			pending = false
		}
		err := snapshot.Write(l.path, st.snapshot(), snapshot.Meta{Cluster: cluster, Written: time.Now()})
		switch {
		case err != nil && !failed:
			log.Errorf("%v; the snapshot is written again at the next change", err)
		case err == nil && failed:
			log.Infof("snapshot %s written again", l.path)
		}
		failed = err != nil
	}
}

// kept is snap without the objects of namespaces not served now (the namespaces option): a
// namespace's list takes back only what is in that namespace. The file keeps no labels: objects
// that the label options leave out now go when the lists come, which take back what they lack.
func (l *lastGood) kept(snap *model.Snapshot) *model.Snapshot {
	if len(l.keep.Namespaces) == 0 {
		return snap
	}
	in := l.keep.InNamespaces
	return &model.Snapshot{
		Services:   slices.DeleteFunc(snap.Services, func(o *model.Service) bool { return !in(o.Namespace) }),
		Slices:     slices.DeleteFunc(snap.Slices, func(o *model.EndpointSlice) bool { return !in(o.Namespace) }),
		Pods:       slices.DeleteFunc(snap.Pods, func(o *model.Pod) bool { return !in(o.Namespace) }),
		Namespaces: slices.DeleteFunc(snap.Namespaces, func(o *model.Namespace) bool { return !in(o.Name) }),
	}
}

// clusterID is the UID of the kube-system namespace: it names the cluster for as long as the
// cluster lives. It is listed, not read, since listing namespaces is all this plugin may do.
func clusterID(ctx context.Context, client kubernetes.Interface) (string, error) {
	told := false
	for {
		list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", metav1.NamespaceSystem).String(),
		})
		if err == nil {
			for _, ns := range list.Items {
				if ns.Name == metav1.NamespaceSystem && ns.UID != "" {
					return string(ns.UID), nil
				}
			}
			err = errors.New("no kube-system namespace")
		}
		if !told {
			log.Errorf("snapshot not written until the cluster can be told by its kube-system namespace: %v", err)
			told = true
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(5 * time.Second):
		}
	}
}
