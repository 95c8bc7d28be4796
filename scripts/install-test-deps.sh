#!/usr/bin/env sh
# Installs the binaries the test suite drives as real processes (beyond Node packages), each built
# with `go install` into $(go env GOPATH)/bin:
#   toxiproxy-server  TCP fault proxy (test/helpers/toxiproxy.ts)
#   nats-server       a current NATS server with JetStream (test/helpers/nats.ts); Debian's is 2.9
#   grpcurl           a gRPC client in another language, for interoperability tests
#   nsqd, nsqlookupd  NSQ's broker and discovery daemon (test/helpers/nsq.ts)
#   switchyard-otelcol  an OpenTelemetry Collector built from its own modules with the OTLP receiver
#                       and exporter only (test/observability/collector/, collector.test.ts)
#
# Idempotent: a binary already present at the pinned version is kept, so a reused machine skips the
# build. Quiet on success (prints nothing); on failure the tool's output is shown and it exits non-zero.
# Safe as root under CI: writes only to $(go env GOPATH)/bin and Go's module/build caches, and builds
# in a private temp directory that is removed on exit.
set -eu

die() {
  printf 'install-test-deps: %s\n' "$*" >&2
  exit 1
}

command -v go >/dev/null 2>&1 || die "go is not on PATH (needed to build the test servers)"

gobin="$(go env GOPATH)/bin"
mkdir -p "$gobin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# install NAME PACKAGE@VERSION BUILT_NAME EXPECTED_VERSION_OUTPUT VERSION_FLAG [LDFLAGS]
# Builds into a private GOBIN (the package's last path element names the binary), then moves it into
# place under NAME atomically, via a temp name in the same folder. Skips when NAME already prints
# the expected version.
install() {
  name="$1" pkg="$2" built="$3" expect="$4" flag="$5" ldflags="${6:-}"
  target="$gobin/$name"
  if [ -x "$target" ] && "$target" "$flag" 2>&1 | grep -qF "$expect"; then
    return 0
  fi
  rm -rf "$work/bin" && mkdir -p "$work/bin"
  if ! GOBIN="$work/bin" go install -ldflags "-s -w $ldflags" "$pkg" >"$work/log" 2>&1; then
    cat "$work/log" >&2
    die "building $name ($pkg) failed"
  fi
  cp "$work/bin/$built" "$target.tmp.$$"
  chmod 0755 "$target.tmp.$$"
  mv -f "$target.tmp.$$" "$target"
}

# install_mod MODULE VERSION EXPECTED_VERSION_OUTPUT VERSION_FLAG REPLACE APP_DIR...
# For modules whose go.mod has `replace` directives (which `go install pkg@version` refuses): builds
# the apps in a private temp module that requires MODULE@VERSION with the same REPLACE
# (`old=new@version`, or empty), then moves each binary into place as above. Skips the build when
# every app already prints the expected version.
install_mod() {
  mod="$1" version="$2" expect="$3" flag="$4" replace="$5"
  shift 5
  missing=""
  for app in "$@"; do
    target="$gobin/${app##*/}"
    if ! { [ -x "$target" ] && "$target" "$flag" 2>&1 | grep -qF "$expect"; }; then
      missing="$missing $app"
    fi
  done
  [ -n "$missing" ] || return 0
  dir="$work/mod" && rm -rf "$dir" && mkdir -p "$dir/bin"
  pkgs="" && for app in $missing; do pkgs="$pkgs $mod/$app@$version"; done
  if ! (
    cd "$dir" &&
      go mod init switchyard-test-deps &&
      { [ -z "$replace" ] || go mod edit -replace "$replace"; } &&
      go get $pkgs &&
      go build -ldflags "-s -w" -o bin/ $(printf '%s\n' $pkgs | sed 's/@.*//')
  ) >"$work/log" 2>&1; then
    cat "$work/log" >&2
    die "building$missing ($mod@$version) failed"
  fi
  for app in $missing; do
    name="${app##*/}"
    cp "$dir/bin/$name" "$gobin/$name.tmp.$$"
    chmod 0755 "$gobin/$name.tmp.$$"
    mv -f "$gobin/$name.tmp.$$" "$gobin/$name"
  done
}

# install_local NAME DIR EXPECTED_VERSION_OUTPUT VERSION_FLAG
# Builds the Go program kept in the repository at DIR (its go.mod and go.sum pin every module) into
# NAME, unless NAME already prints the expected version.
install_local() {
  name="$1" dir="$2" expect="$3" flag="$4"
  target="$gobin/$name"
  if [ -x "$target" ] && "$target" "$flag" 2>&1 | grep -qF "$expect"; then
    return 0
  fi
  if ! (cd "$dir" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$work/$name") >"$work/log" 2>&1; then
    cat "$work/log" >&2
    die "building $name ($dir) failed"
  fi
  cp "$work/$name" "$target.tmp.$$"
  chmod 0755 "$target.tmp.$$"
  mv -f "$target.tmp.$$" "$target"
}

# Toxiproxy's package is cmd/server; its version string is set the way its own release build does.
install toxiproxy-server "github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0" server \
  "toxiproxy-server version 2.12.0" -version "-X github.com/Shopify/toxiproxy/v2.Version=2.12.0"
install nats-server "github.com/nats-io/nats-server/v2@v2.15.2" nats-server "v2.15.2" --version
install grpcurl "github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3" grpcurl "v1.9.3" -version \
  "-X main.version=v1.9.3"
# NSQ pins a fork of go-svc through a replace directive in its go.mod, so it is built as a dependency.
install_mod github.com/nsqio/nsq v1.3.0 "v1.3.0" --version \
  "github.com/judwhite/go-svc=github.com/mreiferson/go-svc@v1.2.2-0.20210815184239-7a96e00010f6" \
  apps/nsqd apps/nsqlookupd
# The collector's version string is the one in test/observability/collector/main.go.
install_local switchyard-otelcol "$(dirname "$0")/../test/observability/collector" "0.165.0-switchyard.1" --version
