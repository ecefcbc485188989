// Kernel layers, one at a time: each test forks a child that applies the layer and tries something; the
// parent (left unsandboxed) checks the child's errno or the signal that ended it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>

#include "run.h"
#include "sandbox/doctor.h"
#include "sandbox/identity.h"
#include "sandbox/landlock.h"
#include "sandbox/seccomp.h"
#include "sandbox/seccomp_rules.h"

using namespace hive;

namespace {

struct ChildResult {
    int exit_code = -1;  // -1 when a signal ended it
    int signal = 0;
    std::string message;  // what the child wrote: "" when every check held
};

// Fork; the child runs `fn` (which returns "" or a description of the failed check) and exits.
ChildResult in_child(const std::function<std::string()>& fn) {
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // Catch2's fatal-signal handlers would report the child's crash as the parent's failure.
        for (int sig : {SIGSEGV, SIGILL, SIGFPE, SIGABRT, SIGTERM, SIGINT, SIGSYS}) ::signal(sig, SIG_DFL);
        ::close(p[0]);
        std::string m = fn();
        if (!m.empty()) (void)!::write(p[1], m.data(), m.size());
        ::_exit(m.empty() ? 0 : 1);
    }
    ::close(p[1]);
    ChildResult r;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) r.message.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    return r;
}

std::string no_new_privs() {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "prctl(NO_NEW_PRIVS) failed";
    return "";
}

// `rc` must be -1 with errno `want`.
std::string expect_errno(const char* what, long rc, int want) {
    int e = errno;
    if (rc == -1 && e == want) return "";
    std::ostringstream s;
    s << what << ": rc=" << rc << " errno=" << (strerrorname_np(e) ? strerrorname_np(e) : "?") << ", want "
      << strerrorname_np(want) << "; ";
    return s.str();
}
std::string expect_ok(const char* what, long rc) {
    if (rc >= 0) return "";
    return std::string(what) + ": failed with " + strerrorname_np(errno) + "; ";
}

landlock::Support landlock_or_warn(int min_abi) {
    auto s = landlock::probe();
    if (s.abi < min_abi) {
        WARN("SKIPPED: needs Landlock ABI " << min_abi << ", kernel offers " << s.abi << " " << s.why_not);
        s.abi = 0;
    }
    return s;
}

// The run's plan for `policy`, from the test's working directory, with no script.
plan::Plan plan_of(const Policy& policy) {
    plan::Invocation inv;
    inv.cwd = "/";
    inv.uid = ::geteuid();
    inv.gid = ::getegid();
    auto p = plan::make(policy, inv);
    REQUIRE(p.ok());
    return std::move(*p);
}

// Fork, apply Landlock for `policy`, run `fn`.
ChildResult under_landlock(const Policy& policy, const landlock::Support& s, const std::function<std::string()>& fn) {
    auto prepared = landlock::prepare(plan_of(policy), s);
    REQUIRE(prepared.ok());
    REQUIRE(prepared->ruleset.valid());
    return in_child([&]() -> std::string {
        if (auto m = no_new_privs(); !m.empty()) return m;
        if (auto st = landlock::apply(*prepared); !st.ok()) return st.error().message;
        return fn();
    });
}

Policy strict_fs_policy(const std::string& rw) {
    Policy p;
    p.filesystem.allowed_paths = {rw};
    return p;
}

// Fork, apply the seccomp filter, run `fn`.
ChildResult under_seccomp(const Policy& policy, const std::vector<int>& fds,
                          const std::function<std::string()>& fn) {
    auto prepared = seccomp::prepare(plan_of(policy), fds);
    REQUIRE(prepared.ok());
    return in_child([&]() -> std::string {
        if (auto m = no_new_privs(); !m.empty()) return m;
        if (auto st = seccomp::apply(*prepared); !st.ok()) return st.error().message;
        return fn();
    });
}

Policy blocking_policy() {
    Policy p;
    p.filesystem.blocked.chmod = true;
    p.filesystem.blocked.chown = true;
    p.filesystem.blocked.del = true;
    return p;
}

#define CHECK_CHILD_OK(r)          \
    do {                           \
        INFO((r).message);         \
        CHECK((r).signal == 0);    \
        CHECK((r).exit_code == 0); \
    } while (0)

#define CHECK_KILLED_BY_SIGSYS(r)    \
    do {                             \
        INFO((r).message);           \
        CHECK((r).signal == SIGSYS); \
    } while (0)

int listen_tcp(int& port) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(s, 4) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
    return s;
}

// For children: no REQUIRE (a Catch2 failure in a forked child would be reported twice).
int listen_tcp_on(int port, int* bound = nullptr) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    socklen_t len = sizeof a;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 4) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return -1;
    if (bound) *bound = ntohs(a.sin_port);
    return s;
}

long connect_tcp(int port) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    long rc = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int e = errno;
    ::close(s);
    errno = e;
    return rc;
}

}  // namespace

// ---------------------------------------------------------------- Landlock

TEST_CASE("landlock: probe reports the ABI", "[landlock]") {
    auto s = landlock::probe();
    if (s.abi == 0) {
        WARN("SKIPPED: Landlock unavailable: " << s.why_not);
        return;
    }
    CHECK(s.why_not.empty());
    CHECK(s.abi >= 1);
}

