#!/usr/bin/env bash
# TCP relay benchmark: ringside-proxy vs HAProxy (mode tcp) vs nginx (stream), one worker each, same
# backends, same load, loopback only.
#
#   throughput:      iperf3 client -> proxy -> iperf3 server, both directions (-R), BENCH_SECONDS each
#   connection rate: wrk with "Connection: close" -> proxy -> nginx HTTP backend (a new TCP connection
#                    per request), BENCH_CONN_SECONDS
#
# For each proxy: CPU (utime+stime from /proc/PID/stat, all its processes) per GB relayed and per
# connection, throughput, connections/s, peak RSS (VmHWM). Medians over BENCH_ROUNDS rounds, run
# interleaved so that machine noise hits every proxy alike. Prints a table and the ratios
# ringside/nginx and ringside/haproxy. It measures; it does not judge: exit 0 whatever the figures.
#
# Environment: RINGSIDE_PROXY (binary; default: bazel info bazel-bin), BENCH_SECONDS (default 4),
# BENCH_CONN_SECONDS (default 3), BENCH_ROUNDS (default 3), BENCH_CONNS (wrk connections, default 16),
# BENCH_ONLY="ringside haproxy nginx" (subset to run).
# The start_* functions and the cleanup trap are called indirectly.
# shellcheck disable=SC2317
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 2
SECONDS_PER_DIR=${BENCH_SECONDS:-4}
CONN_SECONDS=${BENCH_CONN_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-16}
ONLY=${BENCH_ONLY:-ringside haproxy nginx}
WORK=$(mktemp -d /tmp/ringside-bench.XXXXXX)
RESULTS=$WORK/results.tsv
declare -A PIDS=()
declare -A FRONT_IPERF=()
declare -A FRONT_HTTP=()

# shellcheck source=test/bench/lib.sh
. test/bench/lib.sh
require_tools iperf3 wrk haproxy nginx jq

IPERF_PORT=$(free_port)
HTTP_PORT=$(free_port)

# --- backends -----------------------------------------------------------------------------------
log "work dir $WORK"
iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >"$WORK/iperf3-server.log" 2>&1 &
BG_PIDS+=($!)
mkdir -p "$WORK/backend"
cat >"$WORK/backend/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/backend/nginx.pid;
error_log $WORK/backend/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8000; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$HTTP_PORT backlog=4096;
    location / { return 200 "ok\n"; }
  }
}
EOF
nginx -p "$WORK/backend" -c "$WORK/backend/nginx.conf" &
BG_PIDS+=($!)
wait_port "$IPERF_PORT" || { log "iperf3 server did not start"; exit 1; }
wait_port "$HTTP_PORT" || { log "nginx backend did not start"; exit 1; }

# --- proxies ------------------------------------------------------------------------------------
start_ringside() {
  local bin=${RINGSIDE_PROXY:-}
  if [ -z "$bin" ]; then
    bin="$(bazel info bazel-bin 2>/dev/null)/proxy/ringside-proxy"
  fi
  if [ ! -x "$bin" ]; then
    log "ringside-proxy not found ($bin): build it with bazel build //proxy:ringside-proxy"
    return 1
  fi
  local admin f1 f2
  admin=$(free_port)
  f1=$(free_port)
  f2=$(free_port)
  cat >"$WORK/ringside.yaml" <<EOF
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $admin } }
static_resources:
  listeners:
  - name: iperf
    address: { socket_address: { address: 127.0.0.1, port_value: $f1 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: iperf
          cluster: iperf
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: $f2 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: http
          cluster: http
  clusters:
  - name: iperf
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: iperf
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $IPERF_PORT } } } } ] } ]
  - name: http
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: http
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $HTTP_PORT } } } } ] } ]
EOF
  (ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    exec "$bin" -c "$WORK/ringside.yaml" --concurrency 1 --log-level warning) >"$WORK/ringside.log" 2>&1 &
  PIDS[ringside]=$!
  BG_PIDS+=($!)
  FRONT_IPERF[ringside]=$f1
  FRONT_HTTP[ringside]=$f2
  echo "$admin" >"$WORK/ringside.admin"
}

