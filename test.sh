#!/usr/bin/env bash
# Ringside's whole test suite, as root on Debian 12: installs dependencies, builds, runs the unit tests
# (plain and ASan+UBSan), the integration suite (against the plain and the ASan build), the API wire
# test and a bounded fuzz run. Its last line is "N passed, N failed" over every test it ran; it exits
# non-zero if anything failed. .ci/run calls it.
#
# Environment (all optional):
#   RINGSIDE_SKIP_DEPS=1          do not run ./install-deps.sh
#   RINGSIDE_FUZZ_SECONDS=30      run time of each fuzz target
#   RINGSIDE_FUZZ_TARGETS_FILE    list of fuzz targets (default: test/fuzz/targets.txt)
#   RINGSIDE_ASAN_INTEGRATION=0   skip the integration suite against the ASan build
#   RINGSIDE_PYTEST_ARGS="..."    extra pytest arguments (e.g. -k relay)
#   RINGSIDE_TEST_LOGS=DIR        where logs go (default: a fresh folder under /tmp)
#   RINGSIDE_BAZEL_STARTUP="..."  Bazel startup options for the main build (e.g. --output_base=DIR)
#   RINGSIDE_STEPS="..."          run only these steps, in this order (default: all of
#                                 deps build unit unit_asan integration integration_asan api_wire fuzz lint)
set -uo pipefail

cd "$(dirname "$0")" || exit 2

PY=/usr/bin/python3
# shellcheck disable=SC2206
BAZEL=(bazel ${RINGSIDE_BAZEL_STARTUP:-})
export RINGSIDE_BAZEL_STARTUP
FUZZ_SECONDS=${RINGSIDE_FUZZ_SECONDS:-30}
LOGS=${RINGSIDE_TEST_LOGS:-$(mktemp -d /tmp/ringside-test.XXXXXX)}
mkdir -p "$LOGS"
START=$(date +%s)
PASSED=0
FAILED=0
SUMMARY=()

elapsed() {
  local s=$(($(date +%s) - START))
  printf '%d:%02d' $((s / 60)) $((s % 60))
}

section() {
  echo
  echo "=================================================================================="
  echo "== [$(elapsed)] $*"
  echo "=================================================================================="
}

# record NAME PASSED FAILED [NOTE]
record() {
  PASSED=$((PASSED + $2))
  FAILED=$((FAILED + $3))
  SUMMARY+=("$(printf '%-34s %4d passed %4d failed  %s' "$1" "$2" "$3" "${4:-}")")
  echo "-- $1: $2 passed, $3 failed ${4:-}"
}

# Counts per-target results in a `bazel test --test_summary=short` log: prints "PASSED FAILED".
bazel_counts() {
  awk '
    /^\/\/[^ ]+ +(\(cached\) +)?(PASSED|FLAKY)/ { p++ }
    /^\/\/[^ ]+ +(\(cached\) +)?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|REMOTE FAILURE)/ { f++ }
    END { printf "%d %d\n", p, f }
  ' "$1"
}

# run_bazel_tests NAME LOG [bazel test options...]
run_bazel_tests() {
  local name=$1 log=$2
  shift 2
  "${BAZEL[@]}" test --test_summary=short --color=no --curses=no "$@" //... 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local counts p f
  counts=$(bazel_counts "$log")
  p=${counts% *}
  f=${counts#* }
  if [ "$rc" -eq 4 ]; then
    record "$name" "$p" "$f" "(no test targets yet)"
  elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    record "$name" "$p" 1 "(bazel exited $rc before reporting a failing target; see $log)"
  else
    record "$name" "$p" "$f"
  fi
}

# run_pytest NAME JUNIT_XML [pytest args...]: runs the integration suite and counts its cases.
run_pytest() {
  local name=$1 xml=$2
  shift 2
  local timeout_args=()
  if "$PY" -c "import pytest_timeout" 2>/dev/null; then
    timeout_args=(--timeout=300)
  fi
  # shellcheck disable=SC2086
  PYTHONDONTWRITEBYTECODE=1 timeout 1500 "$PY" -m pytest -p no:cacheprovider -q -rfEs \
    "${timeout_args[@]}" --junitxml="$xml" "$@" ${RINGSIDE_PYTEST_ARGS:-} test/integration
  local rc=$?
  local counts
  counts=$("$PY" - "$xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 0 0"); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = s = 0
for su in suites:
    t += int(su.get("tests", 0)); s += int(su.get("skipped", 0))
    f += int(su.get("failures", 0)) + int(su.get("errors", 0))
print(t - f - s, f, s)
EOF
)
  local p f s
  read -r p f s <<<"$counts"
  if [ "$rc" -eq 5 ]; then
    record "$name" 0 0 "(no tests collected)"
  elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    record "$name" "$p" 1 "(pytest exited $rc; $s skipped)"
  else
    record "$name" "$p" "$f" "($s skipped)"
  fi
}

