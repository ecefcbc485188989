// Attack tests: native code under a policy that allows none (issue 16, "Native code under the default
// policy"), and the script that runs being the bytes that were hashed ("The record lies": the script
// swapped between hashing and running).
//
// THREAT-MODEL.md, "What holds, and where":
// - "no new processes unless allowed; no privilege gain ... nosuid,noexec,nodev on writable mounts": the
//   kernel backstop, shown with the hook out of the way (ctypes allowed, policy/tests/attack/ctypes_default):
//   a .so the script wrote into an allowed path cannot be mapped executable.
// - "the event trail is unforgeable: under a policy without native code, the script cannot reach the
//   hook's memory": every route to native code the stdlib offers is refused at the hook under the
//   default rules (policy/tests/attack/native_default.yml: BIP-025's defaults, /tmp writable, no ctypes).
// - "the run record is true ... hashes of the bytes it fed": the script swapped after its hash runs
//   the hashed bytes.
//
// Each script prints one line per attempt, "ROUTE: LOADED ..." / "ROUTE: OK" or "ROUTE: refused TYPE: MSG".
// Every run is bounded by the policy's timeout_seconds (30) and the harness' own timeout.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "logged.h"
#include "run.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
using namespace hivetest;

namespace {

std::string attack_policy(const std::string& name) { return policy_fixture("attack/" + name + ".yml"); }

const std::string kDynload = "/usr/lib/python3.11/lib-dynload/";
const std::string kCtypesSo = kDynload + "_ctypes.cpython-311-x86_64-linux-gnu.so";
const std::string kJsonSo = kDynload + "_json.cpython-311-x86_64-linux-gnu.so";

// Python run before each attack: step(route, f) prints what became of it.
const char* const kPrelude = R"PY(import importlib, importlib.util, importlib.machinery, os, sys, tempfile, types
def step(route, f):
    try:
        r = f()
        print(route + ": LOADED" if isinstance(r, types.ModuleType) else route + ": OK", flush=True)
        return r
    except Exception as e:
        print(route + ": refused " + type(e).__name__ + ": " + str(e), flush=True)
)PY";

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// The line of `route`, "" when it printed none.
std::string line_of(const Logged& r, const std::string& route) {
    for (const auto& l : lines(r.o.out))
        if (l.rfind(route + ": ", 0) == 0) return l;
    return "";
}

// `route` was refused by the hook with a ModuleNotFoundError/PermissionError naming hive-py and `part`.
void require_hook_refused(const Logged& r, const std::string& route, const std::string& part,
                          const std::string& type = "ModuleNotFoundError") {
    INFO("route " << route << "\nstdout:\n" << r.o.out << "\nstderr:\n" << r.o.err);
    const std::string l = line_of(r, route);
    REQUIRE(!l.empty());
    CHECK(has(l, route + ": refused " + type + ": "));
    CHECK(has(l, "hive-py: "));
    CHECK(has(l, part));
}

// A denial by the hook of `event` whose first argument starts with `arg0`, or whose second one is `arg1`.
bool denied(const Logged& r, const std::string& event, const std::string& arg0, const std::string& arg1 = "") {
    for (auto& e : r.events) {
        if (e["event"] != event || e["decision"] != "denied_by_hook" || e["args"].empty()) continue;
        if (!arg0.empty() && e["args"][0].get<std::string>().rfind(arg0, 0) != 0) continue;
        if (!arg1.empty() && (e["args"].size() < 2 || e["args"][1] != arg1)) continue;
        return true;
    }
    return false;
}

Logged attack(const std::string& pol, const std::string& code) {
    TempDir dir;
    LogDir logs;
    return run_logged(dir, logs, std::string(kPrelude) + code, attack_policy(pol));
}