TEST_CASE("landlock: secrets are EACCES, read-only paths readable, allowed path writable", "[landlock]") {
    auto s = landlock_or_warn(1);
    if (!s.abi) return;
    hivetest::TempDir rw;
    hivetest::TempDir ro;
    ro.file("data.txt", "hello");
    Policy with_ro = strict_fs_policy(rw.path);
    with_ro.filesystem.read_only_paths = {ro.path};
    auto r = under_landlock(with_ro, s, [&] {
        std::string m;
        m += expect_errno("open /etc/shadow", ::open("/etc/shadow", O_RDONLY), EACCES);
        m += expect_errno("open /etc/passwd", ::open("/etc/passwd", O_RDONLY), EACCES);
        m += expect_errno("opendir /root", ::open("/root", O_RDONLY | O_DIRECTORY), EACCES);
        m += expect_errno("open /proc/1/environ", ::open("/proc/1/environ", O_RDONLY), EACCES);
        m += expect_ok("open stdlib os.py", ::open("/usr/lib/python3.11/os.py", O_RDONLY));
        m += expect_ok("open run read-only file", ::open((ro.path + "/data.txt").c_str(), O_RDONLY));
        m += expect_errno("write run read-only file", ::open((ro.path + "/data.txt").c_str(), O_WRONLY),
                          EACCES);
        m += expect_errno("create in read-only dir",
                          ::open((ro.path + "/new").c_str(), O_WRONLY | O_CREAT, 0644), EACCES);
        int fd = ::open((rw.path + "/out.txt").c_str(), O_WRONLY | O_CREAT, 0644);
        m += expect_ok("create in allowed path", fd);
        if (fd >= 0) m += expect_ok("write in allowed path", ::write(fd, "x", 1));
        m += expect_ok("mkdir in allowed path", ::mkdir((rw.path + "/sub").c_str(), 0755));
        m += expect_errno("mknod char device in allowed path",
                          ::mknod((rw.path + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), EACCES);
        m += expect_ok("write /dev/null with O_TRUNC", ::open("/dev/null", O_WRONLY | O_TRUNC));
        m += expect_errno("create in /tmp", ::open("/tmp/hive-landlock-escape", O_WRONLY | O_CREAT, 0644),
                          EACCES);
        return m;
    });
    CHECK_CHILD_OK(r);
}

TEST_CASE("landlock: blocked delete stops unlink, rename and rename-over", "[landlock]") {
    auto s = landlock_or_warn(2);
    if (!s.abi) return;
    hivetest::TempDir rw;
    std::string a = rw.file("a.txt", "a"), b = rw.file("b.txt", "b");
    REQUIRE(::mkdir((rw.path + "/dir").c_str(), 0755) == 0);
    Policy p = strict_fs_policy(rw.path);
    p.filesystem.blocked.del = true;
    auto r = under_landlock(p, s, [&] {
        std::string m;
        m += expect_errno("unlink", ::unlink(a.c_str()), EACCES);
        m += expect_errno("rmdir", ::rmdir((rw.path + "/dir").c_str()), EACCES);
        m += expect_errno("rename to a new name", ::rename(a.c_str(), (rw.path + "/c.txt").c_str()), EACCES);
        m += expect_errno("rename over an existing file", ::rename(a.c_str(), b.c_str()), EACCES);
        // NB: Landlock answers a missing REFER right with EXDEV (so that mv falls back to copy+delete).
        m += expect_errno("link into the dir (refer)", ::link(a.c_str(), (rw.path + "/dir/a").c_str()),
                          EXDEV);
        m += expect_errno("rename into a subdir", ::rename(a.c_str(), (rw.path + "/dir/a").c_str()), EACCES);
        m += expect_ok("create still works", ::open((rw.path + "/new").c_str(), O_WRONLY | O_CREAT, 0644));
        return m;
    });
    CHECK_CHILD_OK(r);
    CHECK(hivetest::read_file(a) == "a");
    CHECK(hivetest::read_file(b) == "b");
}

TEST_CASE("landlock: without blocked delete, unlink and rename work", "[landlock]") {
    auto s = landlock_or_warn(1);
    if (!s.abi) return;
    hivetest::TempDir rw;
    std::string a = rw.file("a.txt", "a"), b = rw.file("b.txt", "b");
    auto r = under_landlock(strict_fs_policy(rw.path), s, [&] {
        std::string m;
        m += expect_ok("rename over", ::rename(a.c_str(), b.c_str()));
        m += expect_ok("unlink", ::unlink(b.c_str()));
        return m;
    });
    CHECK_CHILD_OK(r);
}

TEST_CASE("landlock: blocked truncate stops truncate() and O_TRUNC", "[landlock]") {
    auto s = landlock_or_warn(3);
    if (!s.abi) return;
    hivetest::TempDir rw;
    std::string f = rw.file("f.txt", "keep me");
    Policy p = strict_fs_policy(rw.path);
    p.filesystem.blocked.truncate = true;
    auto r = under_landlock(p, s, [&] {
        std::string m;
        m += expect_errno("truncate", ::truncate(f.c_str(), 0), EACCES);
        m += expect_errno("open O_TRUNC", ::open(f.c_str(), O_WRONLY | O_TRUNC), EACCES);
        int fd = ::open(f.c_str(), O_WRONLY);
        m += expect_ok("open for writing", fd);
        if (fd >= 0) m += expect_errno("ftruncate", ::ftruncate(fd, 0), EACCES);
        return m;
    });
    CHECK_CHILD_OK(r);
    CHECK(hivetest::read_file(f) == "keep me");
}

TEST_CASE("landlock: a symlink planted in an allowed dir does not reach outside", "[landlock]") {
    auto s = landlock_or_warn(1);
    if (!s.abi) return;
    hivetest::TempDir rw;
    std::string link = rw.path + "/passwd";
    REQUIRE(::symlink("/etc/passwd", link.c_str()) == 0);
    std::string dirlink = rw.path + "/etc";
    REQUIRE(::symlink("/etc", dirlink.c_str()) == 0);
    auto r = under_landlock(strict_fs_policy(rw.path), s, [&] {
        std::string m;
        m += expect_errno("open symlink to /etc/passwd", ::open(link.c_str(), O_RDONLY), EACCES);
        m += expect_errno("open through dir symlink", ::open((dirlink + "/shadow").c_str(), O_RDONLY), EACCES);
        // Linking from outside the allowed tree is a REFER across rules: EXDEV from Landlock.
        m += expect_errno("hardlink /etc/passwd into the allowed dir",
                          ::link("/etc/passwd", (rw.path + "/hard").c_str()), EXDEV);
        m += expect_errno("/proc/self/root escape", ::open("/proc/self/root/etc/passwd", O_RDONLY), EACCES);
        return m;
    });
    CHECK_CHILD_OK(r);
}

TEST_CASE("landlock: no TCP connect without allowed domains", "[landlock][net]") {
    auto s = landlock_or_warn(4);
    if (!s.abi) return;
    int port = 0;
    hive::UniqueFd listener(listen_tcp(port));
    REQUIRE(connect_tcp(port) == 0);  // reachable when unsandboxed
    auto r = under_landlock(Policy{}, s, [&] {
        return expect_errno("connect 127.0.0.1", connect_tcp(port), EACCES);
    });
    CHECK_CHILD_OK(r);
}

TEST_CASE("landlock: no TCP connect from the sandbox even when domains are allowed", "[landlock][net]") {
    auto s = landlock_or_warn(4);
    if (!s.abi) return;
    Policy p;
    p.network.allowed_domains = {"example.org"};
    p.network.blocked_ports = {80, 22};
    auto prepared = landlock::prepare(plan_of(p), s);
    REQUIRE(prepared.ok());
    // Ports 80 and 443 are only free in a private network namespace: the child makes one (with its own
    // loopback), listens there, then restricts itself and connects.
    auto r = in_child([&]() -> std::string {
        if (::unshare(CLONE_NEWNET) != 0) return std::string("SKIP unshare(CLONE_NEWNET): ") + strerrorname_np(errno);
        int ctl = ::socket(AF_INET, SOCK_DGRAM, 0);
        ifreq ifr{};
        std::strcpy(ifr.ifr_name, "lo");
        ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
        if (ctl < 0 || ::ioctl(ctl, SIOCSIFFLAGS, &ifr) != 0) return "bringing lo up failed";
        int l80 = listen_tcp_on(80), l443 = listen_tcp_on(443), lother = 0;
        int other_port = 0;
        lother = listen_tcp_on(0, &other_port);
        if (l80 < 0 || l443 < 0 || lother < 0) return "listen failed";
        std::string m = expect_ok("connect 80 before Landlock", connect_tcp(80));
        if (auto e = no_new_privs(); !e.empty()) return e;
        if (auto st = landlock::apply(*prepared); !st.ok()) return st.error().message;
        // The parent connects for allowed domains (seccomp user notification); nothing connects from here.
        m += expect_errno("connect to blocked port 80", connect_tcp(80), EACCES);
        m += expect_errno("connect to 443", connect_tcp(443), EACCES);
        m += expect_errno("connect to another port", connect_tcp(other_port), EACCES);
        return m;
    });
    if (r.message.rfind("SKIP", 0) == 0) {
        WARN("SKIPPED: " << r.message);
        return;
    }
    CHECK_CHILD_OK(r);
}

TEST_CASE("landlock: signals to processes outside the sandbox are scoped", "[landlock]") {
    auto s = landlock_or_warn(6);
    if (!s.abi) return;
    pid_t parent = ::getpid();
    auto r = under_landlock(Policy{}, s, [&] {
        return expect_errno("kill(parent, 0)", ::kill(parent, 0), EPERM);
    });
    CHECK_CHILD_OK(r);
}

TEST_CASE("landlock: Debian's python3.11 imports the stdlib with only the system read paths", "[landlock]") {
    auto s = landlock_or_warn(1);
    if (!s.abi) return;
    // The embedded host loads libpython before Landlock; the stand-alone binary needs execute rights on
    // itself and on the ELF loader.
    Policy p;
    p.execution.allow_subprocess = true;
    p.filesystem.exec_paths = {"/usr/bin/python3.11", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"};
    const char* code =
        "import hashlib, _hashlib, ssl, sqlite3, json, csv, decimal, zoneinfo, datetime, ctypes, lzma, bz2, zlib\n"
        "assert hashlib.sha256(b'x').hexdigest().startswith('2d711642')\n"
        "assert sqlite3.connect(':memory:').execute('select 41+1').fetchone()[0] == 42\n"
        "z = zoneinfo.ZoneInfo('Europe/Paris')\n"
        "print(datetime.datetime(2024, 7, 1, tzinfo=z).utcoffset())\n"
        "print(decimal.Decimal(1) / 3, json.dumps([1]), ssl.OPENSSL_VERSION)\n"
        "open('/dev/null', 'w').write('x')\n"
        "try:\n    open('/etc/passwd')\nexcept PermissionError: pass\n"
        "else: raise SystemExit('/etc/passwd was readable')\n";
    auto r = under_landlock(p, s, [&]() -> std::string {
        int out = ::open("/dev/null", O_WRONLY);
        ::dup2(out, 1);
        const char* argv[] = {"python3.11", "-I", "-S", "-c", code, nullptr};
        const char* envp[] = {nullptr};
        ::execve("/usr/bin/python3.11", const_cast<char**>(argv), const_cast<char**>(envp));
        return std::string("execve: ") + strerrorname_np(errno);
    });
    INFO(r.message);
    CHECK(r.signal == 0);
    CHECK(r.exit_code == 0);
}

TEST_CASE("landlock: missing paths are skipped with a note", "[landlock]") {
    auto s = landlock_or_warn(1);
    if (!s.abi) return;
    Policy p;
    p.filesystem.allowed_paths = {"/nonexistent/hive-test"};
    auto prepared = landlock::prepare(plan_of(p), s);
    REQUIRE(prepared.ok());
    bool noted = false;
    for (const auto& n : prepared->notes) noted |= n.find("/nonexistent/hive-test") != std::string::npos;
    CHECK(noted);
    CHECK(!prepared->handled.empty());
}

TEST_CASE("landlock: unavailable kernel gives no ruleset and a note", "[landlock]") {
    auto prepared = landlock::prepare(plan_of(Policy{}), landlock::Support{0, "test: pretend"});
    REQUIRE(prepared.ok());
    CHECK(!prepared->ruleset.valid());
    CHECK(landlock::apply(*prepared).ok());
}

// ---------------------------------------------------------------- seccomp

TEST_CASE("seccomp: blocked operations are EPERM", "[seccomp]") {
    hivetest::TempDir d;
    std::string f = d.file("f.txt", "x");
    auto r = under_seccomp(blocking_policy(), {}, [&] {
        std::string m;
        m += expect_errno("chmod", ::chmod(f.c_str(), 0777), EPERM);
        m += expect_errno("fchmodat", ::fchmodat(AT_FDCWD, f.c_str(), 0777, 0), EPERM);
        m += expect_errno("fchmodat2 (452)", ::syscall(452, AT_FDCWD, f.c_str(), 0777, 0), EPERM);
        m += expect_errno("chown", ::chown(f.c_str(), 1, 1), EPERM);
        m += expect_errno("lchown", ::lchown(f.c_str(), 1, 1), EPERM);
        m += expect_errno("unlink", ::unlink(f.c_str()), EPERM);
        m += expect_errno("unlinkat", ::unlinkat(AT_FDCWD, f.c_str(), 0), EPERM);
        m += expect_errno("rename", ::rename(f.c_str(), (d.path + "/g").c_str()), EPERM);
        m += expect_errno("rmdir", ::rmdir(d.path.c_str()), EPERM);
        return m;
    });
    CHECK_CHILD_OK(r);
    CHECK(hivetest::exists(f));
}

// Run by root the sandbox's uid is root's outside: a setuid bit would make a setuid-root program. No
// policy lets one be set (seccomp_rules.cc: add_mode_bit_rules); a plain mode stays settable.
TEST_CASE("seccomp: setuid/setgid mode bits are EPERM under every policy, plain modes are not", "[seccomp]") {
    for (bool chmod_blocked : {false, true}) {
        DYNAMIC_SECTION((chmod_blocked ? "chmod blocked" : "chmod allowed")) {
            hivetest::TempDir d;
            const std::string f = d.file("f", "x", 0644), made = d.path + "/made", dir = d.path + "/dir";
            Policy policy = chmod_blocked ? blocking_policy() : Policy{};
            auto r = under_seccomp(policy, {}, [&] {
                ::umask(0);
                std::string m;
                for (mode_t bits : {mode_t(S_ISUID), mode_t(S_ISGID)}) {
                    const mode_t mode = bits | 0755;
                    int fd = ::open(f.c_str(), O_RDONLY);
                    m += expect_errno("chmod", ::chmod(f.c_str(), mode), EPERM);
                    m += expect_errno("fchmod", ::fchmod(fd, mode), EPERM);
                    m += expect_errno("fchmodat", ::fchmodat(AT_FDCWD, f.c_str(), mode, 0), EPERM);
                    m += expect_errno("fchmodat2 (452)", ::syscall(452, AT_FDCWD, f.c_str(), mode, 0), EPERM);
                    // The kernel reads a umode_t: the bit with garbage in the register's upper half.
                    m += expect_errno("chmod (mode | 1<<32)", ::syscall(SYS_chmod, f.c_str(), (1UL << 32) | mode), EPERM);
                    ::close(fd);
                    m += expect_errno("open O_CREAT", ::open(made.c_str(), O_CREAT | O_WRONLY, mode), EPERM);
                    m += expect_errno("openat O_CREAT|O_EXCL",
                                      ::openat(AT_FDCWD, made.c_str(), O_CREAT | O_EXCL | O_WRONLY, mode), EPERM);
                    m += expect_errno("open (syscall) O_CREAT",
                                      ::syscall(SYS_open, made.c_str(), O_CREAT | O_WRONLY, mode), EPERM);
                    m += expect_errno("creat", ::creat(made.c_str(), mode), EPERM);
                    m += expect_errno("openat O_TMPFILE", ::openat(AT_FDCWD, d.path.c_str(), O_TMPFILE | O_WRONLY, mode), EPERM);
                    m += expect_errno("mkdir", ::mkdir(dir.c_str(), mode), EPERM);
                    m += expect_errno("mkdirat", ::mkdirat(AT_FDCWD, dir.c_str(), mode), EPERM);
                    m += expect_errno("mknod S_IFREG", ::mknod(made.c_str(), S_IFREG | mode, 0), EPERM);
                    m += expect_errno("mknodat S_IFIFO", ::mknodat(AT_FDCWD, made.c_str(), S_IFIFO | mode, 0), EPERM);
                }
                // The mode of an open without O_CREAT means nothing to the kernel: not refused.
                int fd = int(::syscall(SYS_open, f.c_str(), O_RDONLY, 04755));
                m += expect_ok("open (no O_CREAT) with mode 04755", fd);
                if (fd >= 0) ::close(fd);
                // openat2's mode is in a struct seccomp cannot read.
                std::uint64_t how[3] = {O_CREAT | O_WRONLY, 04755, 0};
                m += expect_errno("openat2", ::syscall(437, AT_FDCWD, made.c_str(), how, sizeof how), ENOSYS);
                if (!chmod_blocked) m += expect_ok("chmod 0700", ::chmod(f.c_str(), 0700));
                m += expect_ok("mkdir 0777", ::mkdir(dir.c_str(), 0777));
                fd = ::open(made.c_str(), O_CREAT | O_WRONLY, 0777);
                m += expect_ok("open O_CREAT 0777", fd);
                if (fd >= 0) ::close(fd);
                return m;
            });
            CHECK_CHILD_OK(r);
            struct stat st {};
            REQUIRE(::stat(f.c_str(), &st) == 0);
            CHECK((st.st_mode & 07777) == (chmod_blocked ? 0644u : 0700u));
            REQUIRE(::stat(made.c_str(), &st) == 0);
            CHECK((st.st_mode & 07777) == 0777u);
            REQUIRE(::stat(dir.c_str(), &st) == 0);
            CHECK((st.st_mode & (S_ISUID | S_ISGID)) == 0);
        }
    }
}

// The caller's terminal: no keystrokes pushed (TIOCSTI), no line discipline changed (TIOCSETD, which
// N_NULL would leave dead), no console ioctl (TIOCLINUX); reading the terminal's state stays.
TEST_CASE("seccomp: TIOCSTI, TIOCSETD, TIOCLINUX, KD* and VT_* are EPERM on a terminal", "[seccomp][tty]") {
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(master >= 0);
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(slave >= 0);
    auto r = under_seccomp(Policy{}, {}, [&] {
        std::string m;
        int ldisc = 0;  // N_TTY, the one it has: without the filter, setting it succeeds
        m += expect_errno("TIOCSETD N_TTY", ::ioctl(slave, TIOCSETD, &ldisc), EPERM);
        ldisc = 27;  // N_NULL
        m += expect_errno("TIOCSETD N_NULL", ::ioctl(slave, TIOCSETD, &ldisc), EPERM);
        m += expect_errno("TIOCSETD (cmd | 1<<32)", ::syscall(SYS_ioctl, slave, (1UL << 32) | TIOCSETD, &ldisc), EPERM);
        char c = 'x';
        m += expect_errno("TIOCSTI", ::ioctl(slave, TIOCSTI, &c), EPERM);
        char sub = 0;
        m += expect_errno("TIOCLINUX", ::ioctl(slave, TIOCLINUX, &sub), EPERM);
        int mode = 0;
        m += expect_errno("KDSKBMODE", ::ioctl(slave, 0x4B45, &mode), EPERM);
        m += expect_errno("KDSKBSENT", ::ioctl(slave, 0x4B49, &mode), EPERM);
        m += expect_errno("VT_ACTIVATE", ::ioctl(slave, 0x5606, 1), EPERM);
        m += expect_errno("KDSETMODE (cmd | 1<<32)", ::syscall(SYS_ioctl, slave, (1UL << 32) | 0x4B3A, 1), EPERM);
        winsize ws{};
        m += expect_ok("TIOCGWINSZ", ::ioctl(slave, TIOCGWINSZ, &ws));
        m += expect_ok("TIOCGETD", ::ioctl(slave, TIOCGETD, &ldisc));
        termios t{};
        m += expect_ok("tcgetattr", ::tcgetattr(slave, &t));
        return m;
    });
    int ldisc = -1;
    CHECK(::ioctl(slave, TIOCGETD, &ldisc) == 0);
    CHECK(ldisc == 0);
    ::close(slave);
    ::close(master);
    CHECK_CHILD_OK(r);
}

TEST_CASE("identity: --check-policy's warnings for a root caller", "[identity]") {
    auto warnings = [](std::vector<std::string> rw, std::vector<std::string> ro = {}, bool private_tmp = false) {
        Policy p;
        p.filesystem.private_tmp = private_tmp;
        p.filesystem.allowed_paths = std::move(rw);
        p.filesystem.read_only_paths = std::move(ro);
        return identity::root_exposure_warnings(p);
    };
    auto one = [&](std::vector<std::string> rw, std::vector<std::string> ro, const std::string& has) {
        auto w = warnings(rw, ro);
        INFO((w.empty() ? std::string("(no warning)") : w[0]));
        REQUIRE(w.size() == 1);
        CHECK(w[0].find(has) != std::string::npos);
        CHECK(w[0].rfind("run by root: security.filesystem.", 0) == 0);
    };
    // Nothing of root's in a project's own directories.
    CHECK(warnings({"/srv/hive/data", "/home/alice/logs"}, {"/usr/lib/python3", "/opt/models", "/etc/hosts"}).empty());
    CHECK(warnings({}, {}).empty());
    // Writable system directories: being one, lying in one, containing one.
    one({"/etc"}, {}, "allowed_paths: /etc: a system directory; contains /etc/shadow, a secret: the script could "
                      "read and change root's files there as their owner");
    one({"/etc/cron.d"}, {}, "/etc/cron.d: lies in /etc, a system directory: the script");
    one({"/usr/local/bin"}, {}, "/usr/local/bin: lies in /usr, a system directory");
    one({"/var"}, {}, "/var: contains /var/lib, a system directory");
    one({"/var/lib/hive"}, {}, "lies in /var/lib");
    one({"/lib64"}, {}, "/lib64: a system directory");
    one({"/lib/x86_64-linux-gnu"}, {}, "a system directory");
    one({"/boot"}, {}, "/boot: a system directory");
    one({"/proc/sys"}, {}, "lies in /proc");
    one({"/sys"}, {}, "/sys: a system directory");
    one({"/dev"}, {}, "/dev: a system directory");
    one({"/run/systemd"}, {}, "lies in /run");
    one({"/var/spool/cron"}, {}, "lies in /var/spool");
    // Secrets, writable or read-only; "/" contains them all.
    one({"/"}, {}, "/: the whole filesystem; contains /etc/shadow, a secret");
    one({}, {"/"}, "read_only_paths: /: contains /etc/shadow, a secret: the script could read it as its owner");
    one({}, {"/etc"}, "read_only_paths: /etc: contains /etc/shadow");
    one({}, {"/etc/shadow"}, "/etc/shadow: a secret");
    one({}, {"/etc/ssh/ssh_host_ed25519_key"}, "lies in /etc/ssh, a secret");
    one({}, {"/root/.ssh"}, "/root/.ssh: a secret");
    one({}, {"/root/project"}, "lies in /root, a secret");
    one({"/root"}, {}, "/root: a system directory; contains /root/.ssh, a secret");
    // World-writable shared directories: what the script leaves there is root's.
    one({"/tmp"}, {}, "/tmp: shared by every user: what the script leaves there");
    one({"/var/tmp/hive"}, {}, "lies in /var/tmp, shared by every user");
    one({"/dev/shm"}, {}, "/dev/shm: shared by every user");
    // The run's private /tmp and /dev/shm are its own; a host path below /tmp, bound into it, is not.
    CHECK(warnings({"/tmp", "/dev/shm"}, {}, true).empty());
    CHECK(warnings({"/tmp/hive-work"}, {}, true).size() == 1);
    // Not fooled by a common prefix.
    CHECK(warnings({"/etcetera", "/usrdata", "/tmpfiles", "/rooted"}, {"/etc-backup", "/rootfs"}).empty());
    CHECK(warnings({"/etc", "/tmp"}, {"/etc/shadow"}).size() == 3);
}

TEST_CASE("seccomp: no sockets without allowed domains, socketpair stays", "[seccomp]") {
    auto r = under_seccomp(Policy{}, {}, [] {
        std::string m;
        m += expect_errno("socket(AF_INET)", ::socket(AF_INET, SOCK_STREAM, 0), EPERM);
        m += expect_errno("socket(AF_INET6)", ::socket(AF_INET6, SOCK_DGRAM, 0), EPERM);
        m += expect_errno("socket(AF_UNIX)", ::socket(AF_UNIX, SOCK_STREAM, 0), EPERM);
        m += expect_errno("socket(AF_NETLINK)", ::socket(AF_NETLINK, SOCK_RAW, 0), EPERM);
        m += expect_errno("socket(AF_PACKET)", ::socket(AF_PACKET, SOCK_RAW, 0), EPERM);
        int sv[2];
        m += expect_ok("socketpair", ::socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
        return m;
    });
    CHECK_CHILD_OK(r);
}

TEST_CASE("seccomp: with allowed domains only inet/inet6 stream sockets", "[seccomp]") {
    Policy p;
    p.network.allowed_domains = {"example.org"};
    auto r = under_seccomp(p, {}, [] {
        std::string m;
        m += expect_ok("socket(AF_INET)", ::socket(AF_INET, SOCK_STREAM, 0));
        m += expect_ok("socket(AF_INET6)", ::socket(AF_INET6, SOCK_STREAM, 0));
        m += expect_ok("socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC)", ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        m += expect_errno("socket(AF_UNIX)", ::socket(AF_UNIX, SOCK_STREAM, 0), EPERM);
        m += expect_errno("socket(AF_INET, SOCK_DGRAM)", ::socket(AF_INET, SOCK_DGRAM, 0), EPERM);
        m += expect_errno("socket(AF_INET6, SOCK_DGRAM)", ::socket(AF_INET6, SOCK_DGRAM, 0), EPERM);
        m += expect_errno("socket(AF_INET, SOCK_RAW)", ::socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EPERM);
        m += expect_errno("socket(AF_UNIX | 1<<32)", ::syscall(SYS_socket, (1UL << 32) | AF_UNIX, SOCK_STREAM, 0), EPERM);
        m += expect_errno("sendto(MSG_FASTOPEN)", ::sendto(-1, "x", 1, MSG_FASTOPEN, nullptr, 0), EPERM);
        m += expect_errno("socket(AF_NETLINK)", ::socket(AF_NETLINK, SOCK_RAW, 0), EPERM);
        m += expect_errno("socket(AF_PACKET)", ::socket(AF_PACKET, SOCK_RAW, 0), EPERM);
        m += expect_errno("socket(0)", ::socket(0, SOCK_RAW, 0), EPERM);
        // The kernel reads an int: AF_NETLINK with the upper half of the register set.
        m += expect_errno("socket(AF_NETLINK | 1<<32)",
                          ::syscall(SYS_socket, (1UL << 32) | AF_NETLINK, SOCK_RAW, 0), EPERM);
        return m;
    });
    CHECK_CHILD_OK(r);
}

TEST_CASE("seccomp: execve is EPERM unless allow_subprocess", "[seccomp]") {
    const char* argv[] = {"true", nullptr};
    auto r = under_seccomp(Policy{}, {}, [&] {
        std::string m;
        m += expect_errno("execve", ::execve("/bin/true", const_cast<char**>(argv), nullptr), EPERM);
        m += expect_errno("execveat", ::syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, nullptr, 0), EPERM);
        return m;
    });
    CHECK_CHILD_OK(r);

    Policy p;
    p.execution.allow_subprocess = true;
    auto r2 = under_seccomp(p, {}, [&] {
        ::execve("/bin/true", const_cast<char**>(argv), nullptr);
        return std::string("execve failed: ") + strerrorname_np(errno);
    });
    CHECK_CHILD_OK(r2);
}

TEST_CASE("seccomp: clone3 is ENOSYS, fork still works", "[seccomp]") {
    auto r = under_seccomp(Policy{}, {}, [] {
        std::string m;
        // size 0 would be EINVAL from the kernel: only the filter answers ENOSYS.
        m += expect_errno("clone3", ::syscall(SYS_clone3, nullptr, 0), ENOSYS);
        pid_t pid = ::fork();
        if (pid == 0) ::_exit(7);
        int status = 0;
        if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
            m += "fork under the filter failed; ";
        return m;
    });
    CHECK_CHILD_OK(r);
}

TEST_CASE("seccomp: dangerous calls kill the process", "[seccomp]") {
    struct Case {
        const char* name;
        std::function<void()> call;
    };
    const Case cases[] = {
        {"ptrace", [] { ::syscall(SYS_ptrace, 0 /*PTRACE_TRACEME*/, 0, 0, 0); }},
        {"unshare", [] { ::syscall(SYS_unshare, CLONE_NEWUTS); }},
        {"setns", [] { ::syscall(SYS_setns, -1, 0); }},
        {"io_uring_setup", [] { ::syscall(SYS_io_uring_setup, 0, nullptr); }},
        {"bpf", [] { ::syscall(SYS_bpf, -1, nullptr, 0); }},
        {"mount", [] { ::syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, nullptr); }},
        {"chroot", [] { ::syscall(SYS_chroot, "/"); }},
        {"perf_event_open", [] { ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0); }},
        {"keyctl", [] { ::syscall(SYS_keyctl, 0, 0, 0, 0, 0); }},
        {"userfaultfd", [] { ::syscall(SYS_userfaultfd, 0); }},
        {"personality", [] { ::syscall(SYS_personality, 0xffffffffUL); }},
        {"clock_settime", [] { ::syscall(SYS_clock_settime, 0, nullptr); }},
        {"process_vm_readv", [] { ::syscall(SYS_process_vm_readv, 1, nullptr, 0, nullptr, 0, 0); }},
        {"clone(CLONE_NEWNET)", [] {
             long pid = ::syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
             if (pid == 0) ::_exit(0);
         }},
        {"clone(CLONE_NEWUSER)", [] {
             long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
             if (pid == 0) ::_exit(0);
         }},
        {"x32 getpid (0x40000000 | 39)", [] { ::syscall(0x40000000 | 39); }},
        {"x32 getpid (0x40000000 | 522, an x32-only number)", [] { ::syscall(0x40000000 | 522); }},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            auto r = under_seccomp(Policy{}, {}, [&] {
                c.call();
                return std::string(c.name) + " returned instead of killing (" + strerrorname_np(errno) + ")";
            });
            CHECK_KILLED_BY_SIGSYS(r);
        }
    }
}

