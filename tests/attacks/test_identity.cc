// Attack tests: a root caller's script never acts with root's outside identity over what it makes
// (THREAT-MODEL.md: "no privilege gain ... no setuid/setgid mode bits"). Run by root, the sandbox's uid
// is uid 0 outside: a file the script makes u+s in /tmp would be a setuid-root program for every local
// user. Under a policy that lets chmod through (blocked_operations: [delete]), the script tries every
// call that sets a mode, after umask(0), through Python's os functions (chmod_allowed.yml) and through
// raw syscalls that the audit hook cannot see (ctypes_chmod_allowed.yml). What must stop it is seccomp
// (EPERM); the files outside must carry no setuid/setgid bit, and are owned by the caller's uid
// (README: "Who owns what the script creates").
#include <catch2/catch.hpp>

#include "run.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace hivetest;

namespace {

std::string policy(const std::string& name) { return policy_fixture("attack/" + name + ".yml"); }

// A directory under /tmp (inside the policies' allowed_paths), made by the test, removed after.
struct TmpDir {
    TmpDir() {
        char t[] = "/tmp/hive-identity-XXXXXX";
        REQUIRE(mkdtemp(t) != nullptr);
        path = t;
    }
    ~TmpDir() { (void)!std::system(("rm -rf '" + path + "'").c_str()); }
    std::string path;
};

struct Run {
    Outcome o;
    std::string exec_log, security_log;
    // "NAME=RC ERRNO" lines the script printed.
    bool res(const std::string& name, long& rc, int& err) const {
        for (const auto& l : lines(o.out))
            if (l.rfind(name + "=", 0) == 0) return std::sscanf(l.c_str() + name.size() + 1, "%ld %d", &rc, &err) == 2;
        return false;
    }
    std::string dump() const {
        auto at = exec_log.find("\"return_code\"");
        return "exit " + std::to_string(o.exit_code) + "\n--- stdout\n" + o.out + "--- stderr\n" + o.err +
               "--- execution_audit.log (from return_code)\n" + (at == std::string::npos ? exec_log : exec_log.substr(at)) +
               "--- security_events.log\n" + security_log;
    }
};

// `as_uid` >= 0: hive-py run as that uid/gid (setpriv, from a root test), its directories chowned to it.
Run sandboxed(const std::string& pol, const std::string& code, const std::vector<std::string>& args, int as_uid = -1) {
    LogDir logs;
    std::vector<std::string> argv{"--policy", policy(pol), "--log-dir", logs.path, "-c", code};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions opts;
    opts.timeout_seconds = 60;
    Run r;
    if (as_uid >= 0) {
        REQUIRE(::chown(logs.path.c_str(), uid_t(as_uid), gid_t(as_uid)) == 0);
        for (const auto& a : args) REQUIRE(::chown(a.c_str(), uid_t(as_uid), gid_t(as_uid)) == 0);
        const std::string id = std::to_string(as_uid);
        argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", hive_bin()});
        opts.env_extra = {{"HOME", "/nonexistent"}};
        r.o = run(argv, opts);
    } else {
        r.o = hive(argv, opts);
    }
    r.exec_log = logs.runs();
    r.security_log = logs.security();
    return r;
}

bool sandbox_ready(const Run& r) { return hivetest::sandbox_set_up(r.o); }

void check_refused(const Run& r, const std::string& name, int want = EPERM) {
    INFO(name);
    long rc = 0;
    int err = 0;
    REQUIRE(r.res(name, rc, err));
    CHECK(rc == -1);
    CHECK(err == want);
}

// Nothing under `dir` carries a setuid or setgid bit; returns the modes it saw, for the report.
std::string check_no_privileged_bits(const std::string& dir, const std::vector<std::string>& names, uid_t owner) {
    std::string seen;
    for (const auto& n : names) {
        struct stat st {};
        if (::lstat((dir + "/" + n).c_str(), &st) != 0) continue;  // refused before it was made
        char b[64];
        std::snprintf(b, sizeof b, "%s %04o uid %u; ", n.c_str(), unsigned(st.st_mode & 07777), unsigned(st.st_uid));
        seen += b;
        INFO(seen);
        CHECK((st.st_mode & (S_ISUID | S_ISGID)) == 0);
        CHECK(st.st_uid == owner);  // the caller's uid outside, as documented
    }
    return seen;
}

const std::vector<std::string> kMade = {"prog", "made", "made2", "dir", "dir2", "node", "fifo", "tmpfile"};

}  // namespace

