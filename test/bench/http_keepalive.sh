#!/usr/bin/env bash
# HTTP/1.1 keep-alive benchmark: ringside-proxy (http_connection_manager + router) vs nginx
# (proxy_pass, upstream keepalive) vs HAProxy (mode http, http-reuse always), one worker each, same
# nginx origin (its own instance), same wrk load, loopback only.
#
#   small: GET /small -> origin `return 200 "hello\n"`
#   large: GET /large -> origin static file of 64 KiB
#   load:  wrk -t1 -c$BENCH_CONNS -d$BENCH_SECONDS --latency, keep-alive, BENCH_SECONDS per run
#
# For each proxy and size: requests/s, CPU per request (utime+stime from /proc/PID/stat, all the
# proxy's processes, divided by requests served), p99 latency (wrk), and for each proxy its peak RSS
# (VmHWM). Medians over BENCH_ROUNDS rounds, run interleaved so that machine noise hits every proxy
# alike. Prints a table and the ratios ringside/nginx and ringside/haproxy. It measures; it does not
# judge: exit 0 whatever the figures.
#
# Environment: RINGSIDE_PROXY (binary; default: built with
# `bazel --output_base=$BENCH_BAZEL_OUTPUT_BASE build //proxy:ringside-proxy`, output base default
# /tmp/bazel-httpbench), BENCH_SECONDS (default 5), BENCH_ROUNDS (default 3), BENCH_CONNS (wrk
# connections, default 32), BENCH_ONLY="ringside haproxy nginx" (subset to run).
# With the defaults the measurement takes about two minutes (3 rounds x 3 proxies x 2 sizes x 5 s,
# plus a direct baseline and a warm-up).
# The start_* functions and the cleanup trap are called indirectly.
# shellcheck disable=SC2317
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 2
RUN_SECONDS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-32}
ONLY=${BENCH_ONLY:-ringside haproxy nginx}
BAZEL_OUTPUT_BASE=${BENCH_BAZEL_OUTPUT_BASE:-/tmp/bazel-httpbench}
SIZES="small large"
WORK=$(mktemp -d /tmp/ringside-httpbench.XXXXXX)
RESULTS=$WORK/results.tsv
declare -A PIDS=()
declare -A FRONT=()

# shellcheck source=test/bench/lib.sh
. test/bench/lib.sh
require_tools wrk haproxy nginx curl

# nginx's temp paths default to absolute system directories: keep them under the instance's prefix.
nginx_temp_paths() {
  local d=$1
  mkdir -p "$d/tmp"
  cat <<EOF
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
EOF
}

ORIGIN_PORT=$(free_port)

# --- origin -------------------------------------------------------------------------------------
log "work dir $WORK"
# nginx workers run as an unprivileged user when started as root: the origin's files must be readable.
chmod 755 "$WORK"
mkdir -p "$WORK/origin/www"
head -c 65536 /dev/zero | tr '\0' 'x' >"$WORK/origin/www/large"
chmod -R a+rX "$WORK/origin"
cat >"$WORK/origin/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/origin/nginx.pid;
error_log $WORK/origin/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8000; }
http {
  access_log off;
$(nginx_temp_paths "$WORK/origin")
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$ORIGIN_PORT backlog=4096;
    root $WORK/origin/www;
    location = /small { default_type text/plain; return 200 "hello\n"; }
    location = /large { default_type application/octet-stream; }
  }
}
EOF
nginx -p "$WORK/origin" -c "$WORK/origin/nginx.conf" &
BG_PIDS+=($!)
wait_port "$ORIGIN_PORT" || { log "nginx origin did not start"; exit 1; }

# --- proxies ------------------------------------------------------------------------------------
ringside_binary() {
  local bin=${RINGSIDE_PROXY:-}
  if [ -z "$bin" ]; then
    log "building //proxy:ringside-proxy (output base $BAZEL_OUTPUT_BASE)"
    if ! bazel --output_base="$BAZEL_OUTPUT_BASE" build //proxy:ringside-proxy >"$WORK/bazel-build.log" 2>&1; then
      log "bazel build failed (see $WORK/bazel-build.log)"
      return 1
    fi
    bin="$(bazel --output_base="$BAZEL_OUTPUT_BASE" info bazel-bin 2>/dev/null)/proxy/ringside-proxy"
  fi
  if [ ! -x "$bin" ]; then
    log "ringside-proxy not found ($bin): build it with bazel build //proxy:ringside-proxy"
    return 1
  fi
  echo "$bin"
}