TEST_CASE("seccomp: i386 syscalls through int 0x80 kill the process", "[seccomp]") {
    // Without the filter, int 0x80 is i386 getpid (20) where the kernel has IA32 emulation.
    auto plain = in_child([] {
        long ret;
        asm volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
        return ret == ::getpid() ? std::string() : std::string("int 0x80 getpid returned ") + std::to_string(ret);
    });
    if (plain.signal != 0 || plain.exit_code != 0) {
        WARN("SKIPPED: no IA32 emulation on this kernel (int 0x80: signal " << plain.signal << ", "
                                                                            << plain.message << ")");
        return;
    }
    auto r = under_seccomp(Policy{}, {}, [] {
        long ret;
        asm volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
        return std::string("i386 getpid returned ") + std::to_string(ret);
    });
    CHECK_KILLED_BY_SIGSYS(r);
}

TEST_CASE("seccomp: protected fds cannot be closed or replaced", "[seccomp]") {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    int fd = p[1];
    auto r = under_seccomp(Policy{}, {fd}, [&] {
        std::string m;
        m += expect_errno("close", ::close(fd), EPERM);
        m += expect_errno("close(fd | 1<<32)", ::syscall(SYS_close, (1UL << 32) | unsigned(fd)), EPERM);
        m += expect_errno("dup2 onto", ::dup2(0, fd), EPERM);
        m += expect_errno("dup3 onto", ::dup3(0, fd, O_CLOEXEC), EPERM);
        m += expect_errno("close_range over it", ::syscall(SYS_close_range, 3, ~0U, 0), ENOSYS);
        m += expect_ok("write to protected fd", ::write(fd, "k", 1));
        int other = ::dup(0);
        m += expect_ok("close another fd", ::close(other));
        return m;
    });
    ::close(p[1]);
    CHECK_CHILD_OK(r);
    char c = 0;
    CHECK(::read(p[0], &c, 1) == 1);
    CHECK(c == 'k');
    ::close(p[0]);
}

