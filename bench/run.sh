#!/usr/bin/env bash
# Benchmarks clusterdns against CoreDNS's kubernetes plugin (make bench): builds build/coredns and
# build/coredns-early (PLACE=early), installs dnsperf and gnuplot from Debian if missing (needs
# root), builds bench/cmd/bench and runs it; arguments pass through, e.g.  bash bench/run.sh -scale 1000,10000 -rounds 5
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOWORK=off

missing=()
command -v dnsperf >/dev/null 2>&1 || missing+=(dnsperf)
command -v gnuplot >/dev/null 2>&1 || missing+=(gnuplot-nox)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
if ((${#missing[@]})); then
	echo "bench/run.sh: installing ${missing[*]}" >&2
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

make --no-print-directory coredns
make --no-print-directory coredns PLACE=early
go build -o build/bench ./bench/cmd/bench
exec build/bench "$@"
