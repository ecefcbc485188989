// The run's private /tmp and /dev/shm (security.filesystem.private_tmp, on by default): what the stdlib
// does with temporary files works under the built-in default policy as under python3 -I, nothing of the
// host's /tmp is visible inside, nothing is left in it afterwards, the budget (execution.disk_mb) holds
// with ENOSPC and the record says so, and a best_effort run without a mount namespace says /tmp is the
// host's. The kernel's side (./data still undeletable) is in tests/attacks/test_private_tmp.cc.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <random>
#include <string>

#include "run.h"

using namespace hivetest;

namespace {

std::string tag() {
    std::random_device rd;
    return std::to_string(rd()) + std::to_string(rd());
}

// The stdlib's temporary-file users, each printing one OK line; every path is below
// tempfile.gettempdir(), so that python3 -I (with TMPDIR set to a test directory) runs the same code.
const char* const kStdlibScript = R"PY(
import os, sys, tempfile, sqlite3, logging, logging.handlers, shelve, json
T = tempfile.gettempdir()
fd, p = tempfile.mkstemp(); os.write(fd, b"x"); os.close(fd); os.unlink(p); print("mkstemp OK")
d = tempfile.mkdtemp(); os.rmdir(d); print("mkdtemp OK")
with tempfile.NamedTemporaryFile() as f:
    f.write(b"y"); f.flush()
print("NamedTemporaryFile OK", os.path.exists(f.name))
with tempfile.TemporaryDirectory() as td:
    os.mkdir(os.path.join(td, "sub"))
    with open(os.path.join(td, "sub", "a"), "w") as f: f.write("a")
    os.rename(os.path.join(td, "sub", "a"), os.path.join(td, "a"))   # into another directory
print("TemporaryDirectory OK", os.path.exists(td))
with tempfile.SpooledTemporaryFile(max_size=10) as f:
    f.write(b"z" * 100); f.seek(0); f.truncate(10)
print("SpooledTemporaryFile OK")
db = os.path.join(T, "votes.db")
con = sqlite3.connect(db)
con.execute("create table v(who, vote)")
for i in range(50):
    with con: con.execute("insert into v values (?, ?)", (f"m{i}", i % 2))
print("sqlite3 OK", con.execute("select count(*) from v").fetchone()[0], os.path.exists(db + "-journal"))
con.close(); os.remove(db)
state = os.path.join(T, "state.json")
for n in range(3):
    with open(state + ".new", "w") as f: json.dump({"n": n}, f)
    os.replace(state + ".new", state)                               # atomic write
print("os.replace OK", json.load(open(state)))
log = os.path.join(T, "run.log")
h = logging.handlers.RotatingFileHandler(log, maxBytes=200, backupCount=2)
lg = logging.getLogger("gov"); lg.addHandler(h); lg.setLevel(logging.INFO)
for i in range(40): lg.info("tally line %d", i)
h.close()
print("RotatingFileHandler OK", sorted(n for n in os.listdir(T) if n.startswith("run.log")))
with shelve.open(os.path.join(T, "shelf")) as s: s["proposal"] = {"yes": 3}
with shelve.open(os.path.join(T, "shelf")) as s: print("shelve OK", s["proposal"])
)PY";

std::string last_record(const LogDir& logs) {
    const auto l = lines(logs.runs());
    return l.empty() ? "" : l.back();
}

}  // namespace

TEST_CASE("private tmp: tempfile, sqlite3, os.replace, RotatingFileHandler and shelve work under the built-in default "
          "policy as under python3 -I", "[private_tmp]") {
    LogDir logs;
    TempDir cwd("/var/tmp/hive-test-cwd-XXXXXX");  // no scripts/config here: the built-in default policy
    auto h = hive({"--log-dir", logs.path, "-c", kStdlibScript}, {.cwd = cwd.path});
    if (!sandbox_set_up(h)) return;
    INFO(h.out << h.err);
    CHECK(h.exit_code == 0);
    CHECK(logs.runs().find("\"policy_source\":\"built-in default\"") != std::string::npos);
    TempDir ptmp;
    auto p = python({"-c", kStdlibScript}, {.cwd = cwd.path, .env_extra = {{"TMPDIR", ptmp.path}}});
    REQUIRE(p.exit_code == 0);
    CHECK(h.out == p.out);
    CHECK(h.err == p.err);
    CHECK(h.out.find("shelve OK {'yes': 3}") != std::string::npos);
}

