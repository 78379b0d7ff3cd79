package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unique"
	"unsafe"

	"github.com/clusterdns/clusterdns/internal/model"
)

func TestReadReturnsWhatWriteWrote(t *testing.T) {
	for _, tt := range []struct {
		name string
		snap *model.Snapshot
		meta Meta
	}{
		{"every shape of object", richSnapshot(), richMeta},
		{"nothing", &model.Snapshot{}, Meta{}},
		{"a meta in another location", &model.Snapshot{}, Meta{Cluster: "c", Written: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap, meta, err := Read(write(t, tt.snap, tt.meta))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(snap, tt.snap) {
				t.Errorf("read\n%+v\nwant\n%+v", snap, tt.snap)
			}
			if meta.Cluster != tt.meta.Cluster || !meta.Written.Equal(tt.meta.Written) || meta.Written.Location() != time.UTC {
				t.Errorf("read meta %+v, want %+v in UTC", meta, tt.meta)
			}
		})
	}
}

func TestReadKeepsAddressFormsNamesAndZonesOfEndpoints(t *testing.T) {
	// reflect.DeepEqual above compares packed bytes; this says what that means to a reader.
	snap, _, err := Read(write(t, richSnapshot(), richMeta))
	if err != nil {
		t.Fatal(err)
	}
	eps := snap.Slices[2].Endpoints
	want := []model.Endpoint{{Addr: ip("10.0.1.1"), Name: "db-0", Zone: "us-east-1.a"}, {Addr: ip("fd00::1:2"), Name: "db-1", Zone: "eu-west-1b"}, {Addr: ip("10.0.1.3")}}
	var got []model.Endpoint
	for i := range eps.Len() {
		got = append(got, eps.At(i))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("endpoints %v, want %v (IPv4 in a slice with IPv6 comes back as IPv4)", got, want)
	}
}

func TestWriteMakesTheSameFileForTheSameData(t *testing.T) {
	a, b := encode(richSnapshot(), richMeta), encode(richSnapshot(), richMeta)
	if !bytes.Equal(a, b) {
		t.Error("two encodings of the same snapshot differ (label order?)")
	}
}

func TestHandBuiltEmptyFileIsWhatWriteWrites(t *testing.T) {
	// Guards the format the package comment describes.
	want := body{}.str("").varint(0).uvarint(0).uvarint(0).uvarint(0).uvarint(0).uvarint(0).uvarint(0).uvarint(0).file()
	if got := encode(&model.Snapshot{}, Meta{Written: time.Unix(0, 0)}); !bytes.Equal(got, want) {
		t.Errorf("encoded\n%q\nwant\n%q", got, want)
	}
}

func TestReadInternsRepeatedStringsAndSharesPortLists(t *testing.T) {
	snap, _, err := Read(write(t, richSnapshot(), richMeta))
	if err != nil {
		t.Fatal(err)
	}
	api, v6first, db := snap.Services[0], snap.Services[1], snap.Services[2]
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"namespace is the interned one", same(api.Namespace, unique.Make("prod").Value())},
		{"namespaces of services share", same(api.Namespace, db.Namespace)},
		{"namespace of a pod is that of a service", same(snap.Pods[0].Namespace, api.Namespace)},
		{"port name is the interned one", same(api.Ports[0].Name, unique.Make("http").Value())},
		{"protocol is the interned one", same(api.Ports[1].Protocol, unique.Make("udp").Value())},
		{"label value is the namespace", same(snap.Namespaces[1].Labels["tier"], api.Namespace)},
		{"services with the same ports share the list", &api.Ports[0] == &v6first.Ports[0]},
		{"slices with the same ports share the list", &snap.Slices[0].Ports[0] == &snap.Slices[1].Ports[0]},
		{"a slice's service name is its service's", same(snap.Slices[0].Service, api.Name)},
	} {
		if !tt.ok {
			t.Errorf("%s: not so", tt.name)
		}
	}
}

