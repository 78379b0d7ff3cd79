package source

import (
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"
)

func TestEqualPortListsAreShared(t *testing.T) {
	list := func(name string, port uint16) []model.Port {
		return []model.Port{{Name: name, Protocol: "tcp", Port: port}, {Protocol: "udp", Port: 53}}
	}
	a, b := internPorts(list("http", 80)), internPorts(list("http", 80))
	if &a[0] != &b[0] {
		t.Error("two equal port lists are kept twice")
	}
	for _, other := range [][]model.Port{list("http", 81), list("https", 80), list("http", 80)[:1]} {
		if got := internPorts(other); &got[0] == &a[0] {
			t.Errorf("%v shares the list of %v", other, a)
		}
	}
	if internPorts([]model.Port{}) != nil {
		t.Error("an empty list should be nil")
	}
}
