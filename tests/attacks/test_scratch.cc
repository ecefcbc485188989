// Attack tests for the run's private /tmp (security.filesystem.private_tmp): with every blocked
// operation on, the run deletes, renames and truncates its own files in /tmp, while a tree that existed
// before the run (./data, an allowed_paths entry) stays undeletable, un-renameable and untruncatable at
// the kernel level: raw syscalls through ctypes (policy/tests/attack/ctypes_private_tmp.yml), past the
// audit hook. With the private /tmp seccomp no longer refuses every unlink and rename: Landlock is the
// layer (EACCES), since no tree of the host holds REMOVE_FILE, REMOVE_DIR, REFER or TRUNCATE.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "run.h"

using namespace hivetest;

namespace {

const char* const kPrelude = R"PY(
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def _a(x):
    if isinstance(x, str): return x.encode()
    if isinstance(x, int): return ctypes.c_long(x)
    return x
def res(name, rc):
    print(f"{name}={rc} {ctypes.get_errno() if rc == -1 else 0}", flush=True)
def sc(name, nr, *args):
    ctypes.set_errno(0)
    res(name, libc.syscall(ctypes.c_long(nr), *[_a(a) for a in args]))
def py(name, fn):
    try:
        fn(); print(f"{name}=0 0", flush=True)
    except OSError as e:
        print(f"{name}=-1 {e.errno}", flush=True)
O_WRONLY, O_CREAT, O_TRUNC = os.O_WRONLY, os.O_CREAT, os.O_TRUNC
def mk(p, data="x"):
    with open(p, "w") as f: f.write(data)
)PY";

// "NAME=RC ERRNO" of one attempt.
std::pair<long, int> result(const Outcome& o, const std::string& name) {
    for (const auto& l : lines(o.out)) {
        long rc = 0;
        int err = 0;
        if (l.rfind(name + "=", 0) == 0 && std::sscanf(l.c_str() + name.size() + 1, "%ld %d", &rc, &err) == 2)
            return {rc, err};
    }
    return {-2, -2};  // not tried
}

struct DataDir {
    TempDir d{"/var/tmp/hive-attack-privtmp-XXXXXX"};  // the run's cwd: ./data is below it
    std::string data = d.path + "/data";
    DataDir() {
        std::filesystem::create_directory(data);
        std::filesystem::create_directory(data + "/subdir");
        d.file("data/victim.txt", "VICTIM\n");
        d.file("data/other.txt", "OTHER\n");
    }
    void check_intact() const {
        CHECK(read_file(data + "/victim.txt") == "VICTIM\n");
        CHECK(read_file(data + "/other.txt") == "OTHER\n");
        CHECK(std::filesystem::is_directory(data + "/subdir"));
        for (const char* f : {"moved", "moved2", "fromtmp"}) CHECK_FALSE(exists(data + "/" + f));
    }
};

}  // namespace