# --- the steps ----------------------------------------------------------------------------------

step_deps() {
  section "install dependencies (./install-deps.sh)"
  if [ "${RINGSIDE_SKIP_DEPS:-0}" = 1 ]; then
    echo "skipped (RINGSIDE_SKIP_DEPS=1)"
  elif ! ./install-deps.sh >"$LOGS/install-deps.log" 2>&1; then
    tail -n 40 "$LOGS/install-deps.log"
    record "install-deps" 0 1 "(see $LOGS/install-deps.log)"
  else
    echo "ok"
  fi
}

step_build() {
  section "bazel build //..."
  BUILD_OK=1
  "${BAZEL[@]}" build --color=no --curses=no //... 2>&1 | tee "$LOGS/build.log"
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    BUILD_OK=0
    record "bazel build //..." 0 1 "(see $LOGS/build.log)"
  fi
}

step_unit() {
  section "bazel test //..."
  run_bazel_tests "bazel test //..." "$LOGS/unit.log"
}

step_unit_asan() {
  section "bazel test --config=asan //... (ASan + UBSan)"
  run_bazel_tests "bazel test --config=asan //..." "$LOGS/unit-asan.log" --config=asan
}

step_integration() {
  section "integration suite (test/integration, plain build)"
  BIN_DIR=$("${BAZEL[@]}" info bazel-bin 2>/dev/null)
  PROXY_BIN="$BIN_DIR/proxy/ringside-proxy"
  if [ -x "$PROXY_BIN" ]; then
    echo "proxy: $PROXY_BIN"
  else
    echo "ringside-proxy was not built ($PROXY_BIN missing): every integration test that needs it fails"
  fi
  RINGSIDE_PROXY=$PROXY_BIN run_pytest "integration" "$LOGS/integration.xml"
}

step_integration_asan() {
  section "integration suite against the ASan + UBSan build"
  if [ "${RINGSIDE_ASAN_INTEGRATION:-1}" = 1 ]; then
    if "${BAZEL[@]}" build --config=asan --color=no --curses=no //proxy:ringside-proxy >"$LOGS/build-asan.log" 2>&1; then
      ASAN_BIN="$("${BAZEL[@]}" info --config=asan bazel-bin 2>/dev/null)/proxy/ringside-proxy"
      echo "proxy: $ASAN_BIN"
      # The 10k-connection and 100 MiB cases measure capacity, not correctness: the plain run covers them.
      RINGSIDE_PROXY=$ASAN_BIN \
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_pytest "integration (asan)" "$LOGS/integration-asan.xml" -k "not 10k and not 100MiB"
    else
      tail -n 30 "$LOGS/build-asan.log"
      record "integration (asan)" 0 1 "(ASan build of //proxy:ringside-proxy failed; see $LOGS/build-asan.log)"
    fi
  else
    echo "skipped (RINGSIDE_ASAN_INTEGRATION=0)"
  fi
}