TEST_CASE("private tmp: /tmp starts empty, TMPDIR points there, the host's /tmp stays hidden and gets nothing",
          "[private_tmp]") {
    LogDir logs;
    TempDir cwd("/var/tmp/hive-test-cwd-XXXXXX");
    const std::string t = tag();
    TempDir host_dir;  // in the host's /tmp
    const std::string host_file = host_dir.file("visible-" + t, "HOST\n");
    const std::string left = "/tmp/hive-privtmp-left-" + t;
    const std::string code = "import os, tempfile\n"
                             "print(sorted(os.listdir('/tmp')), sorted(os.listdir('/dev/shm')))\n"
                             "print(os.environ.get('TMPDIR'), tempfile.gettempdir())\n"
                             "print(os.path.exists('" + host_file + "'), os.path.exists('" + host_dir.path + "'))\n"
                             "open('" + left + "', 'w').write('x')\n"
                             "os.mkdir('/tmp/d-" + t + "')\n"
                             "open('/dev/shm/s-" + t + "', 'w').write('x')\n"
                             "print(os.stat('/tmp').st_mode & 0o7777 == 0o1777)\n";
    auto r = hive({"--log-dir", logs.path, "-c", code}, {.cwd = cwd.path});
    if (!sandbox_set_up(r)) return;
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "[] []\n/tmp /tmp\nFalse False\nTrue\n");
    CHECK_FALSE(exists(left));
    CHECK_FALSE(exists("/tmp/d-" + t));
    CHECK_FALSE(exists("/dev/shm/s-" + t));
    CHECK(read_file(host_file) == "HOST\n");
    const std::string rec = logs.runs();
    CHECK(rec.find("\"private_tmp\"") != std::string::npos);  // in the layers
    CHECK(rec.find("\"tmp\":{\"private\":true,\"disk_mb\":100,\"disk_inodes\":16384,\"delete\":true") != std::string::npos);
}

TEST_CASE("private tmp: a script in the host's /tmp still sees its directory, read-only", "[private_tmp]") {
    LogDir logs;
    TempDir d;  // /tmp/hive-test-XXXXXX: bound into the private /tmp at its place
    d.file("sibling.py", "VALUE = 42\n");
    const std::string script = d.file("main.py", R"PY(
import os, sibling, tempfile
print(sibling.VALUE, sorted(os.listdir(os.path.dirname(__file__))))
print([n for n in os.listdir("/tmp")] == [os.path.basename(os.path.dirname(__file__))])
for what, fn in (("remove", lambda: os.remove(__file__)), ("write", lambda: open(__file__, "a"))):
    try:
        fn(); print(what, "done")
    except OSError as e:
        print(what, "refused", e.errno in (13, 1, 30))
with tempfile.NamedTemporaryFile(dir="/tmp") as f: print("tmp writable")
)PY");
    auto r = hive({"--log-dir", logs.path, script}, {.cwd = d.path});
    if (!sandbox_set_up(r)) return;
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "42 ['main.py', 'sibling.py']\nTrue\nremove refused True\nwrite refused True\ntmp writable\n");
    CHECK(exists(script));
    CHECK(logs.runs().find("\"cwd\":\"made empty") == std::string::npos);  // the cwd is the script's, bound
    TempDir other;  // a working directory in the host's /tmp that nothing grants
    other.file("notes.txt", "x");
    auto c = hive({"--log-dir", logs.path, "-c", "import os; print(os.getcwd() == " + std::string("'") + other.path +
                                                     "', os.listdir('.'))"},
                  {.cwd = other.path});
    INFO(c.out << c.err);
    CHECK(c.out == "True []\n");
    CHECK(last_record(logs).find("\"cwd\":\"made empty in the private /tmp: the host's " + other.path + " is hidden\"") !=
          std::string::npos);
}

