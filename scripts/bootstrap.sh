#!/usr/bin/env bash
# Install what hive-py's build and tests need on Debian 12, build it into ./build and install it
# (hive-py in /usr/local/bin, the policy in /etc/hive-py). Run as root. Safe to run again: apt is
# skipped when every package is already installed, and ninja rebuilds only what changed.
#
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release), JOBS (default nproc),
#              HIVE_CMAKE_ARGS (extra cmake arguments, e.g. -DHIVE_STATIC_PYTHON=OFF).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-Release}
JOBS=${JOBS:-$(nproc)}

# NB: a pyenv Python may be first on PATH; nothing here may pick it up. The build pins
# /usr/bin/python3.11 in CMakeLists.txt, and this script calls only Debian's tools by full path.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  pybind11-dev libpython3.11-dev python3.11
  libseccomp-dev libyaml-cpp-dev libssl-dev zlib1g-dev libexpat1-dev
  nlohmann-json3-dev catch2 rsyslog jq
  git procps pre-commit python3 util-linux groff-base
  ca-certificates media-types openssl python3-yaml libpython3.11-testsuite
  clang-14 libclang-rt-14-dev
)

if [[ $(id -u) -ne 0 ]]; then
  echo "bootstrap.sh: run as root (sudo bash scripts/bootstrap.sh)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap.sh: installing ${missing[*]}"
  apt-get update
  apt-get install -y --no-install-recommends "${PACKAGES[@]}" </dev/null
else
  echo "bootstrap.sh: all ${#PACKAGES[@]} packages already installed"
fi

# ${HIVE_CMAKE_ARGS} is split on purpose: it may hold several -D arguments.
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DPython_EXECUTABLE=/usr/bin/python3.11 ${HIVE_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -- -j"$JOBS"
cmake --install "$BUILD_DIR"
echo "bootstrap.sh: installed $(command -v hive-py) ($(hive-py --version))"