step_api_wire() {
  section "API wire compatibility (test/api_wire/run.sh)"
  if [ -f test/api_wire/run.sh ]; then
    bash test/api_wire/run.sh 2>&1 | tee "$LOGS/api_wire.log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$LOGS/api_wire.log" | tail -n 1)
    if [ -n "$line" ]; then
      p=$(echo "$line" | sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
      f=$(echo "$line" | sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
      if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
      record "api_wire" "$p" "$f"
    elif [ "$rc" -eq 0 ]; then
      record "api_wire" 1 0
    else
      record "api_wire" 0 1 "(exit $rc)"
    fi
  else
    echo "skipped: test/api_wire/run.sh does not exist yet"
  fi
}

step_fuzz() {
  section "fuzz targets (${FUZZ_SECONDS}s each)"
  FUZZ_TARGETS_FILE=${RINGSIDE_FUZZ_TARGETS_FILE:-test/fuzz/targets.txt}
  if [ -f "$FUZZ_TARGETS_FILE" ]; then
    mapfile -t TARGETS < <(sed -e "s/#.*//" -e "s/[[:space:]]//g" "$FUZZ_TARGETS_FILE" | grep -v "^$")
    FUZZ_BASE=${RINGSIDE_FUZZ_OUTPUT_BASE:-/tmp/ringside-bazel-fuzz}
    FUZZ_FLAGS=(--config=fuzz)
    if ! grep -q '^build:fuzz' .bazelrc; then
      echo "note: .bazelrc has no build:fuzz config; using -fsanitize=fuzzer,address directly"
      # shellcheck disable=SC2054
      FUZZ_FLAGS=(--copt=-fsanitize=fuzzer,address --linkopt=-fsanitize=fuzzer,address --copt=-O1 --copt=-g)
    fi
    FUZZ_BAZEL=(env CC=clang bazel --output_base="$FUZZ_BASE")
    LABELS=()
    for t in "${TARGETS[@]}"; do LABELS+=("//test/fuzz:$t"); done
    BUILT=()
    ff=0
    fp=0
    if [ "${#TARGETS[@]}" -eq 0 ]; then
      echo "skipped: $FUZZ_TARGETS_FILE lists no targets"
    elif "${FUZZ_BAZEL[@]}" build --color=no --curses=no "${FUZZ_FLAGS[@]}" "${LABELS[@]}" \
        >"$LOGS/fuzz-build.log" 2>&1; then
      BUILT=("${TARGETS[@]}")
    else
      # Find out which targets do not build; the others still run.
      for t in "${TARGETS[@]}"; do
        if "${FUZZ_BAZEL[@]}" build --color=no --curses=no "${FUZZ_FLAGS[@]}" "//test/fuzz:$t" \
            >"$LOGS/fuzz-build-$t.log" 2>&1; then
          BUILT+=("$t")
        else
          ff=$((ff + 1))
          echo "-- $t: BUILD FAILED; last lines of $LOGS/fuzz-build-$t.log:"
          tail -n 30 "$LOGS/fuzz-build-$t.log"
        fi
      done
    fi
    if [ "${#BUILT[@]}" -gt 0 ]; then
      FUZZ_BIN=$("${FUZZ_BAZEL[@]}" info "${FUZZ_FLAGS[@]}" bazel-bin 2>/dev/null)
      for t in "${BUILT[@]}"; do
        work="$LOGS/fuzz-$t"
        mkdir -p "$work/corpus"
        corpus=()
        if [ -d "test/fuzz/corpus/$t" ]; then
          corpus=("test/fuzz/corpus/$t")
        elif [ -d "test/fuzz/corpus/${t%_fuzz}" ]; then
          corpus=("test/fuzz/corpus/${t%_fuzz}")
        fi
        dict=()
        [ -f "test/fuzz/$t.dict" ] && dict=("-dict=test/fuzz/$t.dict")
        echo "-- $t: ${FUZZ_SECONDS}s on ${corpus[*]:-an empty corpus}"
        # New inputs go to the scratch corpus (first folder): the repository's seed corpus stays as is.
        timeout $((FUZZ_SECONDS + 120)) "$FUZZ_BIN/test/fuzz/$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
          -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" "${dict[@]}" \
          "$work/corpus" "${corpus[@]}" \
          >"$work/log" 2>&1
        rc=$?
        if [ "$rc" -eq 0 ]; then
          fp=$((fp + 1))
          echo "   ok: $(grep -E 'stat::number_of_executed_units' "$work/log" | awk '{print $2}') runs"
        else
          ff=$((ff + 1))
          echo "   FAILED (exit $rc); last lines of $work/log:"
          tail -n 30 "$work/log"
        fi
      done
    fi
    [ "${#TARGETS[@]}" -eq 0 ] || record "fuzz" "$fp" "$ff"
    bazel --output_base="$FUZZ_BASE" shutdown >/dev/null 2>&1 || true
  else
    echo "skipped: $FUZZ_TARGETS_FILE does not exist yet"
  fi
}

step_lint() {
  section "shellcheck (test.sh, demo.sh, .ci/run, deploy/, test/bench/)"
  mapfile -t SCRIPTS < <(ls test.sh demo.sh .ci/run deploy/init/*.sh test/bench/*.sh 2>/dev/null)
  if command -v shellcheck >/dev/null 2>&1; then
    if shellcheck -x "${SCRIPTS[@]}"; then
      record "shellcheck" 1 0
    else
      record "shellcheck" 0 1
    fi
  else
    record "shellcheck" 0 1 "(shellcheck not installed)"
  fi
}

# --- main ---------------------------------------------------------------------------------------

ALL_STEPS="deps build unit unit_asan integration integration_asan api_wire fuzz lint"
STEPS=${RINGSIDE_STEPS:-$ALL_STEPS}
BUILD_OK=1
echo "Ringside test suite: logs in $LOGS"
for step in $STEPS; do
  case " $ALL_STEPS " in
    *" $step "*) "step_$step" ;;
    *) echo "unknown step '$step' in RINGSIDE_STEPS (steps: $ALL_STEPS)" >&2; exit 2 ;;
  esac
done

if [ "${CI:-}" = true ]; then
  "${BAZEL[@]}" shutdown >/dev/null 2>&1 || true
fi

section "summary ($(elapsed) total; logs in $LOGS)"
[ "$BUILD_OK" = 1 ] || echo "the build failed: see $LOGS/build.log"
for line in "${SUMMARY[@]}"; do echo "$line"; done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
