package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
)

// FuzzRead decodes arbitrary files: none may panic, every refusal wraps ErrCorrupt, and whatever
// decodes encodes to a file that decodes to the same data and encodes to the same bytes again.
// Each input is also tried with its last four bytes replaced by a valid checksum, or the fuzzer
// would seldom get past the checksum to the decoder behind it.
func FuzzRead(f *testing.F) {
	f.Add(encode(richSnapshot(), richMeta))
	f.Add(encode(&model.Snapshot{}, Meta{}))
	f.Add(encode(&model.Snapshot{Slices: richSnapshot().Slices[2:3]}, Meta{Written: time.Unix(1, 2)}))
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip(t, data)
		if len(data) >= 4 {
			body := data[: len(data)-4 : len(data)-4]
			roundTrip(t, binary.BigEndian.AppendUint32(body, crc32.Checksum(body, castagnoli)))
		}
	})
}

func roundTrip(t *testing.T, data []byte) {
	snap, meta, err := decode(data)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		return
	}
	again := encode(snap, meta)
	snap2, meta2, err := decode(again)
	if err != nil {
		t.Fatalf("re-encoding does not decode: %v", err)
	}
	if !reflect.DeepEqual(snap2, snap) || !reflect.DeepEqual(meta2, meta) {
		t.Fatalf("re-encoding decodes to\n%+v %+v\nnot\n%+v %+v", snap2, meta2, snap, meta)
	}
	if !bytes.Equal(encode(snap2, meta2), again) {
		t.Fatal("the same data encodes to different bytes")
	}
}
