#!/usr/bin/env bash
# Start-up benchmark (not a test): median/p90 wall time of `python3.11 -I -c pass` and `hive-py -c pass`,
# interleaved in one run, and their ratio (target <= 1.10x with every layer on).
# Usage: tests/bench/startup.sh [--hive-py PATH] [--log-dir DIR] [startup options: -n 50 --warmup 3]
# e.g.   tests/bench/startup.sh --hive-py build/hive-py -n 100
exec /usr/bin/python3.11 -I "$(dirname "$0")/bench.py" startup "$@"
