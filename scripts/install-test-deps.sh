#!/usr/bin/env sh
# Installs the binaries the test suite drives as real processes (beyond Node packages):
#   toxiproxy-server  TCP fault proxy (test/helpers/toxiproxy.ts), built with `go install`.
#
# Idempotent: a binary already present at the pinned version is kept, so a reused machine skips the
# build. Quiet on success (prints nothing); on failure the tool's output is shown and it exits non-zero.
# Safe as root under CI: writes only to $(go env GOPATH)/bin and Go's module/build caches, and builds
# in a private temp directory that is removed on exit.
set -eu

TOXIPROXY_MODULE="github.com/Shopify/toxiproxy/v2"
TOXIPROXY_VERSION="v2.12.0"

die() {
  printf 'install-test-deps: %s\n' "$*" >&2
  exit 1
}

command -v go >/dev/null 2>&1 || die "go is not on PATH (needed to build toxiproxy-server)"

gobin="$(go env GOPATH)/bin"
target="$gobin/toxiproxy-server"

# `toxiproxy-server -version` prints "toxiproxy-server version 2.12.0".
if [ -x "$target" ] &&
  [ "$("$target" -version 2>/dev/null || true)" = "toxiproxy-server version ${TOXIPROXY_VERSION#v}" ]; then
  exit 0
fi

mkdir -p "$gobin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# The package is cmd/server, so `go install` names the binary `server`: build into a private GOBIN,
# then move it into place under its real name (atomically, via a temp name in the same folder).
# The version string is set the way Toxiproxy's own release build does.
if ! GOBIN="$work" go install \
  -ldflags "-s -w -X $TOXIPROXY_MODULE.Version=${TOXIPROXY_VERSION#v}" \
  "$TOXIPROXY_MODULE/cmd/server@$TOXIPROXY_VERSION" >"$work/log" 2>&1; then
  cat "$work/log" >&2
  die "building toxiproxy-server $TOXIPROXY_VERSION failed"
fi
cp "$work/server" "$target.tmp.$$"
chmod 0755 "$target.tmp.$$"
mv -f "$target.tmp.$$" "$target"
