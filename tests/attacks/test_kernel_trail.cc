// Attack tests: the kernel's own record of what it refused the run (security.monitoring.kernel_trail,
// host/supervisor/kernel_trail.h). A script allowed ctypes (policy/tests/attack/ctypes_default.yml)
// owns its process's memory: it can step around the audit hook with a raw system call, and hide or
// forge the hook's events. What the kernel refused it still shows, because the parent reads it from
// the kernel's audit socket, not from the script: Landlock's denials (kernel >= 6.15) and seccomp's
// kills, the kill of a child the script reaps itself included (the init never sees that one).
//
// These need root (CAP_AUDIT_READ) and the kernel's audit on. AuditOn turns it on for a case and puts
// back what it found; ctest runs this file's cases alone (RUN_SERIAL, tests/CMakeLists.txt), as the
// switch is the host's.
#include <catch2/catch.hpp>

#include <linux/audit.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run.h"

using namespace hivetest;
using nlohmann::json;

namespace {

// The kernel's audit switch (AUDIT_GET / AUDIT_SET on NETLINK_AUDIT), as auditctl -e sets it.
struct AuditSocket {
    int fd = -1;
    AuditSocket() {
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
        if (fd >= 0) {
            timeval tv{1, 0};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        }
    }
    ~AuditSocket() {
        if (fd >= 0) close(fd);
    }
    bool request(std::uint16_t type, const void* data, std::size_t len, audit_status* reply) {
        char buf[8192] = {};
        auto* h = reinterpret_cast<nlmsghdr*>(buf);
        h->nlmsg_len = NLMSG_LENGTH(len);
        h->nlmsg_type = type;
        h->nlmsg_flags = NLM_F_REQUEST | (reply ? 0 : NLM_F_ACK);
        if (len) std::memcpy(NLMSG_DATA(h), data, len);
        sockaddr_nl to{};
        to.nl_family = AF_NETLINK;
        if (sendto(fd, buf, h->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) return false;
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < ssize_t(NLMSG_HDRLEN)) return false;
        if (h->nlmsg_type == NLMSG_ERROR) return static_cast<nlmsgerr*>(NLMSG_DATA(h))->error == 0 && !reply;
        if (reply && h->nlmsg_type == AUDIT_GET) {
            std::memcpy(reply, NLMSG_DATA(h), std::min<std::size_t>(sizeof *reply, h->nlmsg_len - NLMSG_HDRLEN));
            return true;
        }
        return false;
    }
    int enabled() {
        audit_status st{};
        return request(AUDIT_GET, nullptr, 0, &st) ? int(st.enabled) : -1;
    }
    bool set_enabled(int on) {
        audit_status st{};
        st.mask = AUDIT_STATUS_ENABLED;
        st.enabled = std::uint32_t(on);
        return request(AUDIT_SET, &st, sizeof st, nullptr);
    }
};

// The kernel's audit on for one case; what it was afterwards.
struct AuditOn {
    AuditSocket s;
    int before = -1;
    bool ok = false;
    AuditOn() {
        before = s.enabled();
        ok = before >= 1 || (before == 0 && s.set_enabled(1));
    }
    ~AuditOn() {
        if (before == 0) s.set_enabled(0);
    }
};

bool can_run() {
    if (geteuid() != 0) {
        WARN("SKIPPED: the kernel trail needs a root caller (CAP_AUDIT_READ)");
        return false;
    }
    AuditSocket s;
    if (s.fd < 0 || s.enabled() < 0) {
        WARN("SKIPPED: this kernel has no audit netlink socket");
        return false;
    }
    return true;
}

struct Run {
    Outcome o;
    json record;
    std::string events, security;
    std::string dump() const {
        return "exit " + std::to_string(o.exit_code) + "\n--- stdout\n" + o.out + "--- stderr\n" + o.err +
               "--- record.kernel_trail\n" + (record.is_object() ? record.value("kernel_trail", json()).dump() : "none") +
               "\n--- security_events.log\n" +
               security.substr(0, 4000);
    }
};

Run sandboxed(const std::string& policy, const std::string& code, std::vector<std::string> extra = {}) {
    LogDir logs;
    Run r;
    std::vector<std::string> args = {"--policy", policy, "--log-dir", logs.path};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"-c", code});
    r.o = hive(args);
    const auto recs = lines(logs.runs());
    if (!recs.empty()) r.record = json::parse(recs.back(), nullptr, false);
    r.events = logs.events();
    r.security = logs.security();
    return r;
}