TEST_CASE("attack: with the private /tmp, ./data stays undeletable, un-renameable and untruncatable by raw syscalls "
          "(Landlock EACCES), while /tmp's own files come and go",
          "[attack][fs][private_tmp]") {
    DataDir dd;
    LogDir logs;
    const std::string code = std::string(kPrelude) + R"PY(
D = "data"
sc("unlink", 87, D + "/victim.txt")
sc("unlinkat", 263, -100, D + "/victim.txt", 0)
sc("unlinkat_dir", 263, -100, D + "/subdir", 0x200)
sc("rmdir", 84, D + "/subdir")
sc("rename", 82, D + "/victim.txt", D + "/moved")
sc("rename_over", 82, D + "/other.txt", D + "/victim.txt")
sc("renameat2", 316, -100, D + "/other.txt", -100, D + "/moved2", 0)
sc("exchange", 316, -100, D + "/other.txt", -100, D + "/victim.txt", 2)
sc("truncate", 76, D + "/victim.txt", 0)
sc("open_trunc", 2, D + "/victim.txt", O_WRONLY | O_TRUNC, 0)
fd = libc.open((D + "/victim.txt").encode(), O_WRONLY)
sc("ftruncate", 77, fd, 0)
mk("/tmp/src")
sc("rename_from_tmp", 82, "/tmp/src", D + "/fromtmp")
sc("rename_over_from_tmp", 82, "/tmp/src", D + "/victim.txt")
py("py_remove", lambda: os.remove(D + "/victim.txt"))
py("py_replace", lambda: os.replace("/tmp/src", D + "/victim.txt"))
py("py_rmtree", lambda: __import__("shutil").rmtree(D + "/subdir"))
# The run's own files in /tmp: every one of these works.
mk("/tmp/a"); sc("tmp_unlink", 87, "/tmp/a")
os.mkdir("/tmp/d"); mk("/tmp/b"); sc("tmp_rename_dir", 82, "/tmp/b", "/tmp/d/b")
mk("/tmp/c", "cc"); mk("/tmp/e"); sc("tmp_rename_over", 82, "/tmp/e", "/tmp/c")
sc("tmp_truncate", 76, "/tmp/c", 0)
sc("tmp_open_trunc", 2, "/tmp/d/b", O_WRONLY | O_TRUNC, 0)
sc("tmp_unlink_in_dir", 87, "/tmp/d/b"); sc("tmp_rmdir", 84, "/tmp/d")
mk("/dev/shm/s"); sc("shm_unlink", 87, "/dev/shm/s")
py("py_tmp", lambda: (mk("/tmp/f"), os.replace("/tmp/f", "/tmp/g"), os.truncate("/tmp/g", 0), os.remove("/tmp/g")))
print("left", sorted(os.listdir("/tmp")))
)PY";
    auto o = hive({"--policy", policy_fixture("attack/ctypes_private_tmp.yml"), "--log-dir", logs.path, "-c", code},
                  {.cwd = dd.d.path});
    if (!sandbox_set_up(o)) return;
    INFO(o.out << o.err);
    REQUIRE(o.exit_code == 0);
    for (const char* n : {"unlink", "unlinkat", "unlinkat_dir", "rmdir", "rename", "rename_over", "renameat2",
                          "exchange", "truncate", "open_trunc", "ftruncate"}) {
        INFO(n);
        CHECK(result(o, n) == std::pair<long, int>{-1, EACCES});  // Landlock: the kernel, past the hook
    }
    for (const char* n : {"rename_from_tmp", "rename_over_from_tmp"}) {
        INFO(n);
        CHECK(result(o, n).first == -1);
        CHECK((result(o, n).second == EXDEV || result(o, n).second == EACCES));
    }
    for (const char* n : {"py_remove", "py_replace", "py_rmtree"}) {
        INFO(n);
        CHECK(result(o, n).first == -1);  // the hook's PermissionError (or the kernel's)
    }
    for (const char* n : {"tmp_unlink", "tmp_rename_dir", "tmp_rename_over", "tmp_truncate", "tmp_unlink_in_dir",
                          "tmp_rmdir", "shm_unlink", "py_tmp"}) {
        INFO(n);
        CHECK(result(o, n) == std::pair<long, int>{0, 0});
    }
    CHECK(result(o, "tmp_open_trunc").first >= 0);
    CHECK(o.out.find("left ['c', 'src']\n") != std::string::npos);
    dd.check_intact();
}