start_haproxy() {
  local f1 f2
  f1=$(free_port)
  f2=$(free_port)
  cat >"$WORK/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen iperf
  bind 127.0.0.1:$f1
  server s1 127.0.0.1:$IPERF_PORT
listen http
  bind 127.0.0.1:$f2
  server s1 127.0.0.1:$HTTP_PORT
EOF
  haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
  PIDS[haproxy]=$!
  BG_PIDS+=($!)
  FRONT_IPERF[haproxy]=$f1
  FRONT_HTTP[haproxy]=$f2
}

start_nginx() {
  local f1 f2
  f1=$(free_port)
  f2=$(free_port)
  mkdir -p "$WORK/nginx"
  cat >"$WORK/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8000; }
stream {
  server { listen 127.0.0.1:$f1; proxy_pass 127.0.0.1:$IPERF_PORT; }
  server { listen 127.0.0.1:$f2; proxy_pass 127.0.0.1:$HTTP_PORT; }
}
EOF
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
  PIDS[nginx]=$!
  BG_PIDS+=($!)
  FRONT_IPERF[nginx]=$f1
  FRONT_HTTP[nginx]=$f2
}

PROXIES=()
for name in $ONLY; do
  if "start_$name" && wait_port "${FRONT_IPERF[$name]}" && wait_port "${FRONT_HTTP[$name]}"; then
    PROXIES+=("$name")
    log "$name started (pid ${PIDS[$name]})"
  else
    log "$name could not be started: left out (see $WORK/$name.log)"
  fi
done
[ "${#PROXIES[@]}" -gt 0 ] || { log "no proxy started"; exit 1; }

# --- load ---------------------------------------------------------------------------------------
# iperf_run PORT EXTRA_ARGS... : prints "bytes bits_per_second" received
iperf_run() {
  local port=$1 out
  shift
  out=$(timeout $((SECONDS_PER_DIR + 20)) iperf3 -c 127.0.0.1 -p "$port" -t "$SECONDS_PER_DIR" -J "$@" 2>/dev/null)
  echo "$out" | jq -r '"\(.end.sum_received.bytes // 0) \(.end.sum_received.bits_per_second // 0)"' 2>/dev/null ||
    echo "0 0"
}

# wrk_run PORT: prints "requests seconds errors"
wrk_run() {
  local out
  out=$(timeout $((CONN_SECONDS + 20)) wrk -t1 -c"$CONNS" -d"${CONN_SECONDS}s" -H "Connection: close" \
    "http://127.0.0.1:$1/" 2>&1)
  echo "$out" >>"$WORK/wrk.log"
  local req secs errs
  req=$(echo "$out" | awk '/requests in/ {print $1}')
  secs=$(echo "$out" | awk '/requests in/ {gsub(/s,?/, "", $4); print $4}')
  errs=$(echo "$out" | awk '/Socket errors/ {n=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) {gsub(",","",$i); n+=$i}; print n}')
  echo "${req:-0} ${secs:-0} ${errs:-0}"
}

echo -e "proxy\tround\tup_bytes\tup_bps\tdown_bytes\tdown_bps\tcpu_xfer\tconns\tconn_secs\tconn_errs\tcpu_conn" >"$RESULTS"

log "direct (no proxy) baseline"
read -r db dbps <<<"$(iperf_run "$IPERF_PORT")"
read -r rb rbps <<<"$(iperf_run "$IPERF_PORT" -R)"
read -r dc dcs dce <<<"$(wrk_run "$HTTP_PORT")"
echo -e "direct\t0\t$db\t$dbps\t$rb\t$rbps\t0\t$dc\t$dcs\t$dce\t0" >>"$RESULTS"