const char* const kRawOpen = R"PY(
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def raw_open(path):  # openat(AT_FDCWD, path, O_RDONLY): no Python audit event, the hook never sees it
    fd = libc.syscall(ctypes.c_long(257), ctypes.c_long(-100), ctypes.c_char_p(path.encode()), ctypes.c_long(0), ctypes.c_long(0))
    return fd, ctypes.get_errno()
)PY";

}  // namespace

TEST_CASE("attack: a raw openat the hook never saw is in the kernel trail", "[attack][kernel_trail]") {
    if (!can_run()) return;
    AuditOn audit;
    REQUIRE(audit.ok);
    Run r = sandboxed(policy_fixture("attack/ctypes_default.yml"),
                      std::string(kRawOpen) + "print('openat', *raw_open('/etc/shadow'), flush=True)\n", {"--json"});
    if (!sandbox_set_up(r.o)) return;
    INFO(r.dump());
    REQUIRE(r.o.exit_code == 0);
    // Landlock refused it (EACCES): the kernel layer held, and now the trail says so.
    const json out = json::parse(lines(r.o.out).back(), nullptr, false);
    REQUIRE(out.is_object());
    CHECK(out["stdout"].get<std::string>() == "openat -1 13\n");
    const json& kt = r.record["kernel_trail"];
    REQUIRE(kt["state"] == "collected");
    if (kt.contains("kernel_records_lost")) {
        // Another process of the host flooded the kernel's audit backlog meanwhile: the record says so.
        WARN("the kernel's audit dropped records during this run: " << kt.dump());
        CHECK(kt["complete"] == false);
        return;
    }
    CHECK(kt["landlock_denials"] == 1);
    CHECK(kt["complete"] == true);
    CHECK(kt["audit_session"].get<long>() > 0);
    // One kernel event in the events stream, marked as the kernel's, and a security event.
    const auto kernel_events = grep(r.events, "\"source\":\"kernel\"");
    REQUIRE(kernel_events.size() == 1);
    CHECK(kernel_events[0].find("\"event\":\"landlock.fs.read_file\"") != std::string::npos);
    CHECK(kernel_events[0].find("\"args\":[\"/etc/shadow\"]") != std::string::npos);
    CHECK(kernel_events[0].find("\"syscall\":\"openat\"") != std::string::npos);
    CHECK(grep(r.security, "\"kind\":\"kernel_denial\"").size() == 1);
    // The hook saw nothing of it: no open event names the file.
    for (const auto& line : grep(r.events, "\"event\":\"open\"")) CHECK(line.find("/etc/shadow") == std::string::npos);
    // The user sees it: in --json's denials and in the closing line.
    REQUIRE(out["denials"].size() == 1);
    CHECK(out["denials"][0]["event"] == "landlock.fs.read_file");
    CHECK(out["denials"][0]["target"] == "/etc/shadow");
    CHECK(out["denials"][0]["decision"] == "denied_by_kernel");
    CHECK(r.o.err.find("1 denied (landlock.fs.read_file /etc/shadow)") != std::string::npos);
}