func TestReadRefusesDamagedFiles(t *testing.T) {
	valid := encode(richSnapshot(), richMeta)
	// objects is a file of start then the four parts.
	objects := func(namespaces, services, eps, pods body) body {
		return append(append(append(append(slices.Clone(start), namespaces...), services...), eps...), pods...)
	}
	none := body{}.uvarint(0)
	for _, tt := range []struct {
		name string
		file []byte
		want string // in the error
	}{
		{"empty", nil, "not a clusterdns snapshot"},
		{"wrong magic", append([]byte("clusterdns-snapshoT"), valid[len(magic):]...), "not a clusterdns snapshot"},
		{"another format", append([]byte("kubernetes-snapshot"), valid[len(magic):]...), "not a clusterdns snapshot"},
		{"unknown version", append(append([]byte(magic), version+1), valid[len(magic)+1:]...), fmt.Sprintf("format version %d", version+1)},
		{"header only", []byte(magic + string(rune(version))), "truncated"},
		{"truncated", valid[:len(valid)-1], "checksum mismatch"},
		{"truncated in the checksum", valid[:len(valid)-3], "checksum mismatch"},
		{"a bit flipped", flip(valid, 8*len(valid)/2), "checksum mismatch"},
		{"trailing garbage", append(bytes.Clone(valid), 0), "checksum mismatch"},
		{"checksum only", body{}.file(), "bad varint"},
		{"varint longer than 64 bits", body{}.raw(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01).file(), "bad varint"},
		{"absurd cluster length", body{}.uvarint(1<<64 - 1).file(), "items in"},
		{"nanoseconds past a second", body{}.str("").varint(0).uvarint(uint64(time.Second)).file(), "1000000000 nanoseconds"},
		{"absurd string count", body{}.str("").varint(0).uvarint(0).uvarint(1 << 62).file(), "items in"},
		{"absurd string length", body{}.str("").varint(0).uvarint(0).uvarint(1).uvarint(1 << 40).file(), "items in"},
		{"absurd port list count", body{}.str("").varint(0).uvarint(0).uvarint(0).uvarint(1 << 40).file(), "items in"},
		{"port over 65535", body{}.str("").varint(0).uvarint(0).uvarint(1).str("p").uvarint(1).uvarint(1).uvarint(0).uvarint(0).uvarint(1 << 16).file(), "port 65536"},
		{"bytes after the last object", objects(none, none, none, none).raw(0).file(), "1 bytes after the last object"},
		{"string index out of the table", objects(body{}.uvarint(1).uvarint(1).uvarint(0), none, none, none).file(), "string 1 of 1"},
		{"absurd label count", objects(body{}.uvarint(1).uvarint(0).uvarint(1<<50), none, none, none).file(), "items in"},
		{"absurd service count", objects(none, body{}.uvarint(1<<62), none, none).file(), "items in"},
		{"unknown service flags", objects(none, service(4, body{}.uvarint(0), 0), none, none).file(), "unknown service flags 0x4"},
		{"address of 5 bytes", objects(none, service(0, body{}.uvarint(1).raw(5, 1, 2, 3, 4, 5), 0), none, none).file(), "address of 5 bytes"},
		{"port list out of the table", objects(none, service(0, body{}.uvarint(0), 1), none, none).file(), "port list 1 of 0"},
		{"service out of range", objects(none, none, slice(body{}.uvarint(1), 0, 0, 0), none).file(), "service 1 of 0"},
		{"absurd endpoint count", objects(none, none, slice(body{}.uvarint(0).str("s"), 1<<50, 0, 0), none).file(), "endpoints in"},
		{"16-byte endpoints in 4 bytes", objects(none, none, slice(body{}.uvarint(0).str("s"), 1, endpointsWide, 4), none).file(), "endpoints in"},
		{"unknown endpoint flags", objects(none, none, slice(body{}.uvarint(0).str("s"), 0, 8, 0), none).file(), "unknown endpoint flags 0x8"},
		{"absurd pod address count", objects(none, none, none, body{}.uvarint(1).uvarint(0).str("p").uvarint(1<<40)).file(), "items in"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "snapshot")
			if err := os.WriteFile(path, tt.file, 0o600); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			snap, _, err := Read(path)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) || snap != nil {
				t.Fatalf("read %v, %v; want an error wrapping ErrCorrupt", snap, err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || !strings.Contains(msg, path) {
				t.Errorf("error %q, want one naming the file and saying %q", msg, tt.want)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("allocated %d bytes for a %d-byte file", n, len(tt.file))
			}
		})
	}
}

func TestHandBuiltFilesAreValidWithoutTheirDamage(t *testing.T) {
	// The damaged files above differ from these by the one thing they are named after.
	for _, f := range []body{
		body{}.str("").varint(0).uvarint(0).uvarint(1).str("p").uvarint(1).uvarint(1).uvarint(0).uvarint(0).uvarint(1<<16 - 1).
			uvarint(0).uvarint(0).uvarint(0).uvarint(0),
		append(slices.Clone(start), body{}.uvarint(1).uvarint(0).uvarint(0)...).uvarint(0).uvarint(0).uvarint(0),
		append(append(slices.Clone(start), 0), service(3, body{}.uvarint(2).raw(4, 1, 2, 3, 4).raw(0), 0)...).uvarint(0).uvarint(0),
		append(append(slices.Clone(start), 0, 0), slice(body{}.uvarint(0).str("s"), 1, endpointsWide|endpointsNamed, 16).str("web-0")...).uvarint(0),
	} {
		if _, _, err := decode(f.file()); err != nil {
			t.Errorf("%q: %v", f, err)
		}
	}
}

