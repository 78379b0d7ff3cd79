package manifests

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"
)

// manifestExts are the file name endings read from a directory.
var manifestExts = []string{".yaml", ".yml", ".json"}

// Source is the offline source: Kubernetes objects read from manifest files (YAML or JSON,
// multi-document, kind List, typed lists), such as `kubectl get ... -o yaml` prints.
//
// Each path is a file or a directory; of a directory every *.yaml, *.yml and *.json file directly
// inside is read (sorted by name, not recursive, hidden files skipped). Every object passes
// through the Filter; kinds DNS does not read are skipped; legacy v1 Endpoints are mirrored
// into EndpointSlices for services that no EndpointSlice in the whole data set belongs to.
//
// Load reads everything once; Run then polls for changes. Both share one per-file cache.
type Source struct {
	// OnError receives the errors Run meets (a file that fails to parse or cannot be read, a path
	// that disappeared); Run keeps serving that file's last good objects. Each error is reported
	// once, not at every poll. Nil means no report. Set it before Load or Run.
	OnError func(error)
	// PodLabels are the pod labels kept for the client index (client_labels). Set it before Load
	// or Run.
	PodLabels []string

	paths    []string
	filter   source.Filter
	podNames bool

	mu       sync.Mutex
	files    map[string]*fileState // by file path
	reported map[string]string     // key -> message of the last reported listing/stat error
}

// fileState is the cache entry of one file.
type fileState struct {
	path  string
	root  string // the configured path the file was found through
	order int    // position in the listing, for a stable merge order
	size  int64
	mtime time.Time
	objs  *fileObjects // last good objects; nil when the file never parsed
}

// New returns a file source over the given files and directories, serving what the filter keeps.
// With podNames, endpoints without a hostname are named by their pod (endpoint_pod_names).
func New(paths []string, f source.Filter, podNames bool) *Source {
	return &Source{
		paths:    slices.Clone(paths),
		filter:   f,
		podNames: podNames,
		files:    map[string]*fileState{},
		reported: map[string]string{},
	}
}

// Load reads every file and returns the merged data. Any error (missing path, unreadable or
// unparseable file) fails the whole Load and leaves the cache as it was; on success the cache is
// primed, so a following Run only rereads what changed since.
func (m *Source) Load() (*model.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	list, err := m.list()
	if err != nil {
		return nil, err
	}
	next := make(map[string]*fileState, len(list.files))
	for i, fi := range list.files {
		if fi.err != nil {
			return nil, fi.err
		}
		objs, err := m.read(fi.path)
		if err != nil {
			return nil, err
		}
		next[fi.path] = &fileState{path: fi.path, root: fi.root, order: i, size: fi.info.Size(), mtime: fi.info.ModTime(), objs: objs}
	}
	m.files = next
	clear(m.reported)
	return merge(next), nil
}