TEST_CASE("attack: a seccomp kill of a child the script reaps itself is in the kernel trail", "[attack][kernel_trail]") {
    if (!can_run()) return;
    AuditOn audit;
    REQUIRE(audit.ok);
    // The child calls chroot (killed: SECCOMP_RET_KILL_PROCESS); the script waits for it, so the
    // sandbox's init never sees the death (tests/attacks/test_kills.cc: sandbox_kills stays 0).
    Run r = sandboxed(policy_fixture("attack/ctypes_default.yml"), R"PY(
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
pid = libc.fork()
if pid == 0:
    os.chroot("/")
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("child signal", os.WTERMSIG(status), flush=True)
)PY");
    if (!sandbox_set_up(r.o)) return;
    INFO(r.dump());
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "child signal 31\n");
    CHECK(r.record["sandbox_kills"] == 0);  // what the init saw
    const json& kt = r.record["kernel_trail"];
    REQUIRE(kt["state"] == "collected");
    CHECK(kt["seccomp_kills"] == 1);
    const auto kills = grep(r.security, "\"kind\":\"kernel_kill\"");
    REQUIRE(kills.size() == 1);
    CHECK(kills[0].find("for the system call chroot") != std::string::npos);
    CHECK(kills[0].find("\"high\"") != std::string::npos);
    CHECK(r.o.err.find("1 denied (seccomp.kill chroot)") != std::string::npos);
}

TEST_CASE("attack: a flood of kernel denials is counted whole and listed within a bound", "[attack][kernel_trail]") {
    if (!can_run()) return;
    AuditOn audit;
    REQUIRE(audit.ok);
    Run r = sandboxed(policy_fixture("attack/ctypes_default.yml"),
                      std::string(kRawOpen) + R"PY(
fails = sum(1 for i in range(3000) if raw_open('/etc/shadow')[0] < 0)
print('failed', fails, flush=True)
)PY");
    if (!sandbox_set_up(r.o)) return;
    INFO(r.dump());
    REQUIRE(r.o.exit_code == 0);
    CHECK(r.o.out == "failed 3000\n");
    const json& kt = r.record["kernel_trail"];
    REQUIRE(kt["state"] == "collected");
    // The kernel's own count of the domain's denials is exact; the records that reached hive-py are
    // all of them, or the record says complete: false and how many the kernel's audit dropped.
    if (kt["landlock_denials"] == 3000) {
        CHECK(kt["complete"] == true);
    } else {
        // The kernel's audit dropped records (its backlog is 64 by default): hive-py then reaped the
        // init and waited for the domain's end, whose count is the kernel's own.
        CHECK(kt["landlock_domain_denials"] == 3000);
        CHECK(kt["kernel_records_lost"].get<long>() > 0);
        CHECK(kt["complete"] == false);
        CHECK(grep(r.security, "reached hive-py as no record").size() == 1);
    }
    // Written one by one up to 100 (fewer when the kernel's audit dropped most), then counted.
    const long seen = kt["landlock_denials"].get<long>();
    const long listed = std::min(seen, 100L);
    CHECK(kt["listed"] == listed);
    CHECK(long(grep(r.events, "\"source\":\"kernel\"").size()) == listed);
    CHECK(grep(r.security, "more of the kernel's refusals, counted but not written one by one").size() == (seen > 100 ? 1u : 0u));
}

TEST_CASE("the kernel trail under the default policy: C code's refusals show, the session is the run's own", "[attack][kernel_trail]") {
    if (!can_run()) return;
    AuditOn audit;
    REQUIRE(audit.ok);
    // getpwuid() reads /etc/passwd from C (no Python audit event); the default policy does not let the
    // sandbox read it, so Landlock refuses (glibc then asks its other sources).
    const std::string code = "import pwd\ntry:\n    pwd.getpwuid(0)\nexcept KeyError:\n    pass\nprint('looked up')\n";
    Run a = sandboxed(hivetest::policy_fixture("valid/spec.yml"), code);
    if (!sandbox_set_up(a.o)) return;
    Run b = sandboxed(hivetest::policy_fixture("valid/spec.yml"), code);
    INFO(a.dump());
    REQUIRE(a.o.exit_code == 0);
    CHECK(a.o.out == "looked up\n");
    const json& kt = a.record["kernel_trail"];
    REQUIRE(kt["state"] == "collected");
    CHECK(kt["landlock_denials"].get<int>() >= 1);
    bool passwd = false;
    for (const auto& line : grep(a.events, "\"source\":\"kernel\"")) passwd = passwd || line.find("\"/etc/passwd\"") != std::string::npos;
    CHECK(passwd);
    // Each run has an audit session of its own, which no other run's records carry.
    REQUIRE(b.record["kernel_trail"]["state"] == "collected");
    CHECK(a.record["kernel_trail"]["audit_session"] != b.record["kernel_trail"]["audit_session"]);
}