TEST_CASE("seccomp: close_range may close around the protected fds, never over them", "[seccomp]") {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    constexpr int kProtected = 100;
    REQUIRE(::dup2(p[1], kProtected) == kProtected);
    ::close(p[1]);
    auto r = under_seccomp(Policy{}, {kProtected}, [&] {
        std::string m;
        constexpr unsigned long hi_bit = 1UL << 32;
        m += expect_errno("close_range(3, ~0)", ::syscall(SYS_close_range, 3, ~0U, 0), ENOSYS);
        m += expect_errno("close_range(100, 100)", ::syscall(SYS_close_range, kProtected, kProtected, 0), ENOSYS);
        m += expect_errno("close_range(100, 100, CLOEXEC)",
                          ::syscall(SYS_close_range, kProtected, kProtected, 4 /* CLOSE_RANGE_CLOEXEC */), ENOSYS);
        // Upper register halves the kernel truncates away: (1<<32)|100 is fd 100 to close_range.
        m += expect_errno("close_range(1<<32|100, 100)",
                          ::syscall(SYS_close_range, hi_bit | kProtected, kProtected, 0), ENOSYS);
        m += expect_errno("close_range(0, 1<<32|100)", ::syscall(SYS_close_range, 0, hi_bit | kProtected, 0),
                          ENOSYS);
        m += expect_errno("close_range(1<<32|101, 1<<32|99)",
                          ::syscall(SYS_close_range, hi_bit | 101, hi_bit | 99, 0), ENOSYS);
        // Ranges clear of fd 100 close in one call.
        int below = ::dup2(0, 60), above = ::dup2(0, 140);
        m += expect_ok("close_range(50, 99)", ::syscall(SYS_close_range, 50, kProtected - 1, 0));
        m += expect_ok("close_range(101, ~0)", ::syscall(SYS_close_range, kProtected + 1, ~0U, 0));
        if (below != 60 || ::fcntl(60, F_GETFD) != -1) m += "fd 60 is still open; ";
        if (above != 140 || ::fcntl(140, F_GETFD) != -1) m += "fd 140 is still open; ";
        m += expect_ok("write to protected fd", ::write(kProtected, "k", 1));
        return m;
    });
    ::close(kProtected);
    CHECK_CHILD_OK(r);
    char c = 0;
    CHECK(::read(p[0], &c, 1) == 1);
    CHECK(c == 'k');
    ::close(p[0]);
}