// Run polls the files every interval, starting at once, and
// returns when ctx is done. A poll looks at the file set, sizes and modification times, rereads
// only the files that changed and, when the data changed, hands the whole merged data set to
// sink.Replace. Nothing is called when nothing changed — in particular the first poll after a
// successful Load calls nothing if the files are as Load read them.
//
// A file that fails to read or parse is reported through OnError and its last good objects stay,
// while changes of other files apply. A file that vanished from a directory drops its objects; a
// configured path that vanished (or cannot be listed) is reported and its files' objects stay.
// Run must not be called twice at the same time.
func (m *Source) Run(ctx context.Context, sink source.Sink, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		if snap := m.poll(); snap != nil {
			sink.Replace(snap)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll rereads changed files and returns the merged data, or nil when nothing changed.
func (m *Source) poll() *model.Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()

	list, _ := m.list()
	changed := false
	next := make(map[string]*fileState, len(m.files))
	seen := map[string]bool{} // keys of errors still present

	// Files under a path that could not be looked at stay as they are.
	for root, err := range list.rootErrs {
		m.report("path "+root, err, seen)
		for p, st := range m.files {
			if st.root == root {
				next[p] = st
			}
		}
	}
	for i, fi := range list.files {
		old := m.files[fi.path]
		if fi.err != nil {
			m.report("file "+fi.path, fi.err, seen)
			if old != nil {
				next[fi.path] = old
			}
			continue
		}
		st := &fileState{path: fi.path, root: fi.root, order: i, size: fi.info.Size(), mtime: fi.info.ModTime()}
		if old != nil && old.size == st.size && old.mtime.Equal(st.mtime) {
			st.objs = old.objs
			next[fi.path] = st
			continue
		}
		objs, err := m.read(fi.path)
		if now, serr := os.Stat(fi.path); serr != nil || now.Size() != st.size || !now.ModTime().Equal(st.mtime) {
			// Written to while read: keep the old state and read it again at the next poll.
			if old != nil {
				next[fi.path] = old
			}
			continue
		}
		if err != nil {
			// Remember the new size and time, so the error is reported once per change.
			m.report("file "+fi.path, err, nil)
			if old != nil {
				st.objs = old.objs
			}
			next[fi.path] = st
			continue
		}
		st.objs = objs
		next[fi.path] = st
		changed = true
	}
	for p, st := range m.files {
		if _, ok := next[p]; !ok && st.objs != nil {
			changed = true // the file is gone
		}
	}
	for k := range m.reported {
		if !seen[k] {
			delete(m.reported, k)
		}
	}
	m.files = next
	if !changed {
		return nil
	}
	return merge(next)
}

// report hands err to OnError. Errors of a listing or stat (seen != nil) are reported only when
// their message changed since the last poll.
func (m *Source) report(key string, err error, seen map[string]bool) {
	if seen != nil {
		seen[key] = true
		if m.reported[key] == err.Error() {
			return
		}
		m.reported[key] = err.Error()
	}
	if m.OnError != nil {
		m.OnError(err)
	}
}

// read reads and decodes one file.
func (m *Source) read(path string) (*fileObjects, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeManifests(path, f, m.filter, m.podNames, m.PodLabels)
}

type listedFile struct {
	path, root string
	info       os.FileInfo
	err        error // stat error of a directory entry
}

type listing struct {
	files    []listedFile
	rootErrs map[string]error
}

// list expands the configured paths into files. The error returned is the first one met, for Load;
// poll looks at rootErrs and the per-file errors instead.
func (m *Source) list() (listing, error) {
	var (
		l     = listing{rootErrs: map[string]error{}}
		first error
		seen  = map[string]bool{}
	)
	fail := func(err error) {
		if first == nil {
			first = err
		}
	}
	add := func(lf listedFile) {
		if seen[lf.path] {
			return
		}
		seen[lf.path] = true
		if lf.err != nil {
			fail(lf.err)
		}
		l.files = append(l.files, lf)
	}
	for _, root := range m.paths {
		info, err := os.Stat(root)
		if err != nil {
			l.rootErrs[root] = err
			fail(err)
			continue
		}
		if !info.IsDir() {
			add(listedFile{path: root, root: root, info: info})
			continue
		}
		entries, err := os.ReadDir(root) // sorted by name
		if err != nil {
			l.rootErrs[root] = err
			fail(err)
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || !hasManifestExt(name) {
				continue
			}
			p := filepath.Join(root, name)
			info, err := os.Stat(p) // follows symlinks, as in ConfigMap volumes
			switch {
			case err != nil:
				add(listedFile{path: p, root: root, err: err})
			case info.IsDir():
			default:
				add(listedFile{path: p, root: root, info: info})
			}
		}
	}
	if first != nil {
		return l, first
	}
	if len(m.paths) == 0 {
		return l, errors.New("no manifest paths")
	}
	return l, nil
}

func hasManifestExt(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return slices.Contains(manifestExts, ext)
}

// merge builds the data set from the files' last good objects. When two files (or documents) hold
// the same object, the later one in listing order wins. Legacy Endpoints are mirrored only for
// services that no EndpointSlice belongs to. Each list is sorted by key.
func merge(files map[string]*fileState) *model.Snapshot {
	states := make([]*fileState, 0, len(files))
	for _, st := range files {
		if st.objs != nil {
			states = append(states, st)
		}
	}
	slices.SortFunc(states, func(a, b *fileState) int {
		if a.order != b.order {
			return a.order - b.order
		}
		return strings.Compare(a.path, b.path)
	})

	svcs := map[string]*model.Service{}
	eps := map[string]*model.EndpointSlice{}
	pods := map[string]*model.Pod{}
	nss := map[string]*model.Namespace{}
	legacy := map[string]mirroredEndpoints{}
	for _, st := range states {
		for _, s := range st.objs.services {
			svcs[s.Key()] = s
		}
		for _, s := range st.objs.slices {
			eps[s.Key()] = s
		}
		for _, p := range st.objs.pods {
			pods[p.Key()] = p
		}
		for _, n := range st.objs.namespaces {
			nss[n.Name] = n
		}
		for _, e := range st.objs.endpoints {
			legacy[e.namespace+"/"+e.service] = e
		}
	}
	if len(legacy) > 0 {
		sliced := map[string]bool{}
		for _, s := range eps {
			sliced[s.Namespace+"/"+s.Service] = true
		}
		for key, e := range legacy {
			if sliced[key] {
				continue
			}
			for _, s := range e.slices {
				if _, ok := eps[s.Key()]; !ok {
					eps[s.Key()] = s
				}
			}
		}
	}
	return &model.Snapshot{
		Services:   sortedValues(svcs),
		Slices:     sortedValues(eps),
		Pods:       sortedValues(pods),
		Namespaces: sortedValues(nss),
	}
}

func sortedValues[T any](m map[string]T) []T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}
