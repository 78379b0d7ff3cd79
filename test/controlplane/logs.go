package controlplane

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// logTailBytes is how much of each component's log Logs returns.
const logTailBytes = 8 << 10

// components are the control-plane binaries, in start order.
var components = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// Logs returns the tail of each component's log, for printing when a test
// fails.
func (cp *ControlPlane) Logs() string {
	var b strings.Builder
	for _, name := range components {
		data, err := os.ReadFile(cp.logPath(name))
		if err != nil {
			if !os.IsNotExist(err) {
				fmt.Fprintf(&b, "==> %s: %v <==\n", name, err)
			}
			continue
		}
		if len(data) > logTailBytes {
			data = data[len(data)-logTailBytes:]
			// Start at a line boundary.
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				data = data[i+1:]
			}
		}
		fmt.Fprintf(&b, "==> tail of %s <==\n%s\n", cp.logPath(name), data)
	}
	return b.String()
}
