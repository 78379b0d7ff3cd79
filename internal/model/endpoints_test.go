package model

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestEndpointsPackAndUnpack(t *testing.T) {
	ip := netip.MustParseAddr
	for _, tt := range []struct {
		name string
		list []Endpoint
	}{
		{"none", nil},
		{"IPv4 without names", []Endpoint{{Addr: ip("10.0.0.1")}, {Addr: ip("10.0.0.2")}}},
		{"IPv6 with a hostname", []Endpoint{{Addr: ip("fd00::1"), Name: "web-0"}, {Addr: ip("fd00::2")}}},
		{"both families in one list", []Endpoint{{Addr: ip("10.0.0.1")}, {Addr: ip("fd00::1"), Name: "b"}}},
		{"zones, some shared, one unset", []Endpoint{{Addr: ip("10.0.0.1"), Zone: "a"}, {Addr: ip("10.0.0.2")}, {Addr: ip("10.0.0.3"), Zone: "us-east-1.b"}, {Addr: ip("10.0.0.4"), Zone: "a"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEndpoints(tt.list)
			var got []Endpoint
			for i := range e.Len() {
				got = append(got, e.At(i))
			}
			if !reflect.DeepEqual(got, tt.list) {
				t.Errorf("unpacked %v, want %v", got, tt.list)
			}
		})
	}
}

func TestEndpointsKeepNoNamesWhenNoneIsSet(t *testing.T) {
	e := NewEndpoints([]Endpoint{{Addr: netip.MustParseAddr("10.0.0.1")}})
	if e.names != nil || e.zones != nil || len(e.addrs) != 4 {
		t.Errorf("packed %d address bytes, names %v and zones %v, want 4 bytes and neither", len(e.addrs), e.names, e.zones)
	}
}