TEST_CASE("seccomp: summary names the rule groups", "[seccomp]") {
    auto prepared = seccomp::prepare(plan_of(blocking_policy()), {5});
    REQUIRE(prepared.ok());
    CHECK(!prepared->program.empty());
    std::string all;
    for (const auto& s : seccomp::summary(blocking_policy(), {5})) all += s + "\n";
    CHECK(all.find("ptrace") != std::string::npos);
    CHECK(all.find("fchmodat2") != std::string::npos);
    CHECK(all.find("protected fds 5") != std::string::npos);
    CHECK(all.find("unknown syscall") == std::string::npos);
    std::cerr << "seccomp summary (" << prepared->program.size() << " BPF instructions):\n" << all;
}

// The programs a run uses come from build-time templates (seccomp.cc); they must be exactly what
// libseccomp compiles here, for every policy shape, or the kernel would enforce another filter.
Policy policy_of(const seccomp::Shape& s) {
    Policy p;
    p.filesystem.blocked.chmod = s.chmod;
    p.filesystem.blocked.chown = s.chown;
    p.filesystem.blocked.del = s.del;
    if (s.inet) p.network.allowed_domains = {"example.org"};
    p.execution.allow_subprocess = s.exec;
    return p;
}

bool same_program(const std::vector<sock_filter>& a, const std::vector<sock_filter>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(sock_filter)) == 0;
}

