#!/bin/sh
# Installs every system package Ringside needs to build, test and benchmark, on Debian 12.
# Idempotent: apt-get skips what is already installed. Run as root.
set -eu

PACKAGES="
  build-essential clang clang-format libfuzzer-14-dev libclang-rt-14-dev
  bazel-bootstrap default-jdk-headless
  liburing-dev android-libboringssl-dev libnghttp2-dev
  libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev protobuf-compiler
  libgrpc-dev libpcre2-dev libyaml-dev libjansson-dev libmicrohttpd-dev libcmocka-dev
  curl nghttp2-client nginx libnginx-mod-stream haproxy socat iproute2 iptables procps psmisc netcat-openbsd
  prometheus python3 python3-yaml time
  python3-pytest python3-pytest-timeout python3-websockets python3-h2 python3-httpx
  iperf3 wrk shellcheck util-linux jq
"

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $PACKAGES

# Node.js runs the npm test peers; a machine that already has node and npm keeps its own.
if ! command -v npm >/dev/null 2>&1; then
  apt-get install -y -q --no-install-recommends nodejs npm
fi

# Real Envoy v3 protos (for the wire-compatibility test) come with this npm package.
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/test/peers/node_modules/@grpc/grpc-js-xds/deps/envoy-api" ]; then
  (cd "$here/test/peers" && npm install --no-audit --no-fund --silent)
fi