start_ringside() {
  local bin admin front
  bin=$(ringside_binary) || return 1
  admin=$(free_port)
  front=$(free_port)
  cat >"$WORK/ringside.yaml" <<EOF
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $admin } }
static_resources:
  listeners:
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: $front } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: origin }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: origin
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: origin
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $ORIGIN_PORT } } } } ] } ]
EOF
  (ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    exec "$bin" -c "$WORK/ringside.yaml" --concurrency 1 --log-level warning) >"$WORK/ringside.log" 2>&1 &
  PIDS[ringside]=$!
  BG_PIDS+=($!)
  FRONT[ringside]=$front
  echo "$admin" >"$WORK/ringside.admin"
}

start_haproxy() {
  local front
  front=$(free_port)
  cat >"$WORK/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
listen http
  bind 127.0.0.1:$front
  server origin 127.0.0.1:$ORIGIN_PORT
EOF
  haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
  PIDS[haproxy]=$!
  BG_PIDS+=($!)
  FRONT[haproxy]=$front
}

start_nginx() {
  local front
  front=$(free_port)
  mkdir -p "$WORK/nginx"
  # proxy_buffers large enough to hold a 64 KiB response in memory (the default 8 x 4k would spool
  # it to a temp file and measure the disk, not the proxy).
  cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8000; }
http {
  access_log off;
$(nginx_temp_paths "$WORK/nginx")
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  upstream origin {
    server 127.0.0.1:$ORIGIN_PORT;
    keepalive 64;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$front backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffers 16 8k;
    }
  }
}
EOF
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
  PIDS[nginx]=$!
  BG_PIDS+=($!)
  FRONT[nginx]=$front
}

PROXIES=()
for name in $ONLY; do
  if "start_$name" && wait_port "${FRONT[$name]}"; then
    PROXIES+=("$name")
    log "$name started (pid ${PIDS[$name]})"
  else
    log "$name could not be started: left out (see $WORK/$name.log)"
  fi
done
[ "${#PROXIES[@]}" -gt 0 ] || { log "no proxy started"; exit 1; }