// service is a services part of one service: namespace index 0, name "a", flags, the addresses
// part given, no external name and the port list reference.
func service(flags byte, addrs body, ports uint64) body {
	return append(body{}.uvarint(1).uvarint(0).str("a").raw(flags), addrs...).str("").uvarint(ports)
}

// slice is a slices part of one slice: namespace index 0, name "a", the service part given (a
// reference, then a name if it is 0), no ports, the epoch, n endpoints with flags, and addrs bytes.
func slice(svc body, n uint64, flags byte, addrs int) body {
	b := body{}.uvarint(1).uvarint(0).str("a")
	b = append(b, svc...)
	return b.uvarint(0).varint(0).uvarint(0).uvarint(n).raw(flags).raw(make([]byte, addrs)...)
}

func flip(b []byte, bit int) []byte {
	b = bytes.Clone(b)
	b[bit/8] ^= 1 << (bit % 8)
	return b
}

func TestReadRefusesEveryTruncationAndEveryFlippedBit(t *testing.T) {
	valid := encode(richSnapshot(), richMeta)
	for n := range len(valid) {
		if _, _, err := decode(valid[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: %v, want ErrCorrupt", n, len(valid), err)
		}
	}
	for bit := range 8 * len(valid) {
		if _, _, err := decode(flip(valid, bit)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("bit %d flipped: %v, want ErrCorrupt", bit, err)
		}
	}
}

func TestReadOfAMissingFileIsNotCorruption(t *testing.T) {
	_, _, err := Read(filepath.Join(t.TempDir(), "snapshot"))
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrCorrupt) {
		t.Errorf("read %v, want a not-exist error (a first start has no file)", err)
	}
}

func TestWriteReplacesThePreviousFile(t *testing.T) {
	path := write(t, richSnapshot(), richMeta)
	next := &model.Snapshot{Services: []*model.Service{{Namespace: "n", Name: "only", ClusterIPs: []netip.Addr{ip("10.0.0.1")}}}}
	if err := Write(path, next, Meta{Cluster: "c"}); err != nil {
		t.Fatal(err)
	}
	snap, _, err := Read(path)
	if err != nil || !reflect.DeepEqual(snap, next) {
		t.Errorf("read %+v, %v; want %+v", snap, err, next)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v (%v), want 0600", fi.Mode(), err)
	}
	assertNoTempFiles(t, filepath.Dir(path))
}

func TestFailedWriteLeavesThePreviousFileAndNoTempFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		// target returns the path to write to, in dir where the previous file is.
		target func(t *testing.T, dir string) string
	}{
		{"the directory is missing", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "missing", "snapshot")
		}},
		{"the directory is a file", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "snapshot", "snapshot")
		}},
		{"the directory is read-only", func(t *testing.T, dir string) string {
			if os.Geteuid() == 0 {
				t.Skip("root writes to read-only directories")
			}
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) })
			return filepath.Join(dir, "snapshot")
		}},
		{"the rename fails after the data is written", func(t *testing.T, dir string) string {
			// A file cannot be renamed over a directory that has something in it.
			target := filepath.Join(dir, "target")
			if err := os.MkdirAll(filepath.Join(target, "x"), 0o700); err != nil {
				t.Fatal(err)
			}
			return target
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, richSnapshot(), richMeta)
			dir := filepath.Dir(path)
			target := tt.target(t, dir)
			if err := Write(target, &model.Snapshot{}, Meta{Cluster: "new"}); err == nil {
				t.Fatal("write succeeded")
			} else if !bytes.Contains([]byte(err.Error()), []byte(target)) {
				t.Errorf("error %q does not name the file", err)
			}
			snap, meta, err := Read(path)
			if err != nil || meta.Cluster != richMeta.Cluster || !reflect.DeepEqual(snap, richSnapshot()) {
				t.Errorf("previous file reads %v, %v; want it unchanged", meta, err)
			}
			assertNoTempFiles(t, dir)
		})
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	if tmp, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(tmp) > 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
}
