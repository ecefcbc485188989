#!/usr/bin/env bash
# The Python API's own memory when a script prints a lot (#17: "hive_sandbox API, 300 MB of output: the
# calling process grew by 1.2 GB"). Runs execute_script on a script that prints MB megabytes of text and
# then of control bytes, and prints the calling python3's peak RSS after each.
#   tests/bench/api_memory.sh [--build DIR] [--mb N]
set -euo pipefail
build=build mb=300
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --mb) mb=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--mb N]" >&2; exit 2 ;;
  esac
done
build=$(cd "$build" && pwd)
dir=$(mktemp -d -p /var/tmp hive-api-mem-XXXXXX)
trap 'rm -rf "$dir"' EXIT
for kind in text control; do
  if [[ $kind == text ]]; then chunk="'x' * ((1 << 20) - 1) + '\\n'"; else chunk="'\\x01' * (1 << 20)"; fi
  printf 'import sys\nchunk = %s\nfor i in range(%d): sys.stdout.write(chunk)\n' "$chunk" "$mb" >"$dir/$kind.py"
  HIVE_PY="$build/hive-py" /usr/bin/python3 - "$build/pymodules" "$dir/$kind.py" "$kind" "$mb" <<'PY'
import resource, sys
sys.path.insert(0, sys.argv[1])
import hive_sandbox
r = hive_sandbox.SecureScriptExecutor({'timeout_seconds': 120}).execute_script(sys.argv[2], [])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{sys.argv[4]} MB of {sys.argv[3]}: success={r['success']} kept={len(r['stdout'])} "
      f"stdout_bytes={r.get('stdout_bytes')} truncated={r.get('stdout_truncated')} caller peak RSS {peak:.1f} MB")
PY
done
