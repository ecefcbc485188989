#!/usr/bin/env bash
# Set up (scripts/bootstrap.sh: packages, build, install) and run the whole test suite.
# Exits with ctest's code. Per-test timeouts are set in tests/CMakeLists.txt.
#
#   bash scripts/test.sh             the release build in ./build (installed), its whole suite
#   bash scripts/test.sh --sanitize  the same suite on an ASan + UBSan build of everything
#                                    (-DHIVE_SANITIZE=ON, ./build-asan, not installed; README "Reliability")
set -euo pipefail

cd "$(dirname "$0")/.."
# Debian's tools only: a pyenv python3 first on PATH must not stand in for /usr/bin/python3.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mode=${1:-}
case $mode in
  "" | --sanitize) ;;
  *) echo "usage: scripts/test.sh [--sanitize]" >&2; exit 2 ;;
esac

bash scripts/bootstrap.sh
BUILD_DIR=${BUILD_DIR:-build}
if [[ $mode == --sanitize ]]; then
  # The packages are there now (bootstrap.sh); build the sanitizer tree next to the release one.
  BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPython_EXECUTABLE=/usr/bin/python3.11 -DHIVE_SANITIZE=ON
  cmake --build "$BUILD_DIR" -- -j"${JOBS:-$(nproc)}"
fi
rc=0
/usr/bin/ctest --test-dir "$BUILD_DIR" --output-on-failure -j"${CTEST_JOBS:-2}" </dev/null || rc=$?
exit "$rc"
