//go:build tools

// Package tools pins the Kubernetes control-plane commands that build.sh
// compiles for the end-to-end tests.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
