#!/usr/bin/env python3
"""CPython's regression tests under `python3 -I` and under hive-py, compared case by case (#18).

    tests/compat/run.py [--hive-py BIN] [--policy FILE] [--expected FILE] [MODULE ...]

Runs `python3 -I -m unittest -v test.MODULE` and the same under `hive-py --policy FILE` (default:
tests/compat/policy.yml) for each module (default: the governance set below), from an empty directory,
and prints one row per module: cases, passed under each, and the cases whose outcome differs. A
difference is explained when tests/compat/expected.txt names the case (or `MODULE.*`) with a reason;
the exit status is 1 when any difference is unexplained, 2 when a module could not run under python3.
"""
import argparse, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = ["test_json", "test_csv", "test_decimal", "test_statistics", "test_datetime", "test_zoneinfo",
           "test_hashlib", "test_tempfile", "test_shutil", "test_pathlib", "test_sqlite3", "test_logging",
           "test_asyncio", "test_concurrent_futures", "test_tarfile", "test_zipfile", "test_mailbox",
           "test_email", "test_configparser", "test_fractions", "test_textwrap", "test_string",
           "test_collections", "test_itertools", "test_functools", "test_enum", "test_dataclasses",
           "test_re", "test_base64", "test_uuid"]
LINE = re.compile(r"^(\S+) \(([\w.]+)\)(?:\n.*?)? \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)$", re.M)


def outcomes(cmd, cwd, timeout):
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, errors="replace")
        text, rc = p.stderr + p.stdout, p.returncode
    except subprocess.TimeoutExpired as e:
        text, rc = (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or ""), "timeout"
    found = {}
    for name, where, result in LINE.findall(text):
        found[f"{where}.{name}" if not where.endswith(name) else where] = "skipped" if result.startswith("skipped") else result
    return found, rc, text


def load_expected(path):
    exp = {}
    if os.path.exists(path):
        for line in open(path):
            line = line.split("#", 1)[0].rstrip() if not line.startswith("#") else ""
            if line:
                case, _, why = line.partition(" ")
                exp[case] = why.strip() or "(no reason given)"
    return exp


def explained(case, module, exp):
    if case in exp:
        return exp[case]
    for k, why in exp.items():
        if k.endswith(".*") and (case.startswith(k[:-1]) or k[:-2] == module):
            return why
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hive-py", default=os.path.join(HERE, "..", "..", "build", "hive-py"))
    ap.add_argument("--policy", default=os.path.join(HERE, "policy.yml"))
    ap.add_argument("--expected", default=os.path.join(HERE, "expected.txt"))
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("modules", nargs="*")
    a = ap.parse_args()
    if not os.path.isdir("/usr/lib/python3.11/test/libregrtest"):
        print("compat: Debian's libpython3.11-testsuite is not installed", file=sys.stderr)
        return 2
    # hive-py refuses a policy file or its own executable inside a path the policy lets the script write
    # (this policy: /tmp): a checkout there runs copies of both from /var/cache.
    if any(os.path.realpath(x).startswith(("/tmp/", "/var/tmp/", "/dev/shm/")) for x in (a.hive_py, a.policy)):
        import shutil
        cache = "/var/cache/hive-py-tests/compat"
        os.makedirs(cache, exist_ok=True)
        a.hive_py = shutil.copy2(a.hive_py, os.path.join(cache, "hive-py"))
        a.policy = shutil.copy2(a.policy, os.path.join(cache, "policy.yml"))
    exp = load_expected(a.expected)
    unexplained = 0
    print(f"{'module':28} {'cases':>6} {'python3':>8} {'hive-py':>8}  differences")
    for mod in a.modules or DEFAULT:
        # The tests write their files (TESTFN) in the cwd: one in /tmp, which the run sees as an empty
        # directory of its private /tmp. The audit logs go outside every writable path.
        with tempfile.TemporaryDirectory(dir="/tmp", prefix="hive-compat-") as cwd, \
                tempfile.TemporaryDirectory(dir="/var/tmp", prefix="hive-compat-logs-") as logs:
            py, prc, ptext = outcomes(["/usr/bin/python3.11", "-I", "-m", "unittest", "-v", f"test.{mod}"], cwd, a.timeout)
            hv, hrc, htext = outcomes([a.hive_py, "--policy", a.policy, "--log-dir", logs, "-m", "unittest",
                                       "-v", f"test.{mod}"], cwd, a.timeout)
        if not py:
            print(f"{mod:28} python3 -I ran no case (exit {prc}):\n{ptext[-800:]}")
            return 2
        ok = lambda d: sum(1 for v in d.values() if v in ("ok", "skipped", "expected failure"))
        diffs = [(c, py[c], hv.get(c, "missing")) for c in sorted(py) if hv.get(c, "missing") != py[c]]
        notes = []
        for c, p, h in diffs:
            why = explained(c, mod, exp)
            if why is None:
                unexplained += 1
                notes.append(f"{c}: {p} -> {h} (UNEXPLAINED)")
            else:
                notes.append(f"{c}: {p} -> {h} ({why})")
        print(f"{mod:28} {len(py):6} {ok(py):8} {ok(hv):8}  {len(diffs)}")
        for n in notes[:50]:
            print(f"    {n}")
        if len(notes) > 50:
            print(f"    ... {len(notes) - 50} more")
        if not hv and hrc != 0:
            print("    hive-py ran no case:\n" + "\n".join("      " + l for l in htext.strip().splitlines()[-6:]))
    print(f"compat: {unexplained} unexplained differences")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