// The os.* attempts, by hive-py run as the test's own user (as_uid < 0) or as `as_uid`.
static void os_mode_bits_attack(int as_uid) {
    TmpDir d;
    const std::string code = R"PY(
import os, stat, sys
d = sys.argv[1]
os.umask(0)
def t(name, fn):
    try:
        fn()
        print(f"{name}=0 0", flush=True)
    except OSError as e:
        print(f"{name}=-1 {e.errno}", flush=True)
prog = d + "/prog"
with open(prog, "w") as f:
    f.write("#!/bin/sh\nid\n")
t("chmod_plain", lambda: os.chmod(prog, 0o755))
t("chmod_u+s", lambda: os.chmod(prog, 0o4755))
t("chmod_g+s", lambda: os.chmod(prog, 0o2755))
t("chmod_ug+s", lambda: os.chmod(prog, 0o6777))
fd = os.open(prog, os.O_RDONLY)
t("fchmod_u+s", lambda: os.fchmod(fd, 0o4755))
os.close(fd)
t("open_04755", lambda: os.close(os.open(d + "/made", os.O_CREAT | os.O_WRONLY, 0o4755)))
t("open_02755", lambda: os.close(os.open(d + "/made2", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o2755)))
t("mkdir_02775", lambda: os.mkdir(d + "/dir", 0o2775))
t("mkdir_04775", lambda: os.mkdir(d + "/dir2", 0o4775))
t("mknod_04755", lambda: os.mknod(d + "/node", stat.S_IFREG | 0o4755))
t("mkfifo_02666", lambda: os.mkfifo(d + "/fifo", 0o2666))
t("tmpfile_04755", lambda: os.close(os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o4755)))
)PY";
    Run r = sandboxed("chmod_allowed", code, {d.path}, as_uid);
    if (!sandbox_ready(r)) return;
    INFO(r.dump());
    REQUIRE(r.o.exit_code == 0);
    if (::geteuid() != 0) WARN("not run as root: the sandbox's uid is not root's outside here");
    const uid_t owner = as_uid < 0 ? ::geteuid() : uid_t(as_uid);
    long rc = -2;
    int err = 0;
    REQUIRE(r.res("chmod_plain", rc, err));
    CHECK(rc == 0);  // the policy does let chmod through: the refusal below is the mode bits'
    for (const char* n : {"chmod_u+s", "chmod_g+s", "chmod_ug+s", "fchmod_u+s", "open_04755", "open_02755",
                          "mkdir_02775", "mkdir_04775", "mknod_04755", "mkfifo_02666", "tmpfile_04755"})
        check_refused(r, n);
    const std::string seen = check_no_privileged_bits(d.path, kMade, owner);
    INFO(seen);
    struct stat st {};
    REQUIRE(::stat((d.path + "/prog").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    for (const char* n : {"made", "made2", "dir", "dir2", "node", "fifo"}) CHECK_FALSE(exists(d.path + "/" + n));
}

TEST_CASE("attack: setuid/setgid bits through os.chmod, os.open, os.mkdir, os.mknod (seccomp EPERM)",
          "[attack][identity]") {
    SECTION("as the test's own user (root here)") { os_mode_bits_attack(-1); }
    SECTION("as uid 65534") {
        if (::geteuid() != 0 || !exists("/usr/bin/setpriv")) {
            WARN("SKIPPED (as uid 65534): needs root and setpriv(1)");
            return;
        }
        os_mode_bits_attack(65534);
    }
}

TEST_CASE("attack: setuid/setgid bits through raw syscalls and libc, past the audit hook (seccomp EPERM)",
          "[attack][identity]") {
    TmpDir d;
    const std::string code = R"PY(
import ctypes, os, sys
d = sys.argv[1].encode()
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def res(name, rc):
    e = ctypes.get_errno() if rc == -1 else 0
    print(f"{name}={rc} {e}", flush=True)
    if rc >= 0 and name.startswith(("open", "creat")) and not name.endswith("_plain"): os.close(rc)
def sc(name, nr, *args):
    ctypes.set_errno(0)
    res(name, libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args]))
libc.umask(0)
prog = d + b"/prog"
os.close(os.open(prog, os.O_CREAT | os.O_WRONLY, 0o644))
sc("chmod_plain", 90, prog, 0o755)
sc("chmod", 90, prog, 0o4755)
sc("chmod_hi", 90, prog, (1 << 32) | 0o4755)     # the kernel reads a umode_t: garbage above it
sc("fchmodat", 268, -100, prog, 0o2755)
sc("fchmodat2", 452, -100, prog, 0o4755, 0)
fd = os.open(prog, os.O_RDONLY)
sc("fchmod", 91, fd, 0o6755)
os.close(fd)
ctypes.set_errno(0); res("libc_chmod", libc.chmod(prog, 0o4755))
sc("open", 2, d + b"/made", os.O_CREAT | os.O_WRONLY, 0o4755)
sc("openat", 257, -100, d + b"/made", os.O_CREAT | os.O_WRONLY, 0o2755)
sc("openat_hi", 257, -100, d + b"/made", (1 << 32) | os.O_CREAT | os.O_WRONLY, (1 << 40) | 0o4755)
sc("creat", 85, d + b"/made2", 0o4755)
sc("open_tmpfile", 2, d, os.O_TMPFILE | os.O_WRONLY, 0o4755)
sc("mkdir", 83, d + b"/dir", 0o2775)
sc("mkdirat", 258, -100, d + b"/dir2", 0o4775)
sc("mknod", 133, d + b"/node", 0o100000 | 0o4755, 0)
sc("mknodat", 259, -100, d + b"/fifo", 0o010000 | 0o2666, 0)
how = ctypes.create_string_buffer(bytes(24))
ctypes.c_uint64.from_buffer(how, 0).value = os.O_CREAT | os.O_WRONLY
ctypes.c_uint64.from_buffer(how, 8).value = 0o4755
sc("openat2", 437, -100, d + b"/tmpfile", how, 24)
)PY";
    Run r = sandboxed("ctypes_chmod_allowed", code, {d.path});
    if (!sandbox_ready(r)) return;
    INFO(r.dump());
    REQUIRE(r.o.exit_code == 0);
    long rc = -2;
    int err = 0;
    REQUIRE(r.res("chmod_plain", rc, err));
    CHECK(rc == 0);
    for (const char* n : {"chmod", "chmod_hi", "fchmodat", "fchmodat2", "fchmod", "libc_chmod", "open", "openat",
                          "openat_hi", "creat", "open_tmpfile", "mkdir", "mkdirat", "mknod", "mknodat"})
        check_refused(r, n);
    check_refused(r, "openat2", ENOSYS);
    const std::string seen = check_no_privileged_bits(d.path, kMade, ::geteuid());
    INFO(seen);
    struct stat st {};
    REQUIRE(::stat((d.path + "/prog").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
}
