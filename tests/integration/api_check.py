"""Checks of the hive_sandbox module, run by tests/e2e/test_integrations.cc with Debian's
/usr/bin/python3 and PYTHONPATH set to the module's build (or install) directory.

Environment: HIVE_TEST_LOG (an audit log dir outside /tmp), HIVE_TEST_TMP (a scratch dir), HIVE_PY.
Prints `ok NAME` per check; any failure raises (exit 1) with the result dict shown.
"""
import os
import sys
import threading
import time

import hive_sandbox

LOG = os.environ["HIVE_TEST_LOG"]
TMP = os.environ["HIVE_TEST_TMP"]
assert sys.executable.startswith("/usr/bin/python3"), sys.executable
assert sys.version_info[:2] == (3, 11), sys.version


def script(name, text):
    p = os.path.join(TMP, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def check(name, cond, r=None):
    if not cond:
        raise AssertionError(f"{name}: {r!r}")
    print("ok", name, flush=True)


quarantine = os.path.join(TMP, "quarantine")
os.makedirs(quarantine, exist_ok=True)
base = {"timeout_seconds": 20, "cpu_seconds": 10, "memory_mb": 256, "file_size_mb": 5,
        "max_processes": 5, "quarantine_dir": quarantine, "log_dir": LOG}

hello = script("hello.py", "import os, sys\nprint('hello', sys.argv[1:], os.getpid())\n"
                           "open('out.txt', 'w').write('written')\n")
ex = hive_sandbox.SecureScriptExecutor(base)
r = ex.execute_script(hello, ["a", "b c"])
for k in ("success", "stdout", "stderr", "return_code", "execution_time", "run_id", "log_dir"):
    check(f"key {k}", k in r, r)
check("success", r["success"] is True and r["return_code"] == 0, r)
check("stdout and args", r["stdout"].startswith("hello ['a', 'b c'] "), r)
check("execution_time", isinstance(r["execution_time"], float) and 0 < r["execution_time"] < 20, r)
check("quarantine_dir is the cwd and writable", open(os.path.join(quarantine, "out.txt")).read() == "written", r)
check("no error key on success", "error" not in r, r)
check("audit log written", os.path.exists(os.path.join(LOG, "execution_audit.log")) and
      r["run_id"] in open(os.path.join(LOG, "execution_audit.log")).read(), r)

r = ex.execute_script(script("exit3.py", "import sys\nprint('bye')\nsys.exit(3)\n"))
check("exit code", r["success"] is False and r["return_code"] == 3 and r["stdout"] == "bye\n", r)

r = ex.execute_script(script("shadow.py", "open('/etc/shadow').read()\n"))
check("policy refusal in stderr", r["return_code"] == 1 and
      "hive-py: reading outside the paths security.filesystem allows: '/etc/shadow'" in r["stderr"], r)

r = ex.execute_script(script("tmpw.py", "open('/tmp/hive-api-x', 'w').write('x')\n"))
check("only quarantine_dir is writable", r["return_code"] == 1 and "PermissionError" in r["stderr"], r)

r = ex.execute_script(script("ct.py", "import ctypes\n"))
check("ctypes refused", "ModuleNotFoundError: hive-py: import of 'ctypes'" in r["stderr"], r)

t0 = time.monotonic()
r = hive_sandbox.SecureScriptExecutor(dict(base, timeout_seconds=1)).execute_script(
    script("sleep.py", "import time\ntime.sleep(30)\n"))
check("timeout", r["success"] is False and r.get("error") == "timeout" and time.monotonic() - t0 < 10, r)

# The GIL is released while a script runs: another thread keeps counting, and two runs overlap.
count = [0]
stop = threading.Event()


def spin():
    while not stop.is_set():
        count[0] += 1
        time.sleep(0.001)


sleeper = script("sleep1.py", "import time\ntime.sleep(1.5)\nprint('slept')\n")
th = threading.Thread(target=spin)
th.start()
results = []
t0 = time.monotonic()
runs = [threading.Thread(target=lambda: results.append(ex.execute_script(sleeper))) for _ in range(2)]
for t in runs:
    t.start()
for t in runs:
    t.join()
elapsed = time.monotonic() - t0
stop.set()
th.join()
# Serial runs would take the sum of their times; overlapping ones about the longest.
check("two runs in parallel", len(results) == 2 and all(x["stdout"] == "slept\n" for x in results) and
      elapsed < 0.8 * sum(x["execution_time"] for x in results), (elapsed, results))
check("GIL released while waiting", count[0] > 100, count[0])

# A policy file instead of keys.
pol = script("policy.yml", "security:\n  execution:\n    timeout_seconds: 7\n  imports:\n    deny: [json]\n")
r = hive_sandbox.SecureScriptExecutor({"policy": pol, "log_dir": LOG}).execute_script(
    script("js.py", "import json\n"))
check("policy file used", r["policy_source"] == pol and "security.imports.deny" in r["stderr"], r)

# run() convenience.
r = hive_sandbox.run(hello, ["x"], quarantine_dir=quarantine, log_dir=LOG)
check("run()", r["success"] and "hello ['x']" in r["stdout"], r)

# Errors a caller meets read as one line with the fix.
r = ex.execute_script(os.path.join(TMP, "missing.py"))
check("missing script", r["success"] is False and r["return_code"] == 2 and r["error"].startswith("hive-py:"), r)
print("missing script error:", r["error"])
for bad, exc in (({"timeout": 5}, ValueError), ({"memory_mb": "512"}, TypeError),
                 ({"policy": pol, "memory_mb": 64}, ValueError), ({"quarantine_dir": "/nonexistent/q"}, ValueError),
                 ("not a dict", TypeError)):
    try:
        hive_sandbox.SecureScriptExecutor(bad)
    except exc as e:
        check(f"config error {bad!r}", "hive_sandbox:" in str(e), e)
        print("  ->", e)
    else:
        raise AssertionError(f"no error for {bad!r}")
try:
    hive_sandbox.SecureScriptExecutor({"hive_py": "/nonexistent/hive-py"}).execute_script(hello)
except ValueError as e:
    check("hive-py not found", "hive-py not found" in str(e), e)
    print("  ->", e)
print("ALL OK")