TEST_CASE("private tmp: a write past execution.disk_mb fails with ENOSPC and the record says so", "[private_tmp]") {
    LogDir logs;
    PolicyDir pd;
    TempDir cwd("/var/tmp/hive-test-cwd-XXXXXX");
    const std::string pol = pd.file("p.yml", "security:\n  execution:\n    disk_mb: 4\n");
    const std::string code = R"PY(
import errno, os
n = 0
try:
    with open("/tmp/big", "wb") as f:
        for _ in range(8):
            f.write(b"\0" * (1 << 20)); f.flush(); n += 1
except OSError as e:
    print("ENOSPC" if e.errno == errno.ENOSPC else e, n < 8)
try:
    open("/dev/shm/more", "wb").write(b"x" * 65536)
except OSError as e:
    print("shm", "ENOSPC" if e.errno == errno.ENOSPC else e)
print(os.path.getsize("/tmp/big") <= 4 << 20)
)PY";
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c", code}, {.cwd = cwd.path});
    if (!sandbox_set_up(r)) return;
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "ENOSPC True\nshm ENOSPC\nTrue\n");  // one budget for /tmp and /dev/shm
    const std::string rec = logs.runs();
    INFO(rec);
    CHECK(rec.find("\"tmp\":{\"private\":true,\"disk_mb\":4,") != std::string::npos);
    CHECK(rec.find("\"used_bytes\":4194304") != std::string::npos);
    CHECK(rec.find("\"full\":true") != std::string::npos);
    CHECK(logs.security().find("the private /tmp reached its budget") != std::string::npos);
}

TEST_CASE("private tmp: creating files past execution.disk_inodes fails with ENOSPC", "[private_tmp]") {
    LogDir logs;
    PolicyDir pd;
    TempDir cwd("/var/tmp/hive-test-cwd-XXXXXX");
    const std::string pol = pd.file("p.yml", "security:\n  execution:\n    disk_inodes: 40\n");
    const std::string code = R"PY(
import errno
n = 0
try:
    for n in range(100): open(f"/tmp/f{n}", "w").close()
except OSError as e:
    print("ENOSPC" if e.errno == errno.ENOSPC else e, 30 < n < 40)
)PY";
    auto r = hive({"--policy", pol, "--log-dir", logs.path, "-c", code}, {.cwd = cwd.path});
    if (!sandbox_set_up(r)) return;
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "ENOSPC True\n");
    CHECK(logs.runs().find("\"disk_inodes\":40,") != std::string::npos);
    CHECK(logs.runs().find("\"full\":true") != std::string::npos);
}

TEST_CASE("private tmp: multiprocessing's Lock and Queue work with the private /dev/shm", "[private_tmp]") {
    LogDir logs;
    TempDir cwd("/var/tmp/hive-test-cwd-XXXXXX");
    const std::string code = R"PY(
import multiprocessing as mp
lock = mp.Lock()
with lock: print("lock OK")
ctx = mp.get_context("fork")
q = ctx.Queue()
def child(q): q.put(sum(range(10)))
p = ctx.Process(target=child, args=(q,))
p.start(); print("queue OK", q.get(timeout=20)); p.join(20)
print("exit", p.exitcode)
)PY";
    auto r = hive({"--log-dir", logs.path, "-c", code}, {.cwd = cwd.path});
    if (!sandbox_set_up(r)) return;
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "lock OK\nqueue OK 45\nexit 0\n");
}

TEST_CASE("private tmp: --check-policy names the private /tmp and the host's /tmp it hides", "[private_tmp]") {
    PolicyDir pd;
    const std::string pol = pd.file("p.yml", "security:\n  filesystem:\n    allowed_paths: [\"/tmp\"]\n");
    auto r = hive({"--check-policy", pol});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("    private_tmp: true\n") != std::string::npos);
    CHECK(r.out.find("    disk_mb: 100\n") != std::string::npos);
    CHECK(r.out.find("#   write /tmp   security.filesystem.private_tmp: the run's own tmpfs (100 MB for /tmp and "
                     "/dev/shm), gone with the run\n") != std::string::npos);
    CHECK(r.out.find("#   write /tmp   security.filesystem.allowed_paths[0] (the host's: hidden by the private one") !=
          std::string::npos);
    const std::string off = pd.file("off.yml", "security:\n  filesystem:\n    private_tmp: false\n");
    auto o = hive({"--check-policy", off});
    CHECK(o.exit_code == 0);
    CHECK(o.out.find("#   (/tmp is the host's: security.filesystem.private_tmp is false)\n") != std::string::npos);
}

