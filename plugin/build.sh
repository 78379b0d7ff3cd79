#!/usr/bin/env bash
# Builds a custom CoreDNS binary with the clusterdns plugin compiled in, the
# way operators do it: through CoreDNS's own plugin.cfg.
#
#   bash plugin/build.sh            -> build/coredns        (clusterdns before kubernetes)
#   PLACE=early bash plugin/build.sh -> build/coredns-early  (clusterdns before cache)
#
# Each place has its own source copy and binary, so that neither build overwrites the other's and
# switching back and forth regenerates nothing (plugin/place.sh says what each place means).
#
# Steps (each one skipped when its inputs did not change):
#   1. read the CoreDNS version pinned in this repo's go.mod;
#   2. take that version's source from the Go module cache (go mod download);
#   3. copy it to build/coredns-src/ (build/coredns-src-early/ for PLACE=early,
#      writable) — re-copied only when the version changes;
#   4. add "clusterdns:github.com/clusterdns/clusterdns" to plugin.cfg with
#      plugin/place.sh (every stock plugin is kept);
#   5. require + replace github.com/clusterdns/clusterdns with this checkout,
#      then go generate coredns.go (directives) when plugin.cfg changed;
#   6. `go mod tidy` inside the copy (never in this repo's module) when
#      this repo's go.mod/go.sum or the generated imports changed;
#   7. CGO_ENABLED=0 go build -o build/coredns, then check `-plugins`.
#
# Environment knobs:
#   PLACE         default (before kubernetes) or early (before cache)
#   COREDNS_OUT   output binary (default: <repo>/build/coredns, or build/coredns-early)
#   FORCE_TIDY=1  run `go mod tidy` in the copy even if nothing changed
#   FORCE_COPY=1  start from a fresh copy of the CoreDNS source
set -euo pipefail

log() { printf 'plugin/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

now() { date +%s.%N; }
T0=$(now)
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1fs", b-a}'; }

command -v go >/dev/null 2>&1 || die "go is not on PATH"

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
[[ -f go.mod ]] || die "no go.mod in $REPO"

# Never let a go.work in a parent directory (or GOWORK from the environment)
# change which modules are built.
export GOWORK=off
# GOFLAGS from the environment is kept (go build below adds -buildvcs=false).
MODULE=$(go list -m -f '{{.Path}}')
[[ "$MODULE" == "github.com/clusterdns/clusterdns" ]] ||
	die "unexpected module path $MODULE in $REPO/go.mod"

BUILD="$REPO/build"
PLACE="${PLACE:-default}"
case "$PLACE" in
default) SRC="$BUILD/coredns-src" OUT="${COREDNS_OUT:-$BUILD/coredns}" NEXT_DIRECTIVE=kubernetes ;;
early) SRC="$BUILD/coredns-src-early" OUT="${COREDNS_OUT:-$BUILD/coredns-early}" NEXT_DIRECTIVE=cache ;;
*) die "PLACE must be default or early, not '$PLACE'" ;;
esac
STAMP_VERSION="$SRC/.clusterdns-coredns-version"
STAMP_TIDY="$SRC/.clusterdns-tidy-inputs"
STAMP_GEN="$SRC/.clusterdns-plugin-cfg.sum"

mkdir -p "$BUILD"

# Serialise concurrent builds (make coredns while a test runs this script).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$BUILD/.build.lock"
	if ! flock -n 9; then
		log "another build holds $BUILD/.build.lock; waiting (up to 30 min)"
		flock -w 1800 9 || die "timed out waiting for $BUILD/.build.lock"
	fi
fi