TEST_CASE("seccomp: a run's program is libseccomp's, for every policy shape", "[seccomp]") {
    for (unsigned i = 0; i < seccomp::Shape::kCount; ++i) {
        const auto shape = seccomp::Shape::from_index(i);
        const Policy policy = policy_of(shape);
        for (int fd : {0, 3, 12, 100, 1023, 1024, 70000}) {
            CAPTURE(i, fd);
            auto run = seccomp::prepare(plan_of(policy), {fd});
            auto lib = seccomp::compile(shape, {fd});
            REQUIRE(run.ok());
            REQUIRE(lib.ok());
            CHECK(same_program(run->program, lib->program));
            CHECK(seccomp::summary(policy, {fd}) == lib->summary);
            // Up to the generator's checked range the template is used (the start-up cost depends on it);
            // beyond it libseccomp compiles the program at run time.
            CHECK(run->from_template == (fd <= 1023));
        }
    }
    auto notify = seccomp::prepare_connect_notify();
    auto notify_lib = seccomp::compile_connect_notify();
    REQUIRE(notify.ok());
    REQUIRE(notify_lib.ok());
    CHECK(notify->from_template);
    CHECK(same_program(notify->program, *notify_lib));
}

TEST_CASE("seccomp: the template's fd is enforced, not the one it was compiled with", "[seccomp]") {
    // The generator compiled the templates for fds 1000 and 1001; a run writes its own fd in. Under the
    // patched program, fd 1000 is an ordinary fd and the run's fd is the protected one.
    int p[2];
    REQUIRE(::pipe(p) == 0);
    constexpr int kRunFd = 77, kProbeFd = 1000;
    REQUIRE(::dup2(p[1], kRunFd) == kRunFd);
    REQUIRE(::dup2(p[1], kProbeFd) == kProbeFd);
    ::close(p[1]);
    auto prepared = seccomp::prepare(plan_of(Policy{}), {kRunFd});
    REQUIRE(prepared.ok());
    REQUIRE(prepared->from_template);
    auto r = in_child([&]() -> std::string {
        if (auto m = no_new_privs(); !m.empty()) return m;
        if (auto st = seccomp::apply(*prepared); !st.ok()) return st.error().message;
        std::string m;
        m += expect_errno("close(77)", ::close(kRunFd), EPERM);
        m += expect_errno("dup2 onto 77", ::dup2(0, kRunFd), EPERM);
        m += expect_ok("close(1000)", ::close(kProbeFd));
        return m;
    });
    ::close(kRunFd);
    ::close(kProbeFd);
    ::close(p[0]);
    CHECK_CHILD_OK(r);
}