// Whether the run had its own mount namespace (the noexec backstop needs one); says so when not.
bool had_mount_namespace(const Logged& r) {
    const std::string rec = r.record.dump();
    if (has(rec, "\"namespace:mount\"")) return true;
    WARN("SKIPPED: no mount namespace in this run, so no noexec backstop to show: " << rec.substr(0, 400));
    return false;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// At the hook, under the default rules

TEST_CASE("attack: lib-dynload's _ctypes loaded under another package's name (json._ctypes) is refused before dlopen",
          "[attack][native]") {
    auto r = attack("native_default", R"PY(
SO = ')PY" + kCtypesSo + R"PY('
spec = lambda: importlib.util.spec_from_file_location('json._ctypes', SO)
step('spec_from_file', lambda: importlib.util.module_from_spec(spec()))
step('ext_loader', lambda: importlib.machinery.ExtensionFileLoader('json._ctypes', SO).create_module(spec()))
import _imp
step('create_dynamic', lambda: _imp.create_dynamic(importlib.machinery.ModuleSpec('json._ctypes', None, origin=SO)))
import warnings; warnings.simplefilter('ignore')
import imp
step('imp_load_dynamic', lambda: imp.load_dynamic('json._ctypes', SO))
# A str subclass for the name: the C loader uses its characters, the hook must too.
class S(str): pass
step('str_subclass', lambda: _imp.create_dynamic(importlib.machinery.ModuleSpec(S('_ctypes'), None, origin=S(SO))))
# Under a lib-dynload module's name the file still runs its own code when dlopen loads it.
step('name_mismatch', lambda: _imp.create_dynamic(importlib.machinery.ModuleSpec('_json', None, origin=SO)))
# lib-dynload's test modules (Debian's libpython3.11-testsuite): memory-corruption helpers, not stdlib names.
for t in ('_testcapi', '_testinternalcapi', '_ctypes_test', 'xxlimited'):
    step(t, lambda: importlib.import_module(t))
print('dlopen in sys.modules:', any(hasattr(m, 'dlopen') for m in list(sys.modules.values())), flush=True)
)PY");
    REQUIRE(r.o.exit_code == 0);
    for (const char* route : {"spec_from_file", "ext_loader", "create_dynamic", "imp_load_dynamic"})
        require_hook_refused(r, route, "loads only as '_ctypes', not as 'json._ctypes' (security.imports)");
    require_hook_refused(r, "str_subclass", "'_ctypes' is refused by security.imports.deny");
    require_hook_refused(r, "name_mismatch", "loads only as '_ctypes', not as '_json'");
    for (const char* t : {"_testcapi", "_testinternalcapi", "_ctypes_test", "xxlimited"})
        require_hook_refused(r, t, "is refused: not in the stdlib");
    CHECK(has(r.o.out, "dlopen in sys.modules: False\n"));
    CHECK(denied(r, "import", "json._ctypes", kCtypesSo));
    CHECK(denied(r, "import", "_json", kCtypesSo));
}

TEST_CASE("attack: _ctypes planted in sys.modules and ctypes rebuilt from the stdlib's source through a /tmp symlink",
          "[attack][native]") {
    // The whole chain of the issue: native _ctypes under an allowed name, planted as sys.modules['_ctypes'],
    // ctypes' own source read through a symlink the denied-file test did not see, exec'd, then libc's getpid
    // called. Each link is refused on its own.
    auto r = attack("native_default", R"PY(
SO = ')PY" + kCtypesSo + R"PY('
m = step('native', lambda: importlib.util.module_from_spec(importlib.util.spec_from_file_location('json._ctypes', SO)))
if m is not None: sys.modules['_ctypes'] = m
d = tempfile.mkdtemp(dir='/tmp')
os.symlink('/usr/lib/python3.11/ctypes', d + '/c')
# The import system loading ctypes' source through the link, or through '..' after one.
def load_via_link():
    s = importlib.util.spec_from_file_location('c2', d + '/c/__init__.py', submodule_search_locations=[d + '/c'])
    m = importlib.util.module_from_spec(s)
    s.loader.exec_module(m)
    return m
step('load_via_link', load_via_link)
os.symlink('/usr/lib/python3.11/json', d + '/j')
step('load_dotdot', lambda: importlib.machinery.SourceFileLoader('u2', d + '/j/../ctypes/util.py').load_module())
# Its source read as data: the script could carry the same text itself; it is only text without _ctypes.
def source():
    with open(d + '/c/__init__.py') as f: return f.read()
src = step('source', source)
def rebuild():
    c = types.ModuleType('ctypes')
    c.__file__ = d + '/c/__init__.py'
    sys.modules['ctypes'] = c
    code = '\n'.join(l for l in src.splitlines() if not l.startswith('from ctypes._endian'))
    exec(compile(code, c.__file__, 'exec'), c.__dict__)
    return c
c = step('rebuild', rebuild) if src else None
if c is not None: step('call', lambda: print('PID=%d' % c.CDLL(None).getpid(), flush=True))
)PY");
    REQUIRE(r.o.exit_code == 0);
    require_hook_refused(r, "native", "loads only as '_ctypes'");
    require_hook_refused(r, "load_via_link", "refused by security.imports.deny (/usr/lib/python3.11/ctypes/");
    require_hook_refused(r, "load_dotdot", "refused by security.imports.deny (/usr/lib/python3.11/ctypes/");
    CHECK(line_of(r, "source") == "source: OK");
    require_hook_refused(r, "rebuild", "import of '_ctypes' is refused by security.imports.deny");
    CHECK(line_of(r, "call").empty());
    CHECK_FALSE(has(r.o.out, "PID="));
}

TEST_CASE("attack: a .so the script wrote, named through a symlink and '..' as lib-dynload's, is refused by the hook",
          "[attack][native]") {
    // /tmp/X/L/../../../usr/lib/python3.11/lib-dynload/_json...so reads lexically as lib-dynload's _json,
    // but the kernel resolves L (-> /tmp/X/a/b/c) first: the file is /tmp/X/usr/lib/.../_json...so.
    auto r = attack("native_default", R"PY(
X = tempfile.mkdtemp(dir='/tmp')
os.makedirs(X + '/a/b/c')
os.makedirs(X + '/usr/lib/python3.11/lib-dynload')
own = X + '/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so'
with open(')PY" + kJsonSo + R"PY(', 'rb') as f, open(own, 'wb') as g: g.write(f.read())
os.symlink(X + '/a/b/c', X + '/L')
P = X + '/L/../../../usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so'
print('same file:', os.path.samefile(P, own), flush=True)
step('written', lambda: importlib.util.module_from_spec(importlib.util.spec_from_file_location('_json', P)))
import _imp
step('written_direct', lambda: _imp.create_dynamic(importlib.machinery.ModuleSpec('_json', None, origin=own)))
step('dynload_dotdot', lambda: _imp.create_dynamic(importlib.machinery.ModuleSpec('_json', None,
     origin='/usr/lib/python3.11/lib-dynload/../lib-dynload/_json.cpython-311-x86_64-linux-gnu.so')))
# The stdlib's own extension modules still load, by the import system and by name and file.
sys.modules.pop('_json', None)
step('stdlib_json', lambda: importlib.import_module('_json'))
step('stdlib_file', lambda: importlib.util.module_from_spec(importlib.util.spec_from_file_location('_json', ')PY" +
                                                                                     kJsonSo + R"PY(')))
import sqlite3, decimal, hashlib
print('stdlib ok', sqlite3.connect(':memory:').execute('select 1').fetchone(), decimal.Decimal('1.5') * 2, flush=True)
)PY");
    REQUIRE(r.o.exit_code == 0);
    CHECK(has(r.o.out, "same file: True\n"));
    require_hook_refused(r, "written", "is outside the stdlib (security.imports)");
    require_hook_refused(r, "written_direct", "is outside the stdlib (security.imports)");
    require_hook_refused(r, "dynload_dotdot", "is outside the stdlib (security.imports)");
    CHECK(line_of(r, "stdlib_json") == "stdlib_json: LOADED");
    CHECK(line_of(r, "stdlib_file") == "stdlib_file: LOADED");
    CHECK(has(r.o.out, "stdlib ok (1,) 3.0\n"));
    CHECK(denied(r, "import", "_json"));
}

TEST_CASE("attack: SQLite extension loading and _ctypes' operations are refused under the default rules",
          "[attack][native]") {
    // Debian's python3.11 has Connection.enable_load_extension; the audit events (3.10+) are
    // sqlite3.enable_load_extension(connection, enabled) and sqlite3.load_extension(connection, path).
    // ctypes.* are _ctypes' events: refused too, should _ctypes ever be in the process.
    auto r = attack("native_default", R"PY(
import sqlite3
c = sqlite3.connect(':memory:')
print('has enable_load_extension:', hasattr(c, 'enable_load_extension'), flush=True)
if hasattr(c, 'enable_load_extension'):
    step('enable', lambda: c.enable_load_extension(True))
    step('load', lambda: c.load_extension('/tmp/nothing-here.so'))
    step('sql_load', lambda: c.execute("select load_extension('/tmp/nothing-here.so')").fetchall())
    step('disable', lambda: c.enable_load_extension(False))
else:
    step('enable', lambda: sys.audit('sqlite3.enable_load_extension', c, True))
    step('load', lambda: sys.audit('sqlite3.load_extension', c, '/tmp/nothing-here.so'))
    step('disable', lambda: sys.audit('sqlite3.enable_load_extension', c, False))
step('ctypes_dlopen', lambda: sys.audit('ctypes.dlopen', 'libc.so.6'))
step('ctypes_call', lambda: sys.audit('ctypes.call_function', 0, ()))
)PY");
    REQUIRE(r.o.exit_code == 0);
    require_hook_refused(r, "enable", "SQLite extensions are native code", "PermissionError");
    require_hook_refused(r, "load", "SQLite extensions are native code", "PermissionError");
    if (has(r.o.out, "has enable_load_extension: True")) {
        // Loading was never turned on: SQLite's own refusal.
        CHECK(has(line_of(r, "sql_load"), "sql_load: refused OperationalError: not authorized"));
    }
    CHECK(line_of(r, "disable") == "disable: OK");
    require_hook_refused(r, "ctypes_dlopen", "ctypes is refused", "PermissionError");
    require_hook_refused(r, "ctypes_call", "ctypes is refused", "PermissionError");
    CHECK(denied(r, "sqlite3.enable_load_extension", ""));
    CHECK(denied(r, "sqlite3.load_extension", ""));
}

TEST_CASE("attack: a policy that allows ctypes keeps SQLite extensions and ctypes' operations open", "[attack][native]") {
    auto r = attack("ctypes_default", R"PY(
import sqlite3, ctypes
c = sqlite3.connect(':memory:')
step('enable', lambda: sys.audit('sqlite3.enable_load_extension', c, True))
step('ctypes_call', lambda: ctypes.CDLL(None).getpid())
)PY");
    REQUIRE(r.o.exit_code == 0);
    CHECK(line_of(r, "enable") == "enable: OK");
    CHECK(line_of(r, "ctypes_call") == "ctypes_call: OK");
}

// ---------------------------------------------------------------------------------------------------
// In the kernel: the writable paths are mounted noexec,nosuid,nodev (hook out of the way: ctypes allowed)

TEST_CASE("attack: a .so written into an allowed path cannot be dlopen'ed or mapped executable (noexec: EPERM)",
          "[attack][native][kernel]") {
    auto r = attack("ctypes_default", R"PY(
import ctypes, mmap
d = tempfile.mkdtemp(dir='/tmp')
own = d + '/own.so'
with open(')PY" + kJsonSo + R"PY(', 'rb') as f, open(own, 'wb') as g: g.write(f.read())
step('dlopen_written', lambda: ctypes.CDLL(own))
step('dlopen_stdlib', lambda: ctypes.CDLL(')PY" + kJsonSo + R"PY('))
fd = os.open(own, os.O_RDONLY)
def mmap_exec():
    try:
        mmap.mmap(fd, 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC)
    except OSError as e:
        raise OSError(e.errno, 'errno %d' % e.errno)
step('mmap_exec', mmap_exec)
step('mmap_read', lambda: mmap.mmap(fd, 4096, prot=mmap.PROT_READ))
f = os.statvfs('/tmp').f_flag
print('flags /tmp noexec=%d nosuid=%d nodev=%d' % (bool(f & os.ST_NOEXEC), bool(f & os.ST_NOSUID), bool(f & os.ST_NODEV)), flush=True)
f = os.statvfs('/usr/lib/python3.11').f_flag
print('flags stdlib noexec=%d' % bool(f & os.ST_NOEXEC), flush=True)
with open('/dev/null') as n: print('devnull read', repr(n.read()), flush=True)
)PY");
    INFO("stdout:\n" << r.o.out << "\nstderr:\n" << r.o.err);
    REQUIRE(r.o.exit_code == 0);
    if (!had_mount_namespace(r)) return;
    // glibc's dlopen: mmap of the segments with PROT_EXEC is refused on a noexec mount (EPERM).
    const std::string dl = line_of(r, "dlopen_written");
    CHECK(has(dl, "dlopen_written: refused OSError: "));
    CHECK(has(dl, "failed to map segment from shared object"));
    CHECK(line_of(r, "dlopen_stdlib") == "dlopen_stdlib: OK");
    CHECK(line_of(r, "mmap_exec") == "mmap_exec: refused PermissionError: [Errno 1] errno 1");
    CHECK(line_of(r, "mmap_read") == "mmap_read: OK");
    CHECK(has(r.o.out, "flags /tmp noexec=1 nosuid=1 nodev=1\n"));
    CHECK(has(r.o.out, "flags stdlib noexec=0\n"));
    CHECK(has(r.o.out, "devnull read ''\n"));
}

TEST_CASE("attack: the default rules' writable paths are noexec,nosuid,nodev too", "[attack][native][kernel]") {
    auto r = attack("native_default", R"PY(
f = os.statvfs('/tmp').f_flag
print('flags /tmp noexec=%d nosuid=%d nodev=%d' % (bool(f & os.ST_NOEXEC), bool(f & os.ST_NOSUID), bool(f & os.ST_NODEV)), flush=True)
with open('/tmp/' + os.urandom(6).hex(), 'w') as g: g.write('ordinary files still work\n')
print('wrote', flush=True)
)PY");
    REQUIRE(r.o.exit_code == 0);
    if (!had_mount_namespace(r)) return;
    CHECK(has(r.o.out, "flags /tmp noexec=1 nosuid=1 nodev=1\n"));
    CHECK(has(r.o.out, "wrote\n"));
}

TEST_CASE("attack: a started program's loader cannot preload a library the script wrote (LD_PRELOAD, noexec)",
          "[attack][native][kernel]") {
    // The hook does not read the environment a program is started with; the kernel refuses the mapping.
    auto r = attack("native_subprocess", R"PY(
import subprocess, shutil
d = tempfile.mkdtemp(dir='/tmp')
shutil.copyfile('/usr/lib/x86_64-linux-gnu/libz.so.1', d + '/pre.so')
p = subprocess.run(['/usr/bin/true'], env={'LD_PRELOAD': d + '/pre.so'}, capture_output=True, text=True)
print('true exited', p.returncode, flush=True)
print('loader:', p.stderr.strip(), flush=True)
)PY");
    INFO("stdout:\n" << r.o.out << "\nstderr:\n" << r.o.err);
    REQUIRE(r.o.exit_code == 0);
    if (!had_mount_namespace(r)) return;
    CHECK(has(r.o.out, "true exited 0\n"));
    CHECK(has(r.o.out, "cannot be preloaded (failed to map segment from shared object): ignored."));
}

// ---------------------------------------------------------------------------------------------------
// The script that runs is the bytes that were hashed

namespace {

std::string sha256_of_file(const std::string& path) {
    Outcome o = run({"/usr/bin/sha256sum", path});
    return o.out.substr(0, 64);
}

}  // namespace

TEST_CASE("attack: a script swapped after hive-py hashed it runs the hashed bytes, and script_hash names them",
          "[attack][record]") {
    // A deterministic pause between the hash and the run: the policy's HMAC key file is a fifo, which
    // hive-py opens and reads after check_script and before it starts the sandbox. The test opens the
    // fifo's write end only once hive-py holds its read end (so the script was read), swaps the script
    // by rename, then writes the key.
    TempDir dir;
    LogDir logs;
    TempDir keys("/var/tmp/hive-test-keys-XXXXXX");
    const std::string fifo = keys.path + "/key";
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    const std::string pol = keys.file("policy.yml", "security:\n  execution:\n    timeout_seconds: 30\n"
                                                    "  filesystem:\n    allowed_paths: [\"/tmp\"]\n"
                                                    "  monitoring:\n    hmac_key_file: \"" + fifo + "\"\n");
    const std::string script = dir.file("script.py", "print('the hashed bytes ran')\n");
    const std::string hashed = sha256_of_file(script);
    const std::string swap = dir.file("swap.tmp", "print('SWAPPED bytes ran')\n");
    const std::string swapped_hash = sha256_of_file(swap);

    Outcome o;
    RunOptions ro;
    ro.cwd = dir.path;
    ro.timeout_seconds = 60;
    std::thread t([&] { o = hive({"--policy", pol, "--log-dir", logs.path, script}, ro); });
    // O_NONBLOCK: ENXIO until hive-py opens the read end; bounded.
    int w = -1;
    for (int i = 0; i < 3000 && w < 0; ++i) {
        w = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (w < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const bool paused = w >= 0;
    if (paused) {
        std::rename(swap.c_str(), script.c_str());
        const std::string key = "0123456789abcdef0123456789abcdef\n";
        CHECK(write(w, key.data(), key.size()) == ssize_t(key.size()));
        close(w);
    }
    t.join();
    INFO("stdout:\n" << o.out << "\nstderr:\n" << o.err);
    REQUIRE(paused);
    CHECK(o.exit_code == 0);
    CHECK(o.out == "the hashed bytes ran\n");
    CHECK(read_file(script) == "print('SWAPPED bytes ran')\n");  // the swap happened
    auto recs = json_lines(logs.path + "/execution_audit.log");
    REQUIRE(recs.size() == 1);
    CHECK(recs[0]["script_hash"] == hashed);
    CHECK(recs[0]["script_hash"] != swapped_hash);
}

TEST_CASE("a script file is read once: a fifo or a file over the size limit is refused with one line", "[record]") {
    TempDir dir;
    const std::string fifo = dir.path + "/fifo.py";
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    RunOptions ro;
    ro.cwd = dir.path;
    ro.timeout_seconds = 20;
    Outcome f = hive({"fifo.py"}, ro);
    INFO(f.err);
    CHECK(f.exit_code == 2);
    CHECK(lines(f.err).size() == 1);
    CHECK(has(f.err, "'fifo.py' is not a regular file"));
    // 16 MiB and one byte of comment.
    std::string big = "print('big')\n#" + std::string((std::size_t(16) << 20) - 14, 'x') + "\n";
    dir.file("big.py", big);
    Outcome b = hive({"big.py"}, ro);
    INFO(b.err);
    CHECK(b.exit_code == 2);
    CHECK(lines(b.err).size() == 1);
    CHECK(has(b.err, "script 'big.py' is larger than hive-py's limit of 16 MiB"));
}

TEST_CASE("the hashed bytes run as python3 -I runs the file: coding declarations, BOM, undecodable bytes", "[record]") {
    // The child compiles the bytes from memory; what the user sees must be what python3 -I prints when it
    // reads the file itself (the tokenizer decodes a byte string and a file alike, and the message for
    // undecodable source without a declaration is python3's file message).
    TempDir dir;
    LogDir logs;
    const std::pair<const char*, std::string> cases[] = {
        {"latin1.py", "# -*- coding: latin-1 -*-\nprint('caf\xe9', __file__ == __loader__.path, __cached__)\n"},
        {"bom.py", "\xef\xbb\xbfprint('bom', __name__)\n"},
        {"undecodable.py", "print('x')\n\n# fine\ns = 'ab\xe9'\n"},
        {"overlong.py", "s = '\xc0\x80'\n"},
        {"utf8cookie.py", "# coding: utf-8\ns = '\xe9'\n"},
        {"syntax.py", "print(1)\nx = (\n"},
        {"exit.py", "import sys\nprint('out')\nsys.exit('bye')\n"},
    };
    RunOptions ro;
    ro.cwd = dir.path;
    for (const auto& [name, text] : cases) {
        dir.file(name, text);
        Outcome h = hive({"--log-dir", logs.path, name}, ro);
        Outcome p = python({name}, ro);
        INFO(name << "\nhive-py: exit " << h.exit_code << "\n" << h.out << h.err << "\npython3 -I: exit " << p.exit_code
                  << "\n" << p.out << p.err);
        CHECK(h.exit_code == p.exit_code);
        CHECK(h.out == p.out);
        CHECK(h.err == p.err);
    }
}