# 1. CoreDNS version pinned in go.mod.
VERSION=$(go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' github.com/coredns/coredns) ||
	die "cannot read the github.com/coredns/coredns version from $REPO/go.mod"
[[ -n "$VERSION" ]] || die "github.com/coredns/coredns has no version in go.mod (local replace?)"
log "CoreDNS version pinned in go.mod: $VERSION"

if go mod edit -json | grep -q '"Replace": \['; then
	log "warning: $REPO/go.mod has replace directives; they do not apply inside the CoreDNS build (only the main module's replaces do)"
fi

# 2+3. Source from the module cache, copied once per version.
if [[ "${FORCE_COPY:-0}" == 1 || ! -f "$STAMP_VERSION" || "$(cat "$STAMP_VERSION")" != "$VERSION" ]]; then
	log "downloading github.com/coredns/coredns@$VERSION into the module cache (no-op when cached)"
	DL_JSON=$(go mod download -json "github.com/coredns/coredns@$VERSION") ||
		die "go mod download github.com/coredns/coredns@$VERSION failed: $DL_JSON"
	DIR=$(printf '%s\n' "$DL_JSON" | sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p' | head -n1)
	[[ -n "$DIR" && -f "$DIR/plugin.cfg" && -f "$DIR/coredns.go" ]] ||
		die "go mod download did not give a usable Dir (got '${DIR}')"
	log "copying $DIR -> $SRC"
	rm -rf "$SRC" "$SRC.tmp"
	cp -R "$DIR" "$SRC.tmp"
	chmod -R u+w "$SRC.tmp"
	mv "$SRC.tmp" "$SRC"
	printf '%s\n' "$VERSION" >"$STAMP_VERSION"
else
	log "reusing $SRC (CoreDNS $VERSION)"
fi

cd "$SRC"

# 4. plugin.cfg: clusterdns in its place, once.
bash "$REPO/plugin/place.sh" "$PLACE" <plugin.cfg >plugin.cfg.tmp || die "cannot place clusterdns in plugin.cfg"
if cmp -s plugin.cfg plugin.cfg.tmp; then
	rm plugin.cfg.tmp
	log "plugin.cfg already places clusterdns ($PLACE)"
else
	mv plugin.cfg.tmp plugin.cfg
	log "plugin.cfg: placed clusterdns ($PLACE, before $NEXT_DIRECTIVE)"
fi

# 5. Point CoreDNS at this checkout.
go mod edit \
	-require="github.com/clusterdns/clusterdns@v0.0.0" \
	-replace="github.com/clusterdns/clusterdns=$REPO"

GENERATED=0
# 5b. Regenerate the directive lists when plugin.cfg changed (before tidy:
#     tidy must see the generated import of the plugin, or it drops it).
CFG_SUM=$(cksum <plugin.cfg)
if [[ ! -f "$STAMP_GEN" || "$(cat "$STAMP_GEN")" != "$CFG_SUM" || ! -f core/plugin/zplugin.go ]]; then
	t=$(now)
	log "go generate coredns.go"
	go generate coredns.go || die "go generate failed in $SRC"
	grep -q '"github.com/clusterdns/clusterdns"' core/plugin/zplugin.go ||
		die "core/plugin/zplugin.go does not import github.com/clusterdns/clusterdns after go generate"
	printf '%s\n' "$CFG_SUM" >"$STAMP_GEN"
	log "go generate done in $(elapsed "$t")"
	GENERATED=1
else
	log "plugin.cfg unchanged; skipping go generate"
fi
# The chain runs in the order of this list: check the place that is compiled in.
[[ "$(grep -A1 -xF $'\t"clusterdns",' core/dnsserver/zdirectives.go | tail -n1)" == $'\t"'"$NEXT_DIRECTIVE"'",' ]] ||
	die "core/dnsserver/zdirectives.go does not list clusterdns right before $NEXT_DIRECTIVE"


# 6. Tidy when the plugin's requirements moved.
tidy() {
	local t
	t=$(now)
	log "go mod tidy in $SRC (resolving the plugin's requirements)"
	go mod tidy || die "go mod tidy failed in $SRC"
	log "go mod tidy done in $(elapsed "$t")"
}

TIDY_INPUTS=$(cat "$REPO/go.mod" "$REPO/go.sum" 2>/dev/null | cksum; printf '%s %s\n' "$VERSION" "$REPO")
if [[ "${FORCE_TIDY:-0}" == 1 || "$GENERATED" == 1 || ! -f "$STAMP_TIDY" || "$(cat "$STAMP_TIDY")" != "$TIDY_INPUTS" ]]; then
	tidy
	printf '%s\n' "$TIDY_INPUTS" >"$STAMP_TIDY"
	TIDIED=1
else
	log "go.mod/go.sum unchanged since the last tidy; skipping go mod tidy"
	TIDIED=0
fi

# 7. Build. Write next to the target and rename, so a running binary is never
#    overwritten in place.
build() {
	CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags="-s -w" -o "$OUT.tmp" . 2>"$BUILD/.build.err"
}
t=$(now)
log "CGO_ENABLED=0 go build -o $OUT"
mkdir -p "$(dirname "$OUT")"
if ! build; then
	if [[ "$TIDIED" == 0 ]] && grep -qE 'missing go.sum entry|no required module provides|updates to go.mod needed|replaced but not required|go mod tidy|go get ' "$BUILD/.build.err"; then
		cat "$BUILD/.build.err" >&2
		log "build needs module updates; running go mod tidy and retrying"
		tidy
		printf '%s\n' "$TIDY_INPUTS" >"$STAMP_TIDY"
		build || { cat "$BUILD/.build.err" >&2; rm -f "$OUT.tmp"; die "go build failed in $SRC"; }
	else
		cat "$BUILD/.build.err" >&2
		rm -f "$OUT.tmp"
		die "go build failed in $SRC"
	fi
fi
cat "$BUILD/.build.err" >&2
mv -f "$OUT.tmp" "$OUT"
log "go build done in $(elapsed "$t")"

# Verify the plugin is in.
PLUGINS=$("$OUT" -plugins) || die "$OUT -plugins failed"
printf '%s\n' "$PLUGINS" | grep -qE '^[[:space:]]*(dns\.)?clusterdns$' ||
	die "$OUT -plugins does not list dns.clusterdns"
printf '%s\n' "$PLUGINS" | grep -qE '^[[:space:]]*(dns\.)?kubernetes$' ||
	die "$OUT -plugins does not list dns.kubernetes (stock plugins must stay)"
log "ok: $OUT lists clusterdns ($("$OUT" -version | head -n1)); total $(elapsed "$T0")"
