#!/usr/bin/env bash
# 5,000-file benchmark (not a test): a script that opens and reads 5,000 small files under /tmp, run under
# `python3.11 -I` and `hive-py` interleaved; medians, ratio (target <= 1.15x) and the events per second
# the audit trail absorbed.
# Usage: tests/bench/files.sh [--hive-py PATH] [--log-dir DIR] [files options: -n 10 --files 5000]
exec /usr/bin/python3.11 -I "$(dirname "$0")/bench.py" files "$@"
