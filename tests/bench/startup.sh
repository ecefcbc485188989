#!/usr/bin/env bash
# Start-up benchmark (not a test): median/p90 wall time of `python3.11 -I -c pass` and `hive-py -c pass`,
# interleaved in one run, and their ratio (target <= 1.10x with every layer on).
# Usage: tests/bench/startup.sh [--hive-py PATH] [--log-dir DIR] [startup options: -n 50 --warmup 3]
# e.g.   tests/bench/startup.sh --hive-py build/hive-py -n 100
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
global=()
while [[ $# -gt 0 && ( $1 == --hive-py || $1 == --log-dir || $1 == --python ) ]]; do
  global+=("$1" "$2"); shift 2
done
exec /usr/bin/python3.11 -I "$here/bench.py" "${global[@]}" startup "$@"
