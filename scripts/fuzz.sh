#!/usr/bin/env bash
# Build the libFuzzer harnesses of tests/fuzz/ with clang-14 (-fsanitize=fuzzer,address,undefined) in
# their own build directory and run each for SECONDS (default 60). The last line is exactly
# `N harnesses, M crashes`; the exit status is 0 when M is 0. A crash (or hang, or leak) leaves its
# reproducer in tests/fuzz/crashes/NAME-crash-<sha1> (timeout-, leak-, oom- likewise): commit it with
# the fix, and ctest's `fuzz_replay: NAME` replays it from then on.
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS (build jobs, default 2), FUZZ_HARNESSES
# (names to run, e.g. "policy json"; default every tests/fuzz/fuzz_*.cc), FUZZ_NICE (default 15).
# New inputs a run finds go to FUZZ_BUILD_DIR/corpus/NAME (not committed; copy the interesting ones
# into tests/fuzz/corpus/NAME/, `-merge=1` keeps the set small).
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SECONDS_EACH=${1:-60}
if ! [[ $SECONDS_EACH =~ ^[0-9]+$ ]] || ((SECONDS_EACH < 1)); then
  echo "usage: scripts/fuzz.sh [SECONDS per harness]" >&2
  exit 2
fi
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-2}
NICE=${FUZZ_NICE:-15}

# clang-14 and its sanitizer runtimes (libFuzzer is in libclang-rt-14-dev); bootstrap.sh lists them too.
if ! command -v clang++-14 >/dev/null || ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "fuzz.sh: clang-14 and libclang-rt-14-dev are missing: apt-get install clang-14 libclang-rt-14-dev" >&2
    exit 2
  fi
  echo "fuzz.sh: installing clang-14 libclang-rt-14-dev"
  DEBIAN_FRONTEND=noninteractive apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang-14 libclang-rt-14-dev </dev/null
fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
# The harnesses only: no hive-py, no test suite. Dynamic libpython (nothing here embeds Python).
mkdir -p "$BUILD"
nice -n "$NICE" cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DPython_EXECUTABLE=/usr/bin/python3.11 \
  -DHIVE_FUZZ=ON -DHIVE_BUILD_TESTS=OFF -DHIVE_STATIC_PYTHON=OFF "${launcher[@]}" >"$BUILD/cmake.log" 2>&1 ||
  { cat "$BUILD/cmake.log" >&2; echo "fuzz.sh: cmake failed" >&2; exit 2; }

mapfile -t all < <(grep -v '^$' "$BUILD/fuzz-harnesses.txt")
if [[ -n ${FUZZ_HARNESSES:-} ]]; then
  read -r -a names <<<"$FUZZ_HARNESSES"
else
  names=("${all[@]}")
fi
targets=()
for n in "${names[@]}"; do targets+=("fuzz_$n"); done
echo "fuzz.sh: building ${targets[*]} in $BUILD"
nice -n "$NICE" ninja -C "$BUILD" -j"$JOBS" "${targets[@]}" ||
  { echo "fuzz.sh: build failed"; echo "0 harnesses, 0 crashes"; exit 2; }

mkdir -p tests/fuzz/crashes
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
crashes=0
ran=0
summary=()
for n in "${names[@]}"; do
  seeds=tests/fuzz/corpus/$n
  work=$BUILD/corpus/$n
  mkdir -p "$work" "$seeds"
  args=(-max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="tests/fuzz/crashes/$n-")
  [[ -f tests/fuzz/$n.dict ]] && args+=(-dict="tests/fuzz/$n.dict")
  log=$BUILD/fuzz-$n.log
  echo "fuzz.sh: fuzz_$n for ${SECONDS_EACH}s (seeds $seeds, log $log)"
  bin=$BUILD/tests/fuzz/fuzz_$n
  if [[ ! -x $bin ]]; then
    echo "fuzz.sh: $bin was not built"
    echo "$ran harnesses, $crashes crashes"
    exit 2
  fi
  rc=0
  nice -n "$NICE" "$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1 </dev/null || rc=$?
  ran=$((ran + 1))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  if ((rc != 0)); then
    crashes=$((crashes + 1))
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "fuzz.sh: fuzz_$n FAILED (exit $rc), reproducer: ${repro:-none written}; the end of its log:"
    grep -v '^#' "$log" | tail -40
    summary+=("fuzz_$n: CRASH after ${execs:-?} inputs, reproducer ${repro:-?}")
  else
    summary+=("fuzz_$n: ${execs:-?} inputs in ${SECONDS_EACH}s, ${cov:-cov: ?}, no crash")
  fi
done
printf '%s\n' "${summary[@]}"
echo "$ran harnesses, $crashes crashes"
((crashes == 0))
