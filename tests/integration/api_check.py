"""Checks of the hive_sandbox module, run by tests/e2e/test_integrations.cc with Debian's
/usr/bin/python3 and PYTHONPATH set to the module's build (or install) directory.

Environment: HIVE_TEST_LOG (an audit log dir outside /tmp), HIVE_TEST_TMP (a scratch dir), HIVE_PY.
Prints `ok NAME` per check; any failure raises (exit 1) with the result dict shown.
"""
import os
import pathlib
import re
import subprocess
import sys
import threading
import time

import hive_sandbox

LOG = os.environ["HIVE_TEST_LOG"]
TMP = os.environ["HIVE_TEST_TMP"]
HIVE_PY = os.environ["HIVE_PY"]
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

r = ex.execute_script(script("tmpw.py", "open('/var/tmp/hive-api-x', 'w').write('x')\n"))
check("only quarantine_dir is writable", r["return_code"] == 1 and "PermissionError" in r["stderr"], r)
# /tmp is the run's own (security.filesystem.private_tmp): writable, and nothing reaches the host's.
r = ex.execute_script(script("tmpp.py", "open('/tmp/hive-api-x', 'w').write('x')\n"))
check("the private /tmp", r["return_code"] == 0 and not os.path.exists("/tmp/hive-api-x"), r)

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

# Every key of the policy schema is a config key (and a keyword of run()), typed by the schema and
# checked by its parser. hive-py's own dump of a policy (--check-policy) lists the same keys.
keys = hive_sandbox.policy_keys()


def check_policy(text):
    # Outside /tmp, which the policies below let the script write: a policy there is refused.
    p = os.path.join(LOG, "checked.yml")
    with open(p, "w") as f:
        f.write(text)
    return subprocess.run([HIVE_PY, "--check-policy", p], capture_output=True, text=True)


dump = check_policy(hive_sandbox.SecureScriptExecutor({}).policy_text)
check("--check-policy of the default config", dump.returncode == 0, dump)
sections = {part for k in keys.values() for part in k["key"].split(".")[:-1]}
dumped = re.findall(r"^ +(\w+):", dump.stdout, re.M)
check("hive-py's keys are policy_keys()", {n for n in dumped if n not in sections} == set(keys), (dumped, keys))
check("policy_keys() has BIP-025's", {"timeout_seconds", "cpu_seconds", "memory_mb", "file_size_mb",
                                      "max_processes", "allowed_paths", "blocked_operations", "blocked_ports",
                                      "allowed_domains", "log_level", "cpu_usage"} <= set(keys), keys)


def sample(name, k):
    """A valid value of key k that differs from its default, and how hive-py's dump writes it."""
    t = k["type"]
    if t == "integer":
        v = k["hi"] if k["default"] != k["hi"] else k["lo"]
        return v, f"{name}: {v}"
    if t == "boolean":
        return (not k["default"]), f"{name}: {'false' if k['default'] else 'true'}"
    if t == "number":
        return 1.5, f"{name}: 1.5"
    if t in ("string", "choice"):
        v = "x y" if t == "string" else [c for c in k["choices"] if c != k["default"]][0]
        return v, f'{name}: "{v}"'
    if t == "path":
        v = os.path.join(LOG, "k", name)  # outside what the sandbox may read (an HMAC key must be)
        return pathlib.Path(v), f'{name}: "{v}"'
    if t == "paths":
        v = os.path.join(TMP, name)
        return [v], f'- "{v}"'
    if t == "strings":
        return ["LANG"], '- "LANG"'
    if t == "flags":
        return k["choices"], f'- "{k["choices"][-1]}"'
    if t == "integers":
        return [k["lo"], k["hi"]], f"{name}: [{k['lo']}, {k['hi']}]"
    raise AssertionError(f"no sample for type {t}")


for name, k in sorted(keys.items()):
    value, shown = sample(name, k)
    config = {name: value, "log_dir": LOG}
    if name == "exec_paths":
        config["allow_subprocess"] = True  # the schema's cross-field rule
    text = hive_sandbox.SecureScriptExecutor(config).policy_text
    out = check_policy(text)
    check(f"policy key {name} accepted", out.returncode == 0 and shown in out.stdout, (config, text, out))
    try:
        bad = {"integer": "1", "boolean": 1, "number": "1", "string": 1, "choice": 1, "path": 1, "paths": 1,
               "strings": 1, "flags": 1, "integers": 1}[k["type"]]
        hive_sandbox.SecureScriptExecutor({name: bad})
    except TypeError as e:
        check(f"policy key {name} typed", f"config['{name}']" in str(e), e)
    else:
        raise AssertionError(f"no TypeError for {name}={bad!r}")

# Bad values are refused when the executor is made, with the parser's reason and the config key.
try:
    hive_sandbox.SecureScriptExecutor({"memory_mb": 16})
except ValueError as e:
    check("value checked at construction", "config['memory_mb']" in str(e) and "must be at least 32" in str(e), e)
    print("  ->", e)
else:
    raise AssertionError("memory_mb 16 accepted")
try:
    hive_sandbox.SecureScriptExecutor({"exec_paths": ["/bin/true"]})
except ValueError as e:
    check("cross-field rule at construction", "allow_subprocess" in str(e), e)
else:
    raise AssertionError("exec_paths without allow_subprocess accepted")

# run()'s keyword arguments reach the run.
os.environ["HIVE_API_X"] = "passed"
r = hive_sandbox.run(script("env.py", "import os\nprint(os.environ.get('HIVE_API_X'))\n"),
                     quarantine_dir=quarantine, log_dir=LOG, env_passthrough=["HIVE_API_X"], max_open_files=64)
check("run() keyword arguments", r["success"] and r["stdout"] == "passed\n", r)

# A NUL in any path or argument is refused, naming it. '/tmp/x\0/../../etc' made absolute is '/etc'.
evil = "/tmp/x\0/../../etc"
for name in ("allowed_paths", "read_only_paths", "exec_paths", "hmac_key_file", "quarantine_dir", "log_dir",
             "policy", "hive_py", "alert_command", "env_passthrough", "log_level"):
    for value in ((evil, [evil]) if keys.get(name, {}).get("type") in ("paths", "strings") else (evil,)):
        try:
            hive_sandbox.SecureScriptExecutor({name: value, "allow_subprocess": True} if name in keys else {name: value})
        except ValueError as e:
            check(f"NUL refused in config['{name}'] ({type(value).__name__})",
                  f"config['{name}']" in str(e) and "NUL" in str(e), e)
            shown = str(e)
        else:
            raise AssertionError(f"NUL accepted in config['{name}'] = {value!r}")
print("  ->", shown)
for args, what in (((evil,), "script_path"), ((hello, ["ok", "a\0b"]), "args[1]"),
                   ((pathlib.Path(hello + "\0x"),), "script_path")):
    for call in (ex.execute_script, lambda *a: hive_sandbox.run(*a, log_dir=LOG)):
        try:
            call(*args)
        except ValueError as e:
            check(f"NUL refused in {what}", what in str(e) and "NUL" in str(e), e)
        else:
            raise AssertionError(f"NUL accepted in {what}")
try:
    hive_sandbox.run(hello, allowed_paths=["/tmp", evil])
except ValueError as e:
    check("NUL refused in a run() keyword", "config['allowed_paths'][1]" in str(e), e)
else:
    raise AssertionError("NUL accepted in run(allowed_paths=...)")
print("ALL OK")
