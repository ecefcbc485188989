// The kernel's audit records as the parent reads them (audit/kernel_record.h) and which of them are the
// run's (supervisor/kernel_trail.h): records name paths and process names a hostile script chose, and
// other processes of the host share the socket.
#include <catch2/catch.hpp>

#include <string>

#include "audit/kernel_record.h"
#include "run.h"
#include "supervisor/kernel_trail.h"
#include "supervisor/run_log.h"

using namespace hive;
using hivetest::grep;
using hivetest::LogDir;
namespace kr = hive::audit::kernel;

namespace {

audit::AuditLog open_log(const LogDir& d) {
    auto l = audit::AuditLog::open({d.path});
    REQUIRE(l.ok());
    return std::move(l).value();
}

kr::Record rec(int type, const std::string& text) {
    auto r = kr::parse(type, text);
    REQUIRE(r);
    return *r;
}

}  // namespace

TEST_CASE("kernel records: fields, quoted and hex-encoded values, an event's end", "[kernel_trail]") {
    auto r = kr::parse(kr::kLandlockAccess,
                       "audit(1796417842.757:2686): domain=157e06116 blockers=fs.read_file path=\"/etc/shadow\" dev=\"vda\" ino=941");
    REQUIRE(r);
    CHECK(r->serial == 2686);
    CHECK(r->stamp == "1796417842.757");
    CHECK(*r->get("path") == "/etc/shadow");
    CHECK(*r->get("blockers") == "fs.read_file");
    CHECK(r->number("ino") == 941u);
    CHECK(r->number("domain", 16) == 0x157e06116u);
    // A path with a space or a control byte comes hex-encoded; a hex-looking word elsewhere stays.
    auto h = kr::parse(kr::kLandlockAccess, "audit(1.2:3): domain=ab blockers=fs.read_file path=2F746D702F6120620A x=2F74");
    REQUIRE(h);
    CHECK(*h->get("path") == "/tmp/a b\n");
    CHECK(*h->get("x") == "2F74");
    auto eoe = kr::parse(kr::kEndOfEvent, "audit(1796417842.757:2686): ");
    REQUIRE(eoe);
    CHECK(eoe->serial == 2686);
    CHECK(eoe->fields.empty());
    auto user = kr::parse(kr::kTrustedApp, "audit(1.2:9): pid=7 uid=0 ses=4 msg='hive-py run=ab op=end'");
    REQUIRE(user);
    CHECK(*user->get("msg") == "hive-py run=ab op=end");
    for (const char* bad : {"", "audit(", "audit(1.2)", "audit(1.2:x): a=b", "nope(1.2:3): a=b", "audit(:3): a"})
        CHECK_FALSE(kr::parse(kr::kSyscall, bad));
    CHECK(kr::parse(kr::kSyscall, "audit(1.2:3): path=\"unterminated")->fields.empty());
    CHECK_FALSE(kr::parse(kr::kSyscall, "audit(1.2:3): " + std::string(kr::kMaxRecordText, 'a')));
}

TEST_CASE("kernel trail: the run's records by session and domain, others' ignored", "[kernel_trail]") {
    LogDir d;
    Policy p;
    RunLog log("runk", p, open_log(d));
    KernelTrail t = KernelTrail::for_records(42, 1000);
    // The run's denial: its SYSCALL record carries the run's session.
    t.take(log, rec(kr::kLandlockAccess, "audit(1.0:10): domain=aa blockers=fs.read_file path=\"/etc/shadow\""));
    t.take(log, rec(kr::kLandlockDomain, "audit(1.0:10): domain=aa status=allocated mode=enforcing pid=1000 uid=0"));
    t.take(log, rec(kr::kSyscall, "audit(1.0:10): arch=c000003e syscall=257 success=no exit=-13 ppid=1000 pid=1001 ses=42"));
    // Another process of the host, in another session and domain: not the run's.
    t.take(log, rec(kr::kLandlockAccess, "audit(1.0:11): domain=bb blockers=fs.write_file path=\"/srv/x\""));
    t.take(log, rec(kr::kSyscall, "audit(1.0:11): arch=c000003e syscall=257 pid=77 ses=7"));
    // A record without a SYSCALL record (its event ends): the run's domain still says whose.
    t.take(log, rec(kr::kLandlockAccess, "audit(1.0:12): domain=aa blockers=fs.make_reg path=\"/etc/x\""));
    t.take(log, rec(kr::kEndOfEvent, "audit(1.0:12): "));
    // A seccomp kill in the run's session, and one in another.
    t.take(log, rec(kr::kSeccomp, "audit(1.0:13): auid=0 uid=0 ses=42 pid=1002 comm=\"python3\" sig=31 arch=c000003e syscall=161 compat=0 ip=0x1 code=0x80000000"));
    t.take(log, rec(kr::kSeccomp, "audit(1.0:14): ses=9 pid=5 sig=31 arch=c000003e syscall=161 code=0x80000000"));
    // An errno action (not logged by hive-py's filter, but harmless): not a kill.
    t.take(log, rec(kr::kSeccomp, "audit(1.0:15): ses=42 pid=1002 arch=c000003e syscall=41 code=0x50001"));
    log.flush();
    const std::string j = t.json();
    INFO(j);
    CHECK(j.find("\"landlock_denials\":2") != std::string::npos);
    CHECK(j.find("\"seccomp_kills\":1") != std::string::npos);
    const std::string ev = d.events();
    CHECK(grep(ev, "\"source\":\"kernel\"").size() == 3);
    CHECK(grep(ev, "/srv/x").empty());
    CHECK(grep(ev, "\"syscall\":\"openat\"").size() == 1);
    CHECK(grep(d.security(), "killed host pid 1002 for the system call chroot").size() == 1);
    CHECK(log.denials() == 3);
}

TEST_CASE("kernel trail: past 100 the run's refusals are counted, not written, and pending events stay bounded", "[kernel_trail]") {
    LogDir d;
    Policy p;
    RunLog log("runf", p, open_log(d));
    KernelTrail t = KernelTrail::for_records(42, 1000);
    t.take(log, rec(kr::kLandlockDomain, "audit(1.0:1): domain=aa status=allocated pid=1000"));
    for (int i = 0; i < 1000; ++i) {
        const std::string s = std::to_string(100 + i);
        // Events whose SYSCALL record never comes: at most 256 wait, the oldest resolved by domain.
        t.take(log, rec(kr::kLandlockAccess, "audit(1.0:" + s + "): domain=aa blockers=fs.read_file path=\"/p\""));
    }
    t.finish(log, [] {});
    log.flush();
    const std::string j = t.json();
    INFO(j);
    CHECK(j.find("\"landlock_denials\":1000") != std::string::npos);
    CHECK(j.find("\"listed\":100") != std::string::npos);
    CHECK(grep(d.events(), "\"source\":\"kernel\"").size() == 100);
    CHECK(grep(d.security(), "900 more of the kernel's refusals").size() == 1);
}
