// The kernel's audit records as the parent reads them off NETLINK_AUDIT (audit/kernel_record.h) and
// sorts out the run's (supervisor/kernel_trail.h). The kernel writes the records, but their paths,
// process names and message texts are what a hostile script (or any process on the host) chose. The
// input is a sequence of records, one a line, each led by a byte choosing its type. Parsing must never
// read past the record or keep more than its bounds; the trail must keep its counts consistent with
// what it wrote and never list more than kMaxListed.
// fuzz-link: hive_supervisor
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "audit/kernel_record.h"
#include "fuzz_input.h"
#include "supervisor/kernel_trail.h"
#include "supervisor/run_log.h"

namespace kr = hive::audit::kernel;

namespace {

const std::string& log_dir() {
    static const std::string dir = [] {
        char t[] = "/tmp/hive-fuzz-kernel-XXXXXX";
        if (!mkdtemp(t)) hivefuzz::fail("mkdtemp");
        return std::string(t);
    }();
    return dir;
}

constexpr int kTypes[] = {kr::kSyscall, kr::kEndOfEvent, kr::kSeccomp, kr::kTrustedApp, kr::kLandlockAccess,
                          kr::kLandlockDomain, 1000, 0};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    hivefuzz::Input in(data, size);
    hive::Policy policy;
    auto opened = hive::audit::AuditLog::open({log_dir()});
    if (!opened) hivefuzz::fail("AuditLog::open", opened.error().message);
    hive::RunLog log("fuzz", policy, std::move(opened).value());
    hive::KernelTrail trail = hive::KernelTrail::for_records(42, 1000);
    std::uint64_t taken = 0;
    while (!in.empty()) {
        const int type = kTypes[in.byte() % (sizeof kTypes / sizeof kTypes[0])];
        // A copy of exactly the record's bytes on the heap: ASan sees any read past it.
        const std::string text = in.until('\n');
        auto r = kr::parse(type, text);
        if (!r) continue;
        HIVE_FUZZ_CHECK(r->fields.size() <= 64);
        HIVE_FUZZ_CHECK(r->type == type);
        for (const auto& [k, v] : r->fields) {
            HIVE_FUZZ_CHECK(!k.empty() && k.find(' ') == std::string::npos, k);
            HIVE_FUZZ_CHECK(v.size() <= text.size(), v);
            (void)r->number(k);
            (void)r->number(k, 16);
        }
        trail.take(log, *r);
        ++taken;
    }
    trail.finish(log, [] {});
    const std::string j = trail.json();
    HIVE_FUZZ_CHECK(j.find("\"state\":\"collected\"") != std::string::npos, j);
    HIVE_FUZZ_CHECK(log.denials() <= hive::KernelTrail::kMaxListed, j);
    HIVE_FUZZ_CHECK(log.denials() <= taken, j);
    log.flush();
    // The files would grow across inputs: start each input with empty streams.
    for (const char* f : {"audit_events.log", "security_events.log", "execution_audit.log", "resource_usage.log"})
        unlink((log_dir() + "/" + f).c_str());
    for (const char* f : {".audit_events.head", ".security_events.head", ".execution_audit.head", ".resource_usage.head"})
        unlink((log_dir() + "/" + f).c_str());
    return 0;
}
