# Shared by the benchmark scripts (sourced, after `cd` to the repository root): process tracking
# and cleanup, ports, and the /proc readings every comparison is made of.
# shellcheck shell=bash
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap

PY=/usr/bin/python3
TICK=$(getconf CLK_TCK)
BG_PIDS=() # everything a benchmark starts; stopped on exit

log() { echo "[bench] $*" >&2; }

cleanup() {
  for pid in "${BG_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  sleep 0.3
  for pid in "${BG_PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# require_tools TOOL...: exits with a hint when one is missing.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { log "$tool is missing: run ./install-deps.sh"; exit 1; }
  done
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 100); do
    if (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# All pids of a proxy: the process and its children (nginx's master and worker).
proc_pids() {
  echo "$1"
  pgrep -P "$1" 2>/dev/null || true
}

# CPU seconds (utime+stime) of a proxy's processes, as a decimal.
cpu_seconds() {
  local total=0 pid t
  for pid in $(proc_pids "$1"); do
    # Fields after the ")" of the command name: utime is the 12th, stime the 13th.
    t=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}')
    total=$((total + ${t:-0}))
  done
  awk -v t="$total" -v hz="$TICK" 'BEGIN { printf "%.3f", t / hz }'
}

peak_rss_kib() {
  local total=0 pid v
  for pid in $(proc_pids "$1"); do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
