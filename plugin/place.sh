#!/usr/bin/env bash
# Writes CoreDNS's plugin.cfg (stdin) to stdout with clusterdns added, in the place PLACE names:
#
#   default  right before kubernetes: every plugin that rewrites, templates, serves hosts entries,
#            caches or transfers sees cluster names first, as with the kubernetes plugin.
#   early    right before cache: cluster answers are never copied by cache; loadbalance, rewrite,
#            autopath and acl still run first, template, transfer and hosts no longer see them.
#
#   bash plugin/place.sh PLACE <plugin.cfg >plugin.cfg.new
set -euo pipefail

line="clusterdns:github.com/clusterdns/clusterdns"
case "${1:-}" in
default) anchor="kubernetes:kubernetes" ;;
early) anchor="cache:cache" ;;
*)
	echo "plugin/place.sh: PLACE must be default or early, not '${1:-}'" >&2
	exit 2
	;;
esac

awk -v add="$line" -v anchor="$anchor" '
	$0 == add { next }
	$0 == anchor { print add; found = 1 }
	{ print }
	END { if (!found) { print "plugin/place.sh: plugin.cfg has no line " anchor > "/dev/stderr"; exit 1 } }'