// ---------------------------------------------------------------- costs and doctor

TEST_CASE("prepare costs", "[bench]") {
    using clock = std::chrono::steady_clock;
    auto ms = [](clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    auto s = landlock::probe();
    if (s.abi == 0) {
        WARN("SKIPPED landlock timing: " << s.why_not);
    } else {
        hivetest::TempDir rw;
        Policy p = strict_fs_policy(rw.path);
        constexpr int N = 50;
        auto t0 = clock::now();
        for (int i = 0; i < N; ++i) REQUIRE(landlock::prepare(plan_of(p), s).ok());
        double fs_ms = ms(clock::now() - t0) / N;

        Policy net = p;
        net.network.allowed_domains = {"example.org"};
        net.network.blocked_ports = {22, 25};
        t0 = clock::now();
        auto prepared = landlock::prepare(plan_of(net), s);
        double net_ms = ms(clock::now() - t0);
        REQUIRE(prepared.ok());
        double restrict_ms = 0;
        auto r = in_child([&] {
            (void)no_new_privs();
            auto t = clock::now();
            auto st = landlock::apply(*prepared);
            double d = ms(clock::now() - t);
            return st.ok() ? "restrict_ms=" + std::to_string(d) : st.error().message;
        });
        if (r.message.rfind("restrict_ms=", 0) == 0) restrict_ms = std::stod(r.message.substr(12));
        std::cerr << "landlock prepare: " << fs_ms << " ms (fs rules); " << net_ms
                  << " ms with domains allowed (TCP port rules); restrict_self of that ruleset " << restrict_ms
                  << " ms\n";
    }
    constexpr int N = 50;
    auto t0 = clock::now();
    std::size_t insns = 0;
    for (int i = 0; i < N; ++i) {
        auto sp = seccomp::prepare(plan_of(blocking_policy()), {3, 4});
        REQUIRE(sp.ok());
        insns = sp->program.size();
    }
    std::cerr << "seccomp prepare: " << ms(clock::now() - t0) / N << " ms (" << insns << " BPF instructions)\n";
}

TEST_CASE("doctor prints a line for each layer", "[doctor]") {
    std::ostringstream out;
    const int rc = hive::sandbox::doctor(out, plan_of(Policy{}));
    std::string text = out.str();
    std::cerr << text;
    for (const char* layer : {"namespace user", "namespace mount", "namespace pid", "namespace net",
                              "namespace ipc", "namespace uts", "landlock", "seccomp filter",
                              "seccomp kill_process", "cgroup v1", "cgroup v2", "pids cgroup", "uid map",
                              "running as root", "policy (): strict: would"}) {
        INFO(layer);
        CHECK(text.find(layer) != std::string::npos);
    }
    // Exit status 1 exactly when the policy (strict) would be refused here.
    CHECK(rc == (text.find("strict: would refuse") != std::string::npos ? 1 : 0));
}
