#!/usr/bin/env bash
# Ringside demo, as root on Debian 12: installs what is needed, builds ringside-proxy, puts it in front
# of a small HTTP backend, sends traffic through it, shows the proxy's stats, and stops everything.
#
#   curl -> 127.0.0.1:10000 (ringside-proxy, tcp_proxy) -> 127.0.0.1:8080 (demo backend)
#   admin API on 127.0.0.1:9901
#
# Config: deploy/examples/demo.yaml. Safe to re-run: leftovers of an earlier run are stopped first.
# Environment: RINGSIDE_SKIP_DEPS=1 skips ./install-deps.sh; RINGSIDE_DEMO_DIR (default
# /tmp/ringside-demo) holds pid files, logs and the backend's files.
set -euo pipefail

cd "$(dirname "$0")"
RUN=${RINGSIDE_DEMO_DIR:-/tmp/ringside-demo}
CONFIG=deploy/examples/demo.yaml
ADMIN=http://127.0.0.1:9901
FRONT=http://127.0.0.1:10000
BACKEND_PORT=8080
PY=/usr/bin/python3
PROXY_PID=""
BACKEND_PID=""

step() { printf '\n==> %s\n' "$*"; }
die() {
  echo "demo: $*" >&2
  exit 1
}

# stop_pidfile NAME PATTERN: stops the process recorded in $RUN/NAME.pid if it is still the one we
# started (its command line contains PATTERN), then removes the pid file.
stop_pidfile() {
  local f="$RUN/$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"; then
    echo "stopping $1 left over from an earlier run (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

cleanup() {
  # On an error part-way, stop what this run started.
  local rc=$?
  if [ -n "$PROXY_PID" ] && kill -0 "$PROXY_PID" 2>/dev/null; then
    kill "$PROXY_PID" 2>/dev/null || true
    sleep 0.5
    kill -9 "$PROXY_PID" 2>/dev/null || true
  fi
  if [ -n "$BACKEND_PID" ] && kill -0 "$BACKEND_PID" 2>/dev/null; then
    kill "$BACKEND_PID" 2>/dev/null || true
  fi
  rm -f "$RUN/proxy.pid" "$RUN/backend.pid"
  if [ "$rc" -ne 0 ]; then
    echo "demo failed (exit $rc); logs in $RUN" >&2
    [ -f "$RUN/proxy.log" ] && tail -n 20 "$RUN/proxy.log" >&2
  fi
  exit "$rc"
}

port_busy() {
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

wait_http() {
  # wait_http URL SECONDS [PID]: until URL answers 200 (or PID exits)
  local i
  for i in $(seq $(($2 * 10))); do
    if curl -sf --max-time 1 -o /dev/null "$1"; then return 0; fi
    if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

mkdir -p "$RUN"
trap cleanup EXIT

step "Installing dependencies (./install-deps.sh)"
if [ "${RINGSIDE_SKIP_DEPS:-0}" = 1 ]; then
  echo "skipped (RINGSIDE_SKIP_DEPS=1)"
else
  [ "$(id -u)" -eq 0 ] || die "run as root: sudo ./demo.sh (it installs packages with apt-get)"
  if ! ./install-deps.sh >"$RUN/install-deps.log" 2>&1; then
    tail -n 30 "$RUN/install-deps.log" >&2
    die "./install-deps.sh failed; see $RUN/install-deps.log"
  fi
  echo "ok"
fi

step "Building //proxy:ringside-proxy"
bazel build --color=no --curses=no //proxy:ringside-proxy 2>&1 | tail -n 3
PROXY="$(bazel info bazel-bin 2>/dev/null)/proxy/ringside-proxy"
[ -x "$PROXY" ] || die "build did not produce $PROXY"
echo "binary: $PROXY"

step "Stopping leftovers from an earlier run"
stop_pidfile proxy ringside-proxy
stop_pidfile backend http.server
for port in $BACKEND_PORT 9901 10000; do
  if port_busy "$port"; then
    die "port $port on 127.0.0.1 is in use by another program; the demo needs 8080, 9901 and 10000"
  fi
done
echo "ports 8080, 9901 and 10000 are free"

step "Starting the demo backend on 127.0.0.1:$BACKEND_PORT"
mkdir -p "$RUN/www"
echo "Hello from the Ringside demo backend." >"$RUN/www/index.html"
"$PY" -m http.server "$BACKEND_PORT" --bind 127.0.0.1 --directory "$RUN/www" >"$RUN/backend.log" 2>&1 &
BACKEND_PID=$!
echo "$BACKEND_PID" >"$RUN/backend.pid"
wait_http "http://127.0.0.1:$BACKEND_PORT/" 10 "$BACKEND_PID" || die "the backend did not start; see $RUN/backend.log"
echo "backend pid $BACKEND_PID"

step "Validating $CONFIG"
"$PROXY" -c "$CONFIG" --mode validate

step "Starting ringside-proxy -c $CONFIG"
"$PROXY" -c "$CONFIG" --concurrency 2 --drain-time-s 2 --log-level info >"$RUN/proxy.log" 2>&1 &
PROXY_PID=$!
echo "$PROXY_PID" >"$RUN/proxy.pid"
wait_http "$ADMIN/ready" 20 "$PROXY_PID" || die "ringside-proxy did not become ready; see $RUN/proxy.log"
echo "proxy pid $PROXY_PID; $ADMIN/ready says: $(curl -s --max-time 2 "$ADMIN/ready")"

step "Sending 5 requests through the proxy ($FRONT)"
for i in 1 2 3 4 5; do
  code=$(curl -s --max-time 5 -o "$RUN/response.txt" -w '%{http_code}' "$FRONT/")
  echo "request $i: HTTP $code"
  [ "$code" = 200 ] || die "request $i through the proxy failed (HTTP $code)"
done
echo "one response, in full:"
curl -s --max-time 5 -i "$FRONT/" | sed 's/^/    /'

step "Stats from the admin API ($ADMIN/stats?filter=...)"
curl -s --max-time 5 -G --data-urlencode \
  'filter=^(server\.live|listener\.127\.0\.0\.1_10000\.downstream_cx_total|tcp\.demo\.(downstream_cx_total|upstream_flush_total)|cluster\.demo_backend\.(upstream_cx_total|upstream_cx_connect_fail|upstream_cx_connect_timeout))$' \
  "$ADMIN/stats" | sed 's/^/    /'
echo "hosts ($ADMIN/clusters):"
curl -s --max-time 5 "$ADMIN/clusters" | grep -E '::(cx_total|health_flags)::' | sed 's/^/    /' || true

step "Stopping (POST $ADMIN/quitquitquit)"
curl -s --max-time 5 -X POST -o /dev/null -w 'quitquitquit: HTTP %{http_code}\n' "$ADMIN/quitquitquit"
rc=0
for _ in $(seq 100); do
  kill -0 "$PROXY_PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$PROXY_PID" 2>/dev/null; then
  die "ringside-proxy still running 10 s after /quitquitquit"
fi
wait "$PROXY_PID" || rc=$?
PROXY_PID=""
echo "ringside-proxy exited with status $rc"
kill "$BACKEND_PID" 2>/dev/null || true
wait "$BACKEND_PID" 2>/dev/null || true
BACKEND_PID=""
rm -f "$RUN/proxy.pid" "$RUN/backend.pid"
[ "$rc" -eq 0 ] || die "ringside-proxy exited with status $rc"
echo
echo "Demo done. Logs: $RUN/proxy.log, $RUN/backend.log"