for round in $(seq "$ROUNDS"); do
  for name in "${PROXIES[@]}"; do
    pid=${PIDS[$name]}
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) is no longer running; skipped"
      continue
    fi
    log "round $round/$ROUNDS: $name"
    c0=$(cpu_seconds "$pid")
    read -r ub ubps <<<"$(iperf_run "${FRONT_IPERF[$name]}")"
    read -r db dbps <<<"$(iperf_run "${FRONT_IPERF[$name]}" -R)"
    c1=$(cpu_seconds "$pid")
    read -r nc ncs nce <<<"$(wrk_run "${FRONT_HTTP[$name]}")"
    c2=$(cpu_seconds "$pid")
    cx=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
    cc=$(awk -v a="$c1" -v b="$c2" 'BEGIN { printf "%.3f", b - a }')
    echo -e "$name\t$round\t$ub\t$ubps\t$db\t$dbps\t$cx\t$nc\t$ncs\t$nce\t$cc" >>"$RESULTS"
  done
done

for name in "${PROXIES[@]}"; do
  echo -e "$name\t$(peak_rss_kib "${PIDS[$name]}")" >>"$WORK/rss.tsv"
done

# --- report -------------------------------------------------------------------------------------
"$PY" - "$RESULTS" "$WORK/rss.tsv" <<'EOF'
import csv, statistics, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
rss = dict(line.split("\t") for line in open(sys.argv[2]).read().split("\n") if line.strip())

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

figures = {}
for name in dict.fromkeys(r["proxy"] for r in rows):
    rs = [r for r in rows if r["proxy"] == name]
    f = lambda k: [float(r[k]) for r in rs]
    per = []
    for r in rs:
        gb = (float(r["up_bytes"]) + float(r["down_bytes"])) / 1e9
        per.append((
            float(r["up_bps"]) / 1e9, float(r["down_bps"]) / 1e9,
            float(r["cpu_xfer"]) / gb if gb > 0 and name != "direct" else None,
            float(r["conns"]) / float(r["conn_secs"]) if float(r["conn_secs"]) > 0 else None,
            float(r["cpu_conn"]) * 1e6 / float(r["conns"]) if float(r["conns"]) > 0 and name != "direct" else None,
            float(r["conn_errs"]),
        ))
    cols = list(zip(*per))
    figures[name] = {
        "up": med(cols[0]), "down": med(cols[1]), "cpu_gb": med(cols[2]), "cps": med(cols[3]),
        "cpu_conn": med(cols[4]), "errs": sum(cols[5]),
        "rss": int(rss[name]) / 1024 if name in rss else None,
    }

def fmt(v, spec):
    return f"{'n/a':>{int(spec.split('.')[0])}}" if v is None else format(v, spec)

print()
print(f"TCP relay, one worker per proxy, loopback; medians of {max(len([r for r in rows if r['proxy'] == n]) for n in figures)} round(s)")
print(f"{'proxy':<10} {'up Gbit/s':>10} {'down Gbit/s':>12} {'CPU s/GB':>9} {'conn/s':>9} {'CPU us/conn':>12} {'peak RSS MiB':>13} {'wrk errors':>11}")
for name, g in figures.items():
    print(f"{name:<10} {fmt(g['up'], '10.2f')} {fmt(g['down'], '12.2f')} {fmt(g['cpu_gb'], '9.3f')} "
          f"{fmt(g['cps'], '9.0f')} {fmt(g['cpu_conn'], '12.1f')} {fmt(g['rss'], '13.1f')} {g['errs']:>11.0f}")

r = figures.get("ringside")
print()
if not r:
    print("ratios: ringside-proxy was not measured")
for other in ("nginx", "haproxy"):
    o = figures.get(other)
    if not r or not o:
        continue
    def ratio(k):
        return "n/a" if not r[k] or not o[k] else f"{r[k] / o[k]:.2f}"
    print(f"ringside/{other:<8} CPU per GB {ratio('cpu_gb')}   CPU per connection {ratio('cpu_conn')}   "
          f"peak RSS {ratio('rss')}   throughput up {ratio('up')} down {ratio('down')}   conn/s {ratio('cps')}")
print("(ratios below 1 favour ringside for CPU and RSS, above 1 for throughput and conn/s)")
EOF
log "raw results: $RESULTS"
exit 0
