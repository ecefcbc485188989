#!/usr/bin/env bash
# Connect-latency benchmark (not a test): with `allowed_domains: [localhost]` every connect() of the
# sandbox is decided and made by the parent (seccomp user notification + NOTIF_ADDFD). Times N connects to
# a local server inside the script under `python3.11 -I` and `hive-py`, interleaved; medians and ratio.
# Usage: tests/bench/connect.sh [--hive-py PATH] [--log-dir DIR] [connect options: -n 10 --connects 200]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
global=()
while [[ $# -gt 0 && ( $1 == --hive-py || $1 == --log-dir || $1 == --python ) ]]; do
  global+=("$1" "$2"); shift 2
done
exec /usr/bin/python3.11 -I "$here/bench.py" "${global[@]}" connect "$@"