TEST_CASE("attack: a writable tree below /tmp keeps blocked_operations in /tmp itself, and the run's files go to a "
          "TMPDIR below which nothing of the host's lies",
          "[attack][fs][private_tmp]") {
    TempDir work;  // /tmp/hive-test-XXXXXX, bound into the private /tmp, writable, delete blocked
    work.file("victim.txt", "VICTIM\n");
    PolicyDir pd;
    const std::string pol = pd.file("p.yml", "security:\n  filesystem:\n    allowed_paths: [\"" + work.path +
                                                 "\"]\n    blocked_operations: [delete, truncate]\n"
                                                 "  imports:\n    allow: [ctypes, _ctypes]\n");
    LogDir logs;
    const std::string code = "W = '" + work.path + "'\n" + std::string(kPrelude) + R"PY(
sc("unlink", 87, W + "/victim.txt")
sc("truncate", 76, W + "/victim.txt", 0)
mk(W + "/new.txt"); print("created=0 0")
mk("/tmp/x")
sc("tmp_unlink", 87, "/tmp/x")
sc("tmp_truncate", 76, "/tmp/x", 0)
# The run's own files still come and go in TMPDIR, below which nothing of the host's is bound.
import tempfile, sqlite3
print(f"tmpdir={os.environ['TMPDIR']}")
T = tempfile.mkdtemp()
mk(T + "/y"); sc("tmpdir_unlink", 87, T + "/y")
mk(T + "/z", "zz"); sc("tmpdir_truncate", 76, T + "/z", 0)
c = sqlite3.connect(T + "/v.db"); c.execute("create table t(x)"); c.commit(); c.close()
py("tmpdir_rmtree", lambda: __import__("shutil").rmtree(T))
sc("tmpdir_itself", 84, os.environ["TMPDIR"])
)PY";
    auto o = hive({"--policy", pol, "--log-dir", logs.path, "-c", code});
    if (!sandbox_set_up(o)) return;
    INFO(o.out << o.err);
    REQUIRE(o.exit_code == 0);
    CHECK(result(o, "unlink").first == -1);
    CHECK(result(o, "truncate") == std::pair<long, int>{-1, EACCES});
    CHECK(result(o, "tmp_unlink").first == -1);  // the tmpfs's rule would reach the tree below it
    CHECK(result(o, "tmp_truncate") == std::pair<long, int>{-1, EACCES});
    CHECK(result(o, "created") == std::pair<long, int>{0, 0});
    CHECK(o.out.find("tmpdir=/tmp/.hive-tmp\n") != std::string::npos);
    for (const char* n : {"tmpdir_unlink", "tmpdir_truncate", "tmpdir_rmtree"}) {
        INFO(n);
        CHECK(result(o, n) == std::pair<long, int>{0, 0});
    }
    CHECK(result(o, "tmpdir_itself") == std::pair<long, int>{-1, EACCES});  // its entry is in /tmp itself
    CHECK(read_file(work.path + "/victim.txt") == "VICTIM\n");
    CHECK(exists(work.path + "/new.txt"));  // a bound tree of the host: what the run writes there stays
    const std::string rec = logs.runs();
    CHECK(rec.find("\"delete\":false,\"tmpdir\":\"/tmp/.hive-tmp\",\"why_blocked\":\"blocked_operations holds in it: "
                   "security.filesystem.allowed_paths[0] " + work.path + " lies inside it\"") != std::string::npos);
}

TEST_CASE("attack: with delete allowed a rename or link between two directories of a writable tree works, and still "
          "not out of it (the script's own Landlock layer grants REFER beneath /)",
          "[attack][fs][private_tmp]") {
    TempDir t;  // the host's /tmp, the allowed path of ctypes_no_blocked_ops (private_tmp: false)
    std::filesystem::create_directory(t.path + "/a");
    std::filesystem::create_directory(t.path + "/b");
    t.file("a/f", "F\n");
    t.file("a/g", "G\n");
    TempDir outside("/var/tmp/hive-attack-refer-XXXXXX");
    LogDir logs;
    const std::string code = "T = '" + t.path + "'\nV = '" + outside.path + "'\n" + std::string(kPrelude) + R"PY(
sc("rename_dirs", 82, T + "/a/f", T + "/b/f")
sc("link_dirs", 86, T + "/a/g", T + "/b/g")
py("py_replace_dirs", lambda: os.replace(T + "/b/f", T + "/a/h"))
sc("rename_out", 82, T + "/a/g", V + "/g")
)PY";
    auto o = hive({"--policy", policy_fixture("attack/ctypes_no_blocked_ops.yml"), "--log-dir", logs.path, "-c", code});
    if (!sandbox_set_up(o)) return;
    INFO(o.out << o.err);
    REQUIRE(o.exit_code == 0);
    for (const char* n : {"rename_dirs", "link_dirs", "py_replace_dirs"}) {
        INFO(n);
        CHECK(result(o, n) == std::pair<long, int>{0, 0});
    }
    CHECK(result(o, "rename_out").first == -1);  // EXDEV (another filesystem) or EACCES/EROFS
    CHECK(read_file(t.path + "/a/h") == "F\n");
    CHECK(read_file(t.path + "/b/g") == "G\n");
    CHECK_FALSE(exists(outside.path + "/g"));
}

