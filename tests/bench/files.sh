#!/usr/bin/env bash
# 5,000-file benchmark (not a test): a script that opens and reads 5,000 small files under /tmp, run under
# `python3.11 -I` and `hive-py` interleaved; medians, ratio (target <= 1.15x) and the events per second
# the audit trail absorbed.
# Usage: tests/bench/files.sh [--hive-py PATH] [--log-dir DIR] [files options: -n 10 --files 5000]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
global=()
while [[ $# -gt 0 && ( $1 == --hive-py || $1 == --log-dir || $1 == --python ) ]]; do
  global+=("$1" "$2"); shift 2
done
exec /usr/bin/python3.11 -I "$here/bench.py" "${global[@]}" files "$@"