# Check each proxy relays both sizes before measuring anything.
for name in "${PROXIES[@]}"; do
  for size in $SIZES; do
    got=$(curl -s --max-time 5 -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:${FRONT[$name]}/$size" 2>/dev/null)
    log "$name /$size: status and bytes $got"
  done
done

# --- load ---------------------------------------------------------------------------------------
# wrk_run PORT SIZE SECONDS: prints "requests seconds errors p99_ms"
wrk_run() {
  local out
  out=$(timeout $(($3 + 20)) wrk -t1 -c"$CONNS" -d"${3}s" --latency "http://127.0.0.1:$1/$2" 2>&1)
  echo "$out" >>"$WORK/wrk.log"
  local req secs errs non2xx p99
  req=$(echo "$out" | awk '/requests in/ {print $1}')
  secs=$(echo "$out" | awk '/requests in/ {gsub(/s,?/, "", $4); print $4}')
  errs=$(echo "$out" | awk '/Socket errors/ {n=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) {gsub(",","",$i); n+=$i}; print n}')
  non2xx=$(echo "$out" | awk '/Non-2xx or 3xx responses/ {print $NF}')
  # "99%   1.23ms": wrk prints us, ms, s or m.
  p99=$(echo "$out" | awk '$1 == "99%" {
    v = $2; u = v; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : 0
    printf "%.3f", v * f }')
  echo "${req:-0} ${secs:-0} $((${errs:-0} + ${non2xx:-0})) ${p99:-0}"
}

echo -e "proxy\tsize\tround\trequests\tsecs\terrors\tp99_ms\tcpu" >"$RESULTS"

log "direct (no proxy) baseline"
for size in $SIZES; do
  read -r n s e p <<<"$(wrk_run "$ORIGIN_PORT" "$size" "$RUN_SECONDS")"
  echo -e "direct\t$size\t0\t$n\t$s\t$e\t$p\t0" >>"$RESULTS"
done

log "warm-up (1 s per proxy and size, not counted)"
for name in "${PROXIES[@]}"; do
  for size in $SIZES; do
    wrk_run "${FRONT[$name]}" "$size" 1 >/dev/null
  done
done

for round in $(seq "$ROUNDS"); do
  for size in $SIZES; do
    for name in "${PROXIES[@]}"; do
      pid=${PIDS[$name]}
      if ! kill -0 "$pid" 2>/dev/null; then
        log "$name (pid $pid) is no longer running; skipped"
        continue
      fi
      log "round $round/$ROUNDS: $name /$size"
      c0=$(cpu_seconds "$pid")
      read -r n s e p <<<"$(wrk_run "${FRONT[$name]}" "$size" "$RUN_SECONDS")"
      c1=$(cpu_seconds "$pid")
      c=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
      echo -e "$name\t$size\t$round\t$n\t$s\t$e\t$p\t$c" >>"$RESULTS"
    done
  done
done

: >"$WORK/rss.tsv"
for name in "${PROXIES[@]}"; do
  echo -e "$name\t$(peak_rss_kib "${PIDS[$name]}")" >>"$WORK/rss.tsv"
done

# --- report -------------------------------------------------------------------------------------
"$PY" - "$RESULTS" "$WORK/rss.tsv" "$CONNS" "$RUN_SECONDS" <<'EOF'
import csv, statistics, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
rss = dict(line.split("\t") for line in open(sys.argv[2]).read().split("\n") if line.strip())
conns, secs = sys.argv[3], sys.argv[4]

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

names = list(dict.fromkeys(r["proxy"] for r in rows))
sizes = list(dict.fromkeys(r["size"] for r in rows))
figures = {}
for name in names:
    for size in sizes:
        rs = [r for r in rows if r["proxy"] == name and r["size"] == size]
        if not rs:
            continue
        rps, cpu_rq, p99 = [], [], []
        for r in rs:
            n, s = float(r["requests"]), float(r["secs"])
            rps.append(n / s if s > 0 else None)
            cpu_rq.append(float(r["cpu"]) * 1e6 / n if n > 0 and name != "direct" else None)
            p99.append(float(r["p99_ms"]) if n > 0 else None)
        figures[name, size] = {
            "rps": med(rps), "cpu_rq": med(cpu_rq), "p99": med(p99),
            "errs": sum(float(r["errors"]) for r in rs), "rounds": len(rs),
            "rss": int(rss[name]) / 1024 if name in rss else None,
        }

def fmt(v, spec):
    return f"{'n/a':>{int(spec.split('.')[0])}}" if v is None else format(v, spec)

rounds = max((g["rounds"] for (n, _), g in figures.items() if n != "direct"), default=0)
print()
print(f"HTTP/1.1 keep-alive, one worker per proxy, loopback, wrk -t1 -c{conns} -d{secs}s; "
      f"medians of {rounds} round(s)")
print("small = 6-byte body (nginx return 200), large = 64 KiB static file")
print(f"{'proxy':<10} {'size':<6} {'requests/s':>11} {'CPU us/req':>11} {'p99 ms':>8} {'peak RSS MiB':>13} {'errors':>7}")
for (name, size), g in figures.items():
    print(f"{name:<10} {size:<6} {fmt(g['rps'], '11.0f')} {fmt(g['cpu_rq'], '11.2f')} {fmt(g['p99'], '8.2f')} "
          f"{fmt(g['rss'], '13.1f')} {g['errs']:>7.0f}")

print()
if "ringside" not in names:
    print("ratios: ringside-proxy was not measured")
for other in ("nginx", "haproxy"):
    if "ringside" not in names or other not in names:
        continue
    def ratio(size, k):
        r, o = figures.get(("ringside", size)), figures.get((other, size))
        return "n/a" if not r or not o or not r[k] or not o[k] else f"{r[k] / o[k]:.2f}"
    for size in sizes:
        print(f"ringside/{other:<8} {size:<6} CPU per request {ratio(size, 'cpu_rq')}   requests/s {ratio(size, 'rps')}   "
              f"p99 {ratio(size, 'p99')}   peak RSS {ratio(size, 'rss')}")
print("(ratios below 1 favour ringside for CPU, p99 and RSS, above 1 for requests/s)")
EOF
log "raw results: $RESULTS"
exit 0