TEST_CASE("without the kernel's audit the record says why there is no kernel trail, and required refuses", "[kernel_trail]") {
    if (!can_run()) return;
    AuditSocket s;
    const int before = s.enabled();
    if (before == 2) {
        WARN("SKIPPED: the kernel's audit is locked on (enabled=2)");
        return;
    }
    if (before == 1) REQUIRE(s.set_enabled(0));
    PolicyDir dir;
    const std::string required = dir.file("required.yml", "security:\n  monitoring:\n    kernel_trail: required\n");
    Run plain = sandboxed(policy_fixture("valid/spec.yml"), "print('ran')\n");
    Run refused = sandboxed(required, "print('ran')\n");
    if (before == 1) s.set_enabled(1);
    if (!sandbox_set_up(plain.o)) return;
    INFO(plain.dump());
    CHECK(plain.o.exit_code == 0);
    CHECK(plain.record["kernel_trail"]["state"] == "unavailable");
    CHECK(plain.record["kernel_trail"]["reason"].get<std::string>().find("the kernel's audit is off") != std::string::npos);
    INFO(refused.dump());
    CHECK(refused.o.exit_code == 125);
    CHECK(refused.o.out.empty());
    CHECK(refused.o.err.find("security.monitoring.kernel_trail is required") != std::string::npos);
    CHECK(refused.o.err.find("the kernel's audit is off") != std::string::npos);
}

TEST_CASE("kernel_trail: off does not read the kernel's records", "[kernel_trail]") {
    if (!can_run()) return;
    AuditOn audit;
    REQUIRE(audit.ok);
    PolicyDir dir;
    const std::string off = dir.file("off.yml",
                                     "security:\n  imports:\n    allow: [ctypes, _ctypes]\n  monitoring:\n    kernel_trail: off\n");
    Run r = sandboxed(off, std::string(kRawOpen) + "print(raw_open('/etc/shadow')[1])\n");
    if (!sandbox_set_up(r.o)) return;
    INFO(r.dump());
    CHECK(r.o.out == "13\n");
    CHECK(r.record["kernel_trail"]["state"] == "off");
    CHECK(grep(r.events, "\"source\":\"kernel\"").empty());
}

TEST_CASE("an unprivileged caller's record says the kernel trail needs root, and the run goes on", "[kernel_trail]") {
    if (!can_run()) return;
    if (!exists("/usr/bin/setpriv")) {
        WARN("SKIPPED: needs setpriv(1)");
        return;
    }
    AuditOn audit;
    REQUIRE(audit.ok);
    LogDir logs;
    REQUIRE(::chown(logs.path.c_str(), 65534, 65534) == 0);
    RunOptions opts;
    opts.env_extra = {{"HOME", "/nonexistent"}};
    Outcome o = run({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", hive_bin(), "--policy",
                     policy_fixture("valid/spec.yml"), "--log-dir", logs.path, "-c", "print('ran')"},
                    opts);
    if (!sandbox_set_up(o)) return;
    INFO(o.err);
    REQUIRE(o.exit_code == 0);
    CHECK(o.out == "ran\n");
    const auto recs = lines(logs.runs());
    REQUIRE(!recs.empty());
    const json rec = json::parse(recs.back(), nullptr, false);
    CHECK(rec["kernel_trail"]["state"] == "unavailable");
    CHECK(rec["kernel_trail"]["reason"].get<std::string>().find("CAP_AUDIT_READ") != std::string::npos);
}
