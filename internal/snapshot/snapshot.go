package snapshot

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
)

// Meta describes a snapshot file.
type Meta struct {
	// Cluster identifies the cluster the data came from, so that a file copied from another
	// cluster can be refused.
	Cluster string
	// Written is when the data was written; Read returns it in UTC.
	Written time.Time
}

// ErrCorrupt is wrapped by every error Read returns for a file that is damaged, truncated, not a
// snapshot or of an unknown version.
var ErrCorrupt = errors.New("corrupt snapshot")

const (
	magic = "clusterdns-snapshot"
	// version 2 added endpoint zones; a version 1 file is refused, and the next sync rewrites it.
	version = 2
)

// castagnoli is CRC-32C: it finds every burst error up to 32 bits and is computed in hardware.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Write replaces the file at path with snap and meta. The file is replaced atomically: after a
// crash at any point, path holds either the previous file or the new one. A new file is readable by
// its owner only, as it lists the cluster's services and addresses.
func Write(path string, snap *model.Snapshot, meta Meta) error {
	if err := writeAtomic(path, encode(snap, meta)); err != nil {
		return fmt.Errorf("write snapshot %s: %w", path, err)
	}
	return nil
}

// Read returns the snapshot and meta in the file at path. Strings that repeat (namespaces, port
// names, protocols, label keys and values) come back interned, and objects with the same ports
// share one port list, as they do when they come from the API.
func Read(path string) (*model.Snapshot, Meta, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Meta{}, fmt.Errorf("read snapshot: %w", err)
	}
	snap, meta, err := decode(data)
	if err != nil {
		return nil, Meta{}, fmt.Errorf("read snapshot %s: %w", path, err)
	}
	return snap, meta, nil
}
