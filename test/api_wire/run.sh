#!/usr/bin/env bash
# Wire compatibility of //api:envoy_pb with the reference Envoy v3 protos (see wire_test.js).
# Prints "PASS name" / "FAIL name: why" per case and "N passed, N failed"; exits non-zero on any
# failure. Environment: BAZEL_OUTPUT_BASE (optional --output_base), BAZEL_FLAGS (e.g. --config=asan).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

startup=()
if [ -n "${BAZEL_OUTPUT_BASE:-}" ]; then
  startup=(--output_base="$BAZEL_OUTPUT_BASE")
fi
read -r -a flags <<<"${BAZEL_FLAGS:-}"

if [ ! -d test/peers/node_modules/@grpc/grpc-js-xds/deps/envoy-api ]; then
  echo "FAIL setup: test/peers/node_modules is missing (run install-deps.sh)"
  echo "0 passed, 1 failed"
  exit 1
fi

if ! bazel "${startup[@]}" build "${flags[@]}" //test/api_wire:wire_roundtrip >/tmp/api_wire_build.$$.log 2>&1; then
  tail -n 30 /tmp/api_wire_build.$$.log
  rm -f /tmp/api_wire_build.$$.log
  echo "FAIL build: bazel build //test/api_wire:wire_roundtrip"
  echo "0 passed, 1 failed"
  exit 1
fi
rm -f /tmp/api_wire_build.$$.log
bin=$(bazel "${startup[@]}" info "${flags[@]}" bazel-bin 2>/dev/null)

exec node test/api_wire/wire_test.js "$bin/test/api_wire/wire_roundtrip"
