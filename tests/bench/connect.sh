#!/usr/bin/env bash
# Connect-latency benchmark (not a test): with `allowed_domains: [localhost]` every connect() of the
# sandbox is decided and made by the parent (seccomp user notification + NOTIF_ADDFD). Times N connects to
# a local server inside the script under `python3.11 -I` and `hive-py`, interleaved; medians and ratio.
# Usage: tests/bench/connect.sh [--hive-py PATH] [--log-dir DIR] [connect options: -n 10 --connects 200]
exec /usr/bin/python3.11 -I "$(dirname "$0")/bench.py" connect "$@"
