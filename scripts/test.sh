#!/usr/bin/env bash
# Set up (scripts/bootstrap.sh: packages, build, install) and run the whole test suite.
# Exits with ctest's code. Per-test timeouts are set in tests/CMakeLists.txt.
set -euo pipefail

cd "$(dirname "$0")/.."
# Debian's tools only: a pyenv python3 first on PATH must not stand in for /usr/bin/python3.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bash scripts/bootstrap.sh
BUILD_DIR=${BUILD_DIR:-build}
rc=0
/usr/bin/ctest --test-dir "$BUILD_DIR" --output-on-failure -j"${CTEST_JOBS:-2}" </dev/null || rc=$?
exit "$rc"
