#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager for the end-to-end
# tests into a cache outside the checkout, keyed by the files that define them.
# Logs go to stderr; the last line of stdout is the directory of the binaries.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${CLUSTERDNS_TOOLS_CACHE:-$HOME/.cache/clusterdns-tools}"
key="$(cd "$here" && cat go.mod go.sum build.sh tools.go etcd/main.go | sha256sum | cut -c1-16)"
bin="$cache/$key"
bins=(etcd kube-apiserver kube-controller-manager)

complete() {
	local b
	for b in "${bins[@]}"; do
		[[ -x "$bin/$b" ]] || return 1
	done
}

if complete; then
	echo "$bin"
	exit 0
fi

mkdir -p "$cache"
# Serialise concurrent builds of the same key; the loser finds the result done.
exec 9>"$cache/.lock-$key"
flock 9
if complete; then
	echo "$bin"
	exit 0
fi

tmp="$(mktemp -d "$cache/.build-$key.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

cd "$here"
export GOWORK=off CGO_ENABLED=0
k8s_version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
major_minor="${k8s_version#v}"
major_minor="${major_minor%.*}"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X ${pkg}.gitVersion=${k8s_version}"
	ldflags+=" -X ${pkg}.gitMajor=${major_minor%%.*} -X ${pkg}.gitMinor=${major_minor#*.}"
	ldflags+=" -X ${pkg}.gitTreeState=clean"
done

echo "building ${bins[*]} (kubernetes ${k8s_version}) into $bin; several minutes when cold" >&2
start=$SECONDS
go build -trimpath -ldflags="$ldflags" -o "$tmp/" \
	./etcd \
	k8s.io/kubernetes/cmd/kube-apiserver \
	k8s.io/kubernetes/cmd/kube-controller-manager
echo "built in $((SECONDS - start))s" >&2

# A directory left incomplete by hand is replaced; rename makes the result
# visible all at once, so an interrupted build never looks done.
rm -rf "$bin"
mv -T "$tmp" "$bin"
echo "$bin"