TEST_CASE("attack: the host's /tmp cannot be reached from the private one (/proc roots, .. out of a bind, raw opens)",
          "[attack][fs][private_tmp]") {
    TempDir host;  // in the host's /tmp: the script lives here, so it is bound into the private /tmp
    const std::string name = "hive-privtmp-secret-" + std::to_string(getpid());
    const std::string secret = "/tmp/" + name;  // the host's /tmp itself
    if (FILE* f = std::fopen(secret.c_str(), "w")) {
        std::fputs("HOST-SECRET\n", f);
        std::fclose(f);
    }
    REQUIRE(read_file(secret) == "HOST-SECRET\n");
    DataDir dd;
    LogDir logs;
    const std::string code = "N = '" + name + "'\nH = '" + host.path + "'\n" + std::string(kPrelude) + R"PY(
for i, p in enumerate(["/tmp/" + N, "/proc/self/root/tmp/" + N, "/proc/1/root/tmp/" + N, H + "/../" + N,
                       "/proc/self/cwd/../../tmp/" + N, "/dev/shm/../../tmp/" + N]):
    sc(f"open{i}", 2, p, 0, 0)
fd = os.open(H, os.O_RDONLY | os.O_DIRECTORY)
sc("openat_dotdot", 257, fd, "../" + N, 0, 0)
print("listing", N in os.listdir("/tmp"))
)PY";
    const std::string script = host.file("probe.py", code);
    auto o = hive({"--policy", policy_fixture("attack/ctypes_private_tmp.yml"), "--log-dir", logs.path, script},
                  {.cwd = dd.d.path});
    if (!sandbox_set_up(o)) return;
    INFO(o.out << o.err);
    REQUIRE(o.exit_code == 0);
    for (const char* n : {"open0", "open1", "open2", "open3", "open4", "open5", "openat_dotdot"}) {
        INFO(n);
        CHECK(result(o, n).first == -1);
        CHECK((result(o, n).second == ENOENT || result(o, n).second == EACCES));
    }
    CHECK(o.out.find("listing False\n") != std::string::npos);
    CHECK(o.out.find("HOST-SECRET") == std::string::npos);
    unlink(secret.c_str());
}

TEST_CASE("attack: filling /tmp under the default policy stops at disk_mb, and the host's /tmp gets none of it",
          "[attack][fs][private_tmp][limits]") {
    TempDir cwd("/var/tmp/hive-attack-fill-XXXXXX");
    LogDir logs;
    const std::string tag = "hive-fill-" + std::to_string(getpid());
    // Bounded: 4 files of 64 MB at most (the issue's 24 files held 1.5 GiB of the machine's /tmp).
    const std::string code = "import errno, os\nTAG = '" + tag + R"PY('
held = 0
try:
    for i in range(4):
        with open(f"/tmp/{TAG}-{i}", "wb") as f:
            for _ in range(64):
                f.write(b"\0" * (1 << 20)); held += 1 << 20
    print("no limit", held >> 20)
except OSError as e:
    print(errno.errorcode[e.errno], held >> 20)
)PY";
    auto o = hive({"--log-dir", logs.path, "-c", code}, {.cwd = cwd.path, .timeout_seconds = 60});
    if (!sandbox_set_up(o)) return;
    INFO(o.out << o.err);
    for (int i = 0; i < 4; ++i) unlink(("/tmp/" + tag + "-" + std::to_string(i)).c_str());  // had it leaked
    CHECK(o.exit_code == 0);
    CHECK(o.out == "ENOSPC 100\n");
    const std::string rec = logs.runs();
    CHECK(rec.find("\"used_bytes\":104857600") != std::string::npos);
    CHECK(rec.find("\"full\":true") != std::string::npos);
}