TEST_CASE("private tmp: without a mount namespace (best_effort) the record says /tmp is the host's", "[private_tmp]") {
    LogDir logs;
    PolicyDir pd;
    TempDir cwd("/var/tmp/hive-test-cwd-XXXXXX");
    const std::string pol = pd.file("p.yml", "security:\n  enforcement: best_effort\n  filesystem:\n"
                                             "    allowed_paths: [\"/tmp\"]\n");
    const std::string marker = "/tmp/hive-privtmp-host-" + tag();
    auto r = run({HIVE_NOFEATURE_BIN, "--no-mountns", "--", hive_bin(), "--policy", pol, "--log-dir", logs.path, "-c",
                  "open('" + marker + "', 'w').write('x')"},
                 {.cwd = cwd.path});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("running without mount namespace") != std::string::npos);
    CHECK(exists(marker));  // the host's /tmp, as the policy grants it
    unlink(marker.c_str());
    const std::string rec = logs.runs();
    CHECK(rec.find("\"tmp\":{\"private\":false,\"why\":\"no mount namespace (enforcement: best_effort): /tmp is the "
                   "host's\"}") != std::string::npos);
    CHECK(rec.find("\"private_tmp\"") == std::string::npos);
}

TEST_CASE("private tmp: an unprivileged caller gets it too (its own user namespace)", "[private_tmp]") {
    if (geteuid() != 0 || !exists("/usr/bin/setpriv")) {
        WARN("SKIPPED: needs root to switch to an unprivileged user with setpriv(1)");
        return;
    }
    TempDir logs("/var/tmp/hive-test-logs-XXXXXX");
    TempDir cwd("/var/tmp/hive-test-cwd-XXXXXX");
    for (const auto* d : {&logs.path, &cwd.path})
        if (chown(d->c_str(), 65534, 65534) != 0) FAIL("chown " << *d);
    const std::string code = "import tempfile, os, sqlite3\n"
                             "with tempfile.TemporaryDirectory() as d:\n"
                             "    c = sqlite3.connect(d + '/x.db'); c.execute('create table t(x)'); c.commit(); c.close()\n"
                             "print('ok', os.stat('/tmp').st_uid == os.getuid())\n";
    auto r = run({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", hive_bin(), "--log-dir",
                  logs.path, "-c", code},
                 {.cwd = cwd.path, .env_extra = {{"HOME", "/nonexistent"}}});
    if (!sandbox_set_up(r)) return;
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "ok True\n");
    CHECK(read_file(logs.path + "/execution_audit.log").find("\"tmp\":{\"private\":true,") != std::string::npos);
}

TEST_CASE("private /tmp: relative names from a working directory there are the run's to remove and rename", "[tmp]") {
    // os.remove("f") raises ("f", -1): -1 is no dir_fd, so the name is the cwd's (a regression: the
    // hook read -1 as a descriptor and refused every relative delete in the private /tmp).
    hivetest::TempDir cwd("/tmp/hive-reltmp-XXXXXX");
    hivetest::RunOptions opts;
    opts.cwd = cwd.path;
    hivetest::Outcome h = hivetest::hive_logged(
        {"-c", "import os\nopen('f', 'w').close()\nos.remove('f')\nos.mkdir('d')\nos.rename('d', 'e')\nos.rmdir('e')\n"
               "print(sorted(os.listdir('.')))\n"},
        opts);
    if (!hivetest::sandbox_set_up(h)) return;
    INFO(h.out << h.err);
    CHECK(h.exit_code == 0);
    CHECK(h.out == "[]\n");
    CHECK(h.err.empty());
}
